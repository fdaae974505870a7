"""Two copies of one webhook arriving at the same moment, on two real connections: one item."""

import json
import threading
import time

from django.db import connection

from handoffs.intake import intake_receive, sign
from handoffs.models import IntakeDelivery, IntakeSource, WorkItem
from tests.handoffs.test_intake import DEAL, SECRET


def test_simultaneous_replays_create_one_item(transactional_db, workflow):
    source = IntakeSource.objects.create(
        name="CRM",
        slug="crm",
        secret=SECRET,
        workflow=workflow,
        stage=workflow.stages.get(name="Ship"),
        mapping={"title": "deal.name", "external_ref": "deal.id"},
        event_id_path="event.id",
    )
    body = json.dumps(DEAL).encode()
    timestamp = str(int(time.time()))
    headers = {"X-Opshub-Timestamp": timestamp, "X-Opshub-Signature": sign(SECRET, timestamp, body)}
    barrier = threading.Barrier(2)
    answers = []

    def deliver():
        try:
            barrier.wait()
            answers.append(intake_receive(source=source, headers=headers, body=body).http_status)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(answers) == [200, 201]
    assert WorkItem.objects.count() == 1
    assert sorted(IntakeDelivery.objects.values_list("status", flat=True)) == [
        "accepted",
        "duplicate",
    ]
