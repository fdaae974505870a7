"""enqueue_on_commit and the catch-up sweep, without a broker: what a lost enqueue leaves
behind is found in the database and done once. (tests/opshub/test_faults.py runs the same
path with a real Redis going away and a real worker.)"""

import logging

import pytest

from handoffs.work import services, transitions
from opshub import tasks as catch_up
from opshub.celery import app
from opshub.lib.tasks import enqueue_on_commit
from opshub.scheduler.tasks import ping_task
from opshub.tasks import catch_up_task
from scoreboard.models import DeliveredItemFact

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_broker():
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    app._pool, app.amqp._producer_pool = None, None
    yield
    app.conf.broker_url = old
    app._pool, app.amqp._producer_pool = None, None


def test_a_dead_broker_is_logged_after_the_commit_not_raised(
    dead_broker, caplog, django_capture_on_commit_callbacks
):
    with (
        caplog.at_level(logging.WARNING, logger="opshub.lib.tasks"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        enqueue_on_commit(ping_task)
    assert len(callbacks) == 1
    assert "broker unreachable; opshub.ping is left to its periodic sweep" in caplog.text


def test_nothing_is_sent_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue_on_commit(ping_task)
        raise RuntimeError
    assert callbacks == []


def test_a_delivered_item_without_its_fact_gets_it_from_the_sweep(workflow, seller, lead):
    item = services.work_item_create(workflow=workflow, title="ACME order #1", by=seller)
    item = transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "P", "amount": "1"}
    )
    item = transitions.handoff_accept(item=item, by=lead)
    transitions.item_deliver(item=item, by=lead)  # its on-commit task never runs in this test
    assert not DeliveredItemFact.objects.filter(item=item).exists()

    assert catch_up_task()["scoreboard_facts"] == 1
    assert DeliveredItemFact.objects.get(item=item).cycle_seconds >= 0
    assert catch_up_task()["scoreboard_facts"] == 0


def test_a_review_summary_whose_send_task_was_lost_goes_out_once_from_the_outbox_sweep(
    lead, smtp_mailers, workflow
):
    from opshub.mail.tasks import send_due_emails_task
    from reviews import services as review_services
    from reviews.models import Review, week_of

    review = Review.objects.create(week=week_of(), facilitator=lead)
    review_services.review_close(review=review, by=lead)  # its on-commit task never runs here
    assert smtp_mailers.messages == []

    assert send_due_emails_task() == {"sent": 1, "failed": 0}
    assert send_due_emails_task() == {"sent": 0, "failed": 0}
    assert [m["To"] for m in smtp_mailers.parsed()] == [lead.email]


def test_the_outbox_sweep_is_on_the_beat_schedule(settings):
    tasks = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks["handoffs.tasks.send_due_emails_task"] == 60.0


def test_one_failing_sweep_does_not_starve_the_others(monkeypatch, caplog):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(
        catch_up,
        "_sweeps",
        lambda: {"broken": broken, "fine": lambda: 3},
    )
    with caplog.at_level(logging.ERROR, logger="opshub.tasks"):
        assert catch_up_task() == {"broken": None, "fine": 3}
    assert "catch-up sweep broken failed" in caplog.text
