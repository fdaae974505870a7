"""Working-time cycle time: counted in SQL with the snapshot on the delivering team's
calendar, shown beside calendar time, and the headline only when a workflow's leads pick it."""

import datetime

import numpy
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from handoffs.models import Stage, TeamCalendar, Workflow
from scoreboard import board_cache
from scoreboard.models import DeliveredItemFact, QuarterTarget
from scoreboard.services import quarter_target_set, snapshot_rebuild, snapshot_update
from tests.scoreboard.helpers import H, simple
from tests.scoreboard.test_snapshot import _rows

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
BERLIN = "Europe/Berlin"
# Friday 7 March 2025, 17:00 in Berlin (CET, UTC+1).
FRIDAY_5PM = datetime.datetime(2025, 3, 7, 16, 0, tzinfo=UTC)
DASHBOARD = reverse("scoreboard:dashboard")


@pytest.fixture
def berlin(teams):
    """Fulfilment, the team of the workflow's last stage, works Mon–Fri 09–17 in Berlin."""
    return TeamCalendar.objects.create(team=teams["fulfilment"], time_zone=BERLIN)


def _fact(item):
    return DeliveredItemFact.objects.get(item=item)


def test_friday_five_pm_to_monday_ten_am_is_one_working_hour(workflow, berlin):
    item = simple(workflow, 65, start=FRIDAY_5PM)  # delivered Monday 10:00 Berlin
    snapshot_rebuild()
    fact = _fact(item)
    assert fact.cycle_seconds == pytest.approx(65 * 3600)
    assert fact.cycle_working_seconds == pytest.approx(3600)


def test_without_a_calendar_working_time_is_calendar_time(workflow):
    item = simple(workflow, 65, start=FRIDAY_5PM)
    snapshot_rebuild()
    fact = _fact(item)
    assert fact.cycle_working_seconds == fact.cycle_seconds == pytest.approx(65 * 3600)
    assert fact.worktime_stamp == ""


def test_a_weekend_only_item_has_no_working_time(workflow, berlin):
    saturday = FRIDAY_5PM + datetime.timedelta(hours=17)
    item = simple(workflow, 20, start=saturday)
    snapshot_update(item_ids=[item.pk])  # a one-item scope: the table still has working days
    assert _fact(item).cycle_working_seconds == 0


def test_working_time_figures_equal_a_python_reference(workflow, berlin):
    calendar = berlin.as_work_calendar()
    starts = [FRIDAY_5PM + n * 7 * H for n in range(9)]
    hours = [65, 3, 30, 100, 7, 49, 12, 200, 1]
    for n, (start, length) in enumerate(zip(starts, hours, strict=True)):
        simple(workflow, length, start=start, title=f"Item {n}")
    snapshot_rebuild()
    expected = [
        calendar.working_seconds(start, start + length * H)
        for start, length in zip(starts, hours, strict=True)
    ]
    stats = DeliveredItemFact.objects.summary()
    assert stats["worktime_average"] == pytest.approx(numpy.mean(expected))
    for q in (50, 85, 95):
        assert stats[f"worktime_p{q}"] == pytest.approx(numpy.percentile(expected, q))
    # Calendar time is untouched: the default clock, as the pm4py comparisons check it.
    assert stats["average"] == pytest.approx(numpy.mean(hours) * 3600)


def test_the_incremental_update_equals_the_full_recompute(workflow, berlin):
    items = [simple(workflow, 5 + 13 * n, start=FRIDAY_5PM + n * 11 * H) for n in range(6)]
    snapshot_rebuild(force=True)
    full = _rows()
    DeliveredItemFact.objects.all().delete()
    for item in items:
        snapshot_update(item_ids=[item.pk])
    assert _rows() == full


def test_a_calendar_edit_makes_the_workflows_facts_stale(workflow, berlin):
    item = simple(workflow, 65, start=FRIDAY_5PM)
    snapshot_rebuild()
    assert _fact(item).cycle_working_seconds == pytest.approx(3600)
    berlin.day_start = datetime.time(7)  # Monday 07:00–10:00: three working hours
    berlin.save()
    snapshot_rebuild()  # the fingerprint path: only the stale items are re-derived
    assert _fact(item).cycle_working_seconds == pytest.approx(3 * 3600)
    berlin.delete()
    snapshot_rebuild()
    assert _fact(item).cycle_working_seconds == pytest.approx(65 * 3600)


def test_the_delivering_team_is_the_team_of_the_last_stage(workflow, teams):
    TeamCalendar.objects.create(team=teams["sales"], time_zone=BERLIN)  # the first stage's
    item = simple(workflow, 65, start=FRIDAY_5PM)
    snapshot_rebuild()
    assert _fact(item).cycle_working_seconds == pytest.approx(65 * 3600)


def test_snapshot_query_counts_are_pinned(
    workflow, berlin, django_assert_num_queries, django_capture_on_commit_callbacks
):
    item = simple(workflow, 65, start=FRIDAY_5PM)
    # Item locks, 3 deletes, work_mem, drop, intervals, stages, handoffs, the delivering
    # calendars, the window, the items; the count; two savepoints.
    with django_assert_num_queries(16):
        snapshot_update(item_ids=[item.pk])
    # Lock, synchronous_commit, calendars, stale check; nothing stale: the count, then the
    # heartbeat's get-or-create and save (with their savepoints).
    with django_assert_num_queries(13):
        snapshot_rebuild()


