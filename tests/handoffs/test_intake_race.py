"""Copies of one webhook arriving at the same moment, on real connections: one item."""

import json
import threading
import time

from django.db import connection

from handoffs.integrations.intake import intake_receive
from handoffs.models import IntakeDelivery, IntakeSource, WorkItem
from opshub.lib.signing import sign
from tests.handoffs.test_intake import DEAL, SECRET


def _source(workflow, **options):
    return IntakeSource.objects.create(
        name="CRM",
        slug="crm",
        secret=SECRET,
        workflow=workflow,
        stage=workflow.stages.get(name="Ship"),
        **options,
    )


def _deliver_at_once(source, body, header_sets):
    """Each header set on its own thread and connection, released together; the answers."""
    barrier = threading.Barrier(len(header_sets))
    answers = []

    def deliver(headers):
        try:
            barrier.wait()
            answers.append(intake_receive(source=source, headers=headers, body=body).http_status)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(headers,)) for headers in header_sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return sorted(answers)


def _signed(body):
    timestamp = str(int(time.time()))
    return {"X-Opshub-Timestamp": timestamp, "X-Opshub-Signature": sign(SECRET, timestamp, body)}


def test_simultaneous_replays_create_one_item(transactional_db, workflow):
    source = _source(
        workflow,
        mapping={"title": "deal.name", "external_ref": "deal.id"},
        event_id_path="event.id",
    )
    body = json.dumps(DEAL).encode()
    headers = _signed(body)

    assert _deliver_at_once(source, body, [headers, headers]) == [200, 201]
    assert WorkItem.objects.count() == 1
    assert sorted(IntakeDelivery.objects.values_list("status", flat=True)) == [
        "accepted",
        "duplicate",
    ]


def test_simultaneous_replays_with_different_event_ids_create_one_item(transactional_db, workflow):
    # No external reference and no event id path: only the signature ties the copies together.
    source = _source(workflow, mapping={"title": "deal.name"})
    body = json.dumps(DEAL).encode()
    headers = _signed(body)
    header_sets = [{**headers, "X-Opshub-Event-Id": f"evt-{n}"} for n in range(4)]

    assert _deliver_at_once(source, body, header_sets) == [200, 200, 200, 201]
    assert WorkItem.objects.count() == 1
    assert IntakeDelivery.objects.filter(status="accepted").count() == 1
