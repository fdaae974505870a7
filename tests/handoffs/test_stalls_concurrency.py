"""Exactly one email when scanners race, and the real path: beat task on a Celery worker."""

import datetime
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from handoffs.models import EmailDelivery, Heartbeat, StallEpisode, StallNotice, WorkItem
from handoffs.stalls.detection import run_scan
from handoffs.stalls.tasks import scan_stalls_task
from handoffs.work import services, transitions
from opshub.mail.outbox import send_due

pytestmark = pytest.mark.django_db(transaction=True)


def _stalled_handoff(workflow, seller, title="ACME order #1"):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    five_hours_ago = timezone.now() - datetime.timedelta(hours=5)
    WorkItem.objects.filter(pk=item.pk).update(state_changed_at=five_hours_ago)
    return item


def _at_once(target, n=2):
    barrier = threading.Barrier(n)
    errors = []

    def run():
        try:
            barrier.wait(timeout=10)
            target()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


def test_two_scanners_at_once_open_one_episode_and_send_one_email(workflow, seller, smtp_mailers):
    _stalled_handoff(workflow, seller)
    _stalled_handoff(workflow, seller, title="Globex renewal")

    def scan_and_send():
        run_scan()
        send_due()

    for _ in range(3):
        _at_once(scan_and_send)
    assert StallEpisode.objects.count() == 2
    assert StallNotice.objects.count() == 2
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.SENT
    assert len(smtp_mailers.messages) == 1


def test_two_senders_claiming_the_same_email_send_it_once(workflow, seller, smtp_mailers):
    _stalled_handoff(workflow, seller)
    run_scan()
    _at_once(send_due, n=3)
    assert len(smtp_mailers.messages) == 1
    assert EmailDelivery.objects.get().attempts == 1


@pytest.fixture
def worker_mailing_to(smtp_mailers, monkeypatch, request):
    """A real Celery worker whose EMAIL_URL points at the in-process SMTP server."""
    monkeypatch.setenv("EMAIL_URL", f"smtp://{smtp_mailers.host}:{smtp_mailers.port}")
    request.getfixturevalue("celery_worker_process")
    return smtp_mailers


def _wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_the_beat_task_on_a_real_worker_sends_one_alert_even_when_run_twice(
    workflow, seller, lead, worker_mailing_to
):
    _stalled_handoff(workflow, seller)
    scan_stalls_task.delay()
    scan_stalls_task.delay()
    assert _wait_for(lambda: len(worker_mailing_to.messages) >= 1)
    assert _wait_for(lambda: Heartbeat.objects.filter(name="scan_stalls").exists())
    time.sleep(1.5)  # room for the second run and its send task to do (nothing) wrong
    [message] = worker_mailing_to.parsed()
    assert message["To"] == lead.email
    assert message["Subject"].startswith("Stalled 5 h: ACME order #1")


def test_two_digest_runs_at_once_write_one_digest(workflow, seller, lead, member, smtp_mailers):
    from handoffs.stalls import digest
    from opshub.accounts.models import User
    from opshub.mail import notifications

    User.objects.filter(pk=member.pk).update(email_delivery=User.Delivery.DIGEST)
    member.refresh_from_db()
    services.work_item_assign(item=_stalled_handoff(workflow, seller), by=lead, assignee=member)
    run_scan()
    assert StallNotice.objects.filter(recipient=member, delivery=None).count() == 1
    notifications.notify([member], message="Refund #1 approved", subject="Refund #1")
    # After the start of the member's working day, whatever the hour the suite runs at.
    noon = timezone.now().astimezone(member.zone).replace(hour=12, minute=0)
    _at_once(lambda: digest.send_digests(now=noon))
    assert EmailDelivery.objects.filter(kind=EmailDelivery.Kind.DIGEST).count() == 1
    send_due(now=noon)
    assert len(smtp_mailers.messages) == 1