def test_without_calendars_the_window_is_not_read(workflow, django_assert_num_queries):
    item = simple(workflow, 65, start=FRIDAY_5PM)
    with django_assert_num_queries(15):
        snapshot_update(item_ids=[item.pk])


# --- The board, the API and the review -------------------------------------------------------


# Wednesday after the item: the board's quarter (Q1 2025) holds it.
NOW = datetime.datetime(2025, 3, 12, 12, 0, tzinfo=UTC)


@pytest.fixture
def weekend_item(workflow, berlin):
    """One item of this quarter: Friday 17:00 → Monday 10:00 in Berlin."""
    item = simple(workflow, 65, start=FRIDAY_5PM)
    snapshot_rebuild()
    with time_machine.travel(NOW, tick=False):
        yield item


def _board(client, workflow):
    return client.get(DASHBOARD, {"workflow": workflow.pk}).content.decode()


def test_the_headline_stays_calendar_time_and_shows_working_time_beside_it(
    client, lead, workflow, weekend_item
):
    client.force_login(lead)
    page = _board(client, workflow)
    assert '<span class="headline-clock">(<span class="term"' in page
    assert 'calendar time<span class="term-tip"' in page
    assert "Working time: Mon–Fri 09–17 Europe/Berlin" in page
    assert '<span class="big-number-value">2.7<span class="big-number-unit">days' in page
    assert "1.0 h" in page  # the other clock's figure
    assert "Clock of the headline" in page  # the table alternative states the rule


def test_a_lead_picks_working_time_for_the_headline(
    client, lead, workflow, weekend_item, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    url = reverse("scoreboard:target-set", args=[workflow.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"metric": "average", "clock": "working", "target_days": "1"})
    assert QuarterTarget.objects.get(workflow=workflow).clock == "working"
    page = _board(client, workflow)
    assert 'working time: Mon–Fri 09–17 Europe/Berlin<span class="term-tip"' in page
    assert '<span class="big-number-value">0.0<span class="big-number-unit">days' in page
    assert "Calendar time" in page and "2.7 d" in page
    assert "✔ met" in page  # 1 working hour against a target of one day of working time


def test_a_clock_that_is_not_offered_is_refused_and_changes_nothing(
    client, lead, workflow, weekend_item
):
    client.force_login(lead)
    url = reverse("scoreboard:target-set", args=[workflow.pk])
    response = client.post(url, {"metric": "average", "clock": "sundial"}, follow=True)
    assert "Clock: Select a valid choice." in response.content.decode()
    assert not QuarterTarget.objects.exists()


def test_the_service_names_a_bad_clock(lead, workflow):
    with pytest.raises(ValidationError) as error:
        quarter_target_set(
            workflow=workflow, by=lead, metric="average", target_days="", clock="sundial"
        )
    assert "clock" in error.value.message_dict
    assert not QuarterTarget.objects.exists()


def test_the_board_cache_key_holds_the_clock(lead, workflow, berlin):
    from scoreboard.dashboard import quarter_period

    period = quarter_period(NOW.date(), UTC)
    args = {"period": period, "tz": UTC, "today": NOW.date()}
    calendar_key = board_cache._key("v", workflow=workflow, **args)
    quarter_target_set(
        workflow=workflow, by=lead, metric="average", target_days="", clock="working"
    )
    chosen = Workflow.objects.select_related("scoreboard_target").get(pk=workflow.pk)
    working_key = board_cache._key("v", workflow=chosen, **args)
    assert calendar_key != working_key and ":working:" in working_key
    assert ":calendar:" in board_cache._key("v", workflow=None, **args)


def test_the_api_gives_both_clocks_with_the_rule(client, lead, workflow, weekend_item):
    client.force_login(lead)
    quarter_target_set(workflow=workflow, by=lead, metric="p85", target_days="", clock="working")
    body = client.get(
        "/api/v1/scoreboard/", {"workflow": workflow.pk, "since": "2025-01-01"}
    ).json()
    assert body["clock"]["headline"] == "working"
    assert body["clock"]["working_label"] == "working time: Mon–Fri 09–17 Europe/Berlin"
    assert "delivering team" in body["clock"]["rule"]
    assert body["working_time_seconds"]["average"] == pytest.approx(3600)
    assert body["calendar_time_seconds"]["average"] == pytest.approx(65 * 3600)
    assert body["average_cycle_time_seconds"] == pytest.approx(65 * 3600)  # unchanged
    everyone = client.get("/api/v1/scoreboard/", {"since": "2025-01-01"}).json()
    assert everyone["clock"]["headline"] == "calendar"


def test_a_workflow_whose_delivering_team_has_no_calendar_says_so(client, lead, teams):
    wf = Workflow.objects.create(name="Returns")
    Stage.objects.create(workflow=wf, name="Refund", position=1, team=teams["sales"])
    client.force_login(lead)
    body = client.get("/api/v1/scoreboard/", {"workflow": wf.pk}).json()
    assert body["clock"]["working_label"] == (
        "working time = calendar time: Sales has no working calendar"
    )


def test_a_closed_day_of_the_delivering_team_does_not_count(workflow, berlin):
    from handoffs.models import TeamClosure

    TeamClosure.objects.create(calendar=berlin, date=datetime.date(2025, 3, 10), reason="Stock")
    item = simple(workflow, 65, start=FRIDAY_5PM)  # delivered on the closed Monday
    snapshot_rebuild()
    assert _fact(item).cycle_working_seconds == 0
