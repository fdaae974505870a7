"""An acknowledgement lasts 24 working hours, then reminders resume; reminders back off."""

import datetime

import pytest
import time_machine

from handoffs.models import StallEpisode, StallNotice, TeamCalendar
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


def _stall(workflow, seller, lead, member):
    item = services.work_item_create(workflow=workflow, title="ACME order #1", by=seller)
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    services.work_item_assign(item=item, by=lead, assignee=member)
    return item


def _scan():
    run_scan()
    send_due()


def _reminders():
    return list(
        StallNotice.objects.filter(kind=StallNotice.Kind.REMINDER)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )


def test_an_acknowledgement_expires_and_reminders_resume(
    clock, workflow, seller, lead, member, smtp_mailers, settings
):
    settings.OPSHUB_REMINDER_INTERVAL_HOURS = 24
    _stall(workflow, seller, lead, member)
    clock.shift(5 * H)
    _scan()  # the alert to the member
    episode = StallEpisode.objects.get()
    assert episode.acknowledge(by=member)
    assert episode.acknowledged_until == MONDAY + 5 * H + 24 * H
    for _ in range(23):
        clock.shift(H)
        _scan()
    assert _reminders() == []  # quiet, and no escalation either
    assert StallEpisode.objects.get().escalated_at is None
    clock.shift(H + H / 60)
    _scan()
    episode.refresh_from_db()
    assert episode.escalated_at is not None  # due meanwhile, sent once quiet ends
    assert len(_reminders()) == 1  # the interval since the alert has long passed


def test_acknowledging_counts_the_teams_working_time(clock, workflow, seller, lead, member, teams):
    TeamCalendar.objects.create(team=teams["fulfilment"], time_zone="UTC")  # Mon–Fri 9–17
    _stall(workflow, seller, lead, member)
    clock.move_to(datetime.datetime(2026, 3, 6, 16, 0, tzinfo=datetime.UTC))  # Friday 16:00
    _scan()
    episode = StallEpisode.objects.get()
    episode.acknowledge(by=member)
    # 1 h on Friday, 8 h on each of Mon, Tue, and 7 h on Wednesday.
    assert episode.acknowledged_until == datetime.datetime(2026, 3, 11, 16, 0, tzinfo=datetime.UTC)


def test_a_second_acknowledgement_before_expiry_is_refused_and_after_it_is_taken(
    clock, workflow, seller, lead, member
):
    _stall(workflow, seller, lead, member)
    clock.shift(5 * H)
    _scan()
    episode = StallEpisode.objects.get()
    assert episode.acknowledge(by=member)
    assert not episode.acknowledge(by=lead)
    clock.shift(25 * H)
    assert episode.acknowledge(by=lead)
    episode.refresh_from_db()
    assert episode.acknowledged_by == lead


def test_reminders_back_off_1_2_4_times_then_stay_at_4(
    clock, workflow, seller, lead, member, smtp_mailers, settings
):
    settings.OPSHUB_REMINDER_INTERVAL_HOURS = 6
    _stall(workflow, seller, lead, member)
    clock.shift(5 * H)
    _scan()  # alert at +5 h
    alerted = MONDAY + 5 * H
    for _ in range(80):
        clock.shift(H)
        _scan()
    gaps = []
    previous = alerted
    for at in _reminders():
        gaps.append(round((at - previous) / H))
        previous = at
    assert gaps == [6, 12, 24, 24]
