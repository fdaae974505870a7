"""A captured signed delivery re-sent with another (unsigned) X-Opshub-Event-Id is a replay:
the signature covers the timestamp and the body, and one signed message makes one item.
(Simultaneous replays: test_intake_race.py.)"""

import json
import time

import pytest
from django.db import IntegrityError, transaction

from handoffs.models import IntakeDelivery, WorkItem
from opshub.lib.signing import sign
from tests.handoffs import test_intake
from tests.handoffs.test_intake import DEAL, SECRET, post_signed

crm_source = test_intake.crm_source


def _without_external_ref(source):
    source.mapping = {"title": "deal.name"}
    source.event_id_path = ""
    source.save()


def test_a_replay_with_a_new_event_id_creates_nothing(crm_source):
    _without_external_ref(crm_source)
    timestamp = int(time.time())
    first = post_signed(DEAL, timestamp=timestamp, event_id="evt-1")

    replays = [post_signed(DEAL, timestamp=timestamp, event_id=f"evt-{n}") for n in (2, 3)]
    bare = post_signed(DEAL, timestamp=timestamp)

    assert first.status_code == 201
    item = first.json()["item"]
    for replay in [*replays, bare]:
        assert replay.status_code == 200
        assert replay.json() == {"status": "duplicate", "item": item}
    assert WorkItem.objects.count() == 1
    statuses = IntakeDelivery.objects.order_by("pk").values_list("status", "event_id")
    assert list(statuses)[:3] == [
        ("accepted", "evt-1"),
        ("duplicate", "evt-2"),
        ("duplicate", "evt-3"),
    ]


def test_the_same_body_signed_again_at_another_time_is_a_new_event(crm_source):
    _without_external_ref(crm_source)
    now = int(time.time())

    assert post_signed(DEAL, timestamp=now - 10, event_id="evt-1").status_code == 201
    assert post_signed(DEAL, timestamp=now, event_id="evt-2").status_code == 201
    # …and its event id still makes a resend at yet another time a replay.
    assert post_signed(DEAL, timestamp=now - 5, event_id="evt-2").status_code == 200
    assert WorkItem.objects.count() == 2


def test_a_signed_message_first_refused_can_be_accepted_when_resent(crm_source):
    crm_source.mapping = {"title": "deal.nickname"}
    crm_source.save()
    timestamp = int(time.time())
    assert post_signed(DEAL, timestamp=timestamp).status_code == 400

    crm_source.mapping = {"title": "deal.name"}
    crm_source.save()

    assert post_signed(DEAL, timestamp=timestamp).status_code == 201
    assert post_signed(DEAL, timestamp=timestamp, event_id="other").status_code == 200


def test_the_database_refuses_a_second_accepted_delivery_of_one_signed_message(crm_source):
    _without_external_ref(crm_source)
    timestamp = int(time.time())
    post_signed(DEAL, timestamp=timestamp, event_id="evt-1")
    accepted = IntakeDelivery.objects.get(status="accepted")
    assert accepted.signature == sign(SECRET, timestamp, json.dumps(DEAL).encode())[7:]

    with pytest.raises(IntegrityError), transaction.atomic():
        IntakeDelivery.objects.create(
            source=crm_source,
            status="accepted",
            http_status=201,
            event_id="evt-other",
            signature=accepted.signature,
        )
