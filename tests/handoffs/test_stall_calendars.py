"""Stall targets count the owning team's working time: weekends and public holidays wait."""

import datetime

import pytest
import time_machine

from handoffs.models import StallEpisode, TeamCalendar
from handoffs.stalls.detection import run_scan
from handoffs.work import services, transitions
from handoffs.workflows import services as wf
from opshub.mail.outbox import send_due

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def _at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def fulfilment_calendar(teams):
    """Fulfilment works Mon–Fri 09:00–17:00 UTC with Germany's public holidays."""
    return TeamCalendar.objects.create(team=teams["fulfilment"], time_zone="UTC", country="DE")


@pytest.fixture
def eight_hour_target(workflow, lead, admin_user):
    """The handoff's published protocol: accept within 8 hours."""
    handoff = workflow.handoffs.get()
    draft = wf.protocol_draft(handoff=handoff, by=admin_user)
    wf.protocol_save(version=draft, by=admin_user, acceptance_target=datetime.timedelta(hours=8))
    wf.protocol_publish(version=draft, by=admin_user)


def _hand_off(workflow, seller):
    item = services.work_item_create(workflow=workflow, title="ACME order #1", by=seller)
    return transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )


def test_a_friday_evening_handoff_stalls_on_monday_evening_not_saturday(
    workflow, seller, lead, fulfilment_calendar, eight_hour_target, smtp_mailers
):
    with time_machine.travel(_at("2026-11-27 17:00"), tick=False) as clock:  # a Friday
        _hand_off(workflow, seller)
        for moment in ("2026-11-28 09:00", "2026-11-29 23:00", "2026-11-30 16:59"):
            clock.move_to(_at(moment))
            run_scan()
            assert not StallEpisode.objects.exists(), moment
        clock.move_to(_at("2026-11-30 17:00"))
        run_scan()
        send_due()
    episode = StallEpisode.objects.get()
    assert episode.started_at == _at("2026-11-27 17:00")
    assert len(smtp_mailers.messages) == 1
    # Escalation after twice the target in working time: Tuesday 17:00, not Monday 09:00.
    assert episode.started_at + episode.escalation_delay == _at("2026-12-01 17:00")


def test_public_holidays_do_not_count(
    workflow, seller, lead, fulfilment_calendar, eight_hour_target
):
    # Thursday before Easter 2026: Good Friday and Easter Monday are holidays in Germany.
    with time_machine.travel(_at("2026-04-02 17:00"), tick=False) as clock:
        _hand_off(workflow, seller)
        clock.move_to(_at("2026-04-07 16:00"))
        run_scan()
        assert not StallEpisode.objects.exists()
        clock.move_to(_at("2026-04-07 17:00"))
        run_scan()
    assert StallEpisode.objects.count() == 1


def test_a_team_without_a_calendar_counts_calendar_time(workflow, seller, eight_hour_target):
    with time_machine.travel(_at("2026-11-27 17:00"), tick=False) as clock:
        _hand_off(workflow, seller)
        clock.move_to(_at("2026-11-28 01:00"))
        run_scan()
    assert StallEpisode.objects.count() == 1


def test_a_calendar_that_cannot_work_is_refused_naming_the_field(teams):
    from django.core.exceptions import ValidationError

    calendar = TeamCalendar(team=teams["sales"], time_zone="Mars/Olympus")
    with pytest.raises(ValidationError) as refused:
        calendar.full_clean()
    assert "time_zone" in refused.value.message_dict
