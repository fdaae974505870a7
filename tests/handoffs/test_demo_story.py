"""seed_demo tells one story: items named for their workflow, onboarding breakages on the
onboarding workflow, protocols that name who receives, and a fresh stall on demand."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from handoffs.demo.organisation import CALENDARS
from handoffs.models import Handoff, ProtocolVersion, StallEpisode, Team, TeamCalendar, WorkItem
from handoffs.stalls.detection import run_scan
from opshub.accounts.models import User
from opshub.mail.models import EmailDelivery
from reviews.models import Breakage

pytestmark = pytest.mark.django_db


def seed(**options):
    call_command("seed_demo", items=options.pop("items", 80), days=40, stdout=StringIO(), **options)


def test_onboardings_and_their_breakages_live_on_the_onboarding_workflow():
    seed(seed=3)
    onboardings = WorkItem.objects.filter(title__icontains="onboarding")
    assert onboardings.exists()
    assert set(onboardings.values_list("workflow__name", flat=True)) == {"Client onboarding"}
    orders = WorkItem.objects.filter(title__icontains=" order #")
    assert set(orders.values_list("workflow__name", flat=True)) == {"Order to delivery"}
    onboarding_breakages = Breakage.objects.filter(title__icontains="onboarding")
    assert onboarding_breakages.count() >= 2, "the onboarding repeat shows in the review"
    for breakage in onboarding_breakages:
        assert breakage.workflow.name == "Client onboarding"
        assert breakage.handoff.workflow_id == breakage.workflow_id
        assert {i.workflow_id for i in breakage.items.all()} <= {breakage.workflow_id}
    for breakage in Breakage.objects.filter(title__icontains="Fulfilment"):
        assert breakage.workflow.name == "Order to delivery"
        assert breakage.handoff.to_stage.team.name == "Fulfilment"


def test_every_demo_protocol_names_its_receiving_team_and_assignee():
    seed(items=0, seed=7)
    versions = ProtocolVersion.objects.select_related(
        "handoff__from_stage", "receiving_team", "default_assignee"
    )
    assert versions.exists()
    for version in versions:
        team = version.handoff.to_stage.team
        assert version.receiving_team == team, version
        assert team.members.filter(pk=version.default_assignee_id).exists(), version
    into_fulfilment = Handoff.objects.get(
        workflow__name="Order to delivery", from_stage__name="Credit check & invoice"
    )
    assert into_fulfilment.published().default_assignee.email == "member@example.com"


def _story(seed_value):
    """What seed_demo makes for one seed, in comparable form; rolled back afterwards."""
    savepoint = transaction.savepoint()
    seed(seed=seed_value, items=60)
    story = {
        "items": list(
            WorkItem.objects.order_by("title").values_list(
                "title", "workflow__name", "stage__name", "state", "assignee__email"
            )
        ),
        "breakages": sorted(Breakage.objects.values_list("title", "workflow__name")),
        "users": sorted(User.objects.values_list("email", "role")),
    }
    transaction.savepoint_rollback(savepoint)
    return story


def test_seed_demo_is_deterministic_for_a_seed_and_keeps_the_three_logins():
    first, again = _story(11), _story(11)
    assert first == again
    emails = {email for email, _ in first["users"]}
    assert {"admin@example.com", "lead@example.com", "member@example.com"} <= emails
    assert _story(12)["items"] != first["items"]


def test_a_fresh_stall_alerts_its_assignee_on_the_next_scan():
    seed(seed=3, fresh_stall=True)
    item = WorkItem.objects.get(title="Nakatomi rush order #1")
    member = User.objects.get(email="member@example.com")
    assert item.state == WorkItem.State.WAITING_ACCEPTANCE
    assert item.stage.team.name == "Fulfilment"
    assert item.assignee == member
    assert item.due_date is not None
    assert item.replayed_state() == (item.stage_id, item.state, member.pk, None)
    assert not StallEpisode.objects.filter(item=item).exists()

    run_scan()

    episode = StallEpisode.objects.get(item=item)
    assert episode.kind == StallEpisode.Kind.HANDOFF_UNACCEPTED
    assert episode.owner == member and episode.alerted_at is not None
    alert = EmailDelivery.objects.get(kind=EmailDelivery.Kind.STALL)
    assert alert.recipient == member, "the seeded stalls count as already alerted"
    assert item.title in alert.body_text


def test_fresh_stall_on_loaded_demo_data_adds_one_more_stalled_order():
    seed(items=20, seed=3)
    run_scan()
    out = StringIO()
    call_command("seed_demo", fresh_stall=True, stdout=out)
    assert "Nakatomi rush order #1" in out.getvalue()
    assert "member@example.com" in out.getvalue()
    call_command("seed_demo", fresh_stall=True, stdout=StringIO())
    assert WorkItem.objects.filter(title__startswith="Nakatomi rush order #").count() == 2
    run_scan()
    assert StallEpisode.objects.filter(item__title__startswith="Nakatomi rush order").count() == 2


def test_seed_demo_without_fresh_stall_still_refuses_loaded_data():
    seed(items=0, seed=3)
    with pytest.raises(CommandError, match="already loaded"):
        seed(items=0, seed=3)


def test_demo_teams_count_calendar_time_unless_calendars_are_asked_for():
    seed(items=0, seed=3)
    assert Team.objects.exists()
    assert not TeamCalendar.objects.exists(), "the demo's fresh stall alerts on any day"


def test_calendars_give_every_team_a_working_calendar_the_scan_counts():
    seed(items=60, seed=3, calendars=True)
    calendars = {c.team.name: c for c in TeamCalendar.objects.select_related("team")}
    assert set(calendars) == set(Team.objects.values_list("name", flat=True)) == set(CALENDARS)
    for calendar in calendars.values():
        calendar.full_clean()  # a time zone and holidays the calendar module accepts
        assert calendar.country and calendar.working_days == [0, 1, 2, 3, 4]
    assert len({c.time_zone for c in calendars.values()}) >= 4
    assert calendars["Fulfilment"].as_work_calendar().is_holiday(datetime.date(2026, 1, 6))
    run_scan()  # the working-time arithmetic runs over every team's calendar
