"""Escalation that reaches someone: a lead who holds a stall escalates past themself, and a
stall first seen past its escalation time is told in one scan; promised dates missed."""

import datetime

import pytest
import time_machine

from handoffs.models import StallEpisode, WorkItem
from handoffs.stalls.detection import run_scan
from handoffs.work import services, transitions
from opshub.mail.outbox import send_due

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
MONDAY = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def _handed_off(workflow, seller, title="ACME order #1"):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    return transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )


def _scan_and_send():
    run_scan()
    return send_due()


def test_a_lead_who_owns_the_stall_escalates_to_the_workflows_owner_not_to_themself(
    clock, workflow, seller, lead, admin_user, smtp_mailers
):
    workflow.created_by = admin_user
    workflow.save()
    _handed_off(workflow, seller)
    clock.shift(5 * H)
    _scan_and_send()
    episode = StallEpisode.objects.get()
    assert episode.owner == lead and episode.escalate_to == admin_user
    clock.shift(4 * H)
    _scan_and_send()
    assert [m["To"] for m in smtp_mailers.parsed()] == ["lead@example.com", "admin@example.com"]


def test_without_a_workflow_owner_the_next_level_is_an_admin(
    clock, workflow, seller, lead, admin_user, smtp_mailers
):
    _handed_off(workflow, seller)
    clock.shift(5 * H)
    run_scan()
    assert StallEpisode.objects.get().escalate_to == admin_user


def test_a_stall_first_seen_past_its_escalation_is_told_in_one_scan(
    clock, workflow, seller, lead, member, smtp_mailers
):
    item = _handed_off(workflow, seller)
    services.work_item_assign(item=item, by=lead, assignee=member)
    # The scheduler was down: the first scan comes 10 h after the handoff (target 4 h,
    # escalation at 8 h). Owner and lead hear in the same scan, one email each.
    clock.shift(10 * H)
    _scan_and_send()
    assert sorted(m["To"] for m in smtp_mailers.parsed()) == [
        "lead@example.com",
        "member@example.com",
    ]
    clock.shift(H / 60)
    _scan_and_send()
    assert len(smtp_mailers.messages) == 2


def test_a_missed_due_date_sends_one_due_missed_alert(
    clock, workflow, seller, lead, smtp_mailers, settings
):
    settings.TIME_ZONE = "UTC"
    item = services.work_item_create(workflow=workflow, title="ACME order #1", by=seller)
    WorkItem.objects.filter(pk=item.pk).update(due_date=datetime.date(2026, 3, 3))
    clock.move_to(datetime.datetime(2026, 3, 3, 23, 59, tzinfo=datetime.UTC))
    _scan_and_send()
    assert not StallEpisode.objects.filter(kind="due_missed").exists()
    clock.move_to(datetime.datetime(2026, 3, 4, 0, 1, tzinfo=datetime.UTC))
    _scan_and_send()
    _scan_and_send()
    episode = StallEpisode.objects.get(kind="due_missed")
    assert episode.owner == seller.teams.get().lead
    due_mails = [m for m in smtp_mailers.parsed() if "due date" in m["Subject"]]
    assert len(due_mails) == 1


def test_moving_the_due_date_later_resolves_the_missed_stall(clock, workflow, seller):
    item = services.work_item_create(workflow=workflow, title="ACME order #1", by=seller)
    WorkItem.objects.filter(pk=item.pk).update(due_date=datetime.date(2026, 3, 1))
    run_scan()
    assert StallEpisode.objects.open().filter(kind="due_missed").count() == 1
    WorkItem.objects.filter(pk=item.pk).update(due_date=datetime.date(2026, 3, 10))
    run_scan()
    assert StallEpisode.objects.open().filter(kind="due_missed").count() == 0
