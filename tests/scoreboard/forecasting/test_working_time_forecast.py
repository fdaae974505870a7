"""Item forecasts in the working time of the stage's team: simulated on the calendar's
working-time axis and converted back with it, so a date never lands on a weekend or a
public holiday because of the conversion."""

import datetime

import numpy as np
import pytest
import time_machine

from handoffs.models import Event, TeamCalendar, WorkItem
from opshub.lib.workcalendar import WorkCalendar
from scoreboard.forecasting import live
from scoreboard.forecasting.due import refresh_due_forecasts
from scoreboard.forecasting.worktime import WorkClock
from tests.scoreboard.helpers import build_item

pytestmark = pytest.mark.django_db
K = Event.Kind
UTC = datetime.UTC
H = datetime.timedelta(hours=1)


def _at(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=UTC)


def _history(workflow, count=30):
    """Items on Mondays to Thursdays of autumn 2026: Qualify 09:00–17:00 (a working day),
    accepted at once, Ship delivered at 10:00 the next morning (one working hour)."""
    qualify, ship = workflow.ordered_stages()
    day = datetime.date(2026, 9, 7)
    made = 0
    while made < count:
        if day.weekday() < 4:
            start = _at(day, 9)
            delivered = _at(day + datetime.timedelta(days=1), 10)
            steps = [
                (K.CREATED, 0 * H, None, qualify),
                (K.HANDOFF_SUBMITTED, 8 * H, qualify, ship),
                (K.HANDOFF_ACCEPTED, 8 * H, None, ship),
                (K.DELIVERED, delivered - start, ship, None),
            ]
            build_item(workflow, steps, title=f"Past {made}", start=start)
            made += 1
        day += datetime.timedelta(days=1)


def _open(workflow, entered):
    qualify, _ = workflow.ordered_stages()
    item = build_item(workflow, [(K.CREATED, 0 * H, None, qualify)], title="Open", start=entered)
    WorkItem.objects.filter(pk=item.pk).update(stage_entered_at=entered)
    item.refresh_from_db()
    return item


@pytest.fixture
def london(teams):
    """Sales (who own Qualify) work 09:00–17:00 London time, Monday to Friday, GB holidays."""
    return TeamCalendar.objects.create(team=teams["sales"], time_zone="Europe/London", country="GB")


def test_a_friday_evening_item_is_promised_for_monday_not_saturday(workflow, london):
    _history(workflow)
    friday = datetime.date(2026, 12, 11)
    with time_machine.travel(_at(friday, 23), tick=False):
        item = _open(workflow, _at(friday, 16))  # one working hour of eight done
        forecast = live.item_forecast(item)
    # Seven working hours of Qualify left, then Ship's one: Monday 09:00 + 8 h.
    assert forecast["p85_at"] == _at(datetime.date(2026, 12, 14), 17)
    assert forecast["working_time"] is True


def test_the_item_page_says_the_forecast_counts_the_teams_working_time(
    client, workflow, london, seller
):
    _history(workflow)
    friday = datetime.date(2026, 12, 11)
    with time_machine.travel(_at(friday, 23), tick=False):
        item = _open(workflow, _at(friday, 16))
        client.force_login(seller)
        body = client.get(f"/scoreboard/items/{item.pk}/forecast/").content.decode()
    assert "85%: by Mon 14 Dec" in body and "working hours, days and holidays" in body


def test_without_a_calendar_the_same_item_runs_through_the_weekend(workflow):
    _history(workflow)
    friday = datetime.date(2026, 12, 11)
    with time_machine.travel(_at(friday, 23), tick=False):
        forecast = live.item_forecast(_open(workflow, _at(friday, 16)))
    # Calendar time: one hour of Qualify's eight left, then Ship's seventeen hours.
    assert forecast["p85_at"].date() == datetime.date(2026, 12, 12)  # a Saturday


def test_christmas_and_the_observed_boxing_day_are_skipped(workflow, london):
    _history(workflow)
    christmas_eve = datetime.date(2026, 12, 24)
    with time_machine.travel(_at(christmas_eve, 12), tick=False):
        item = _open(workflow, _at(christmas_eve, 9))
        WorkItem.objects.filter(pk=item.pk).update(due_date=datetime.date(2026, 12, 28))
        forecast = live.item_forecast(item)
        refresh_due_forecasts()
    # Qualify ends at Thursday's close; Ship's hour waits past Friday 25 (Christmas), the
    # weekend and Monday 28 (Boxing Day observed): Tuesday 29 at 10:00.
    assert forecast["p85_at"] == _at(datetime.date(2026, 12, 29), 10)
    item.refresh_from_db()
    assert item.due_forecast.p85_at == forecast["p85_at"]


def test_the_clock_maps_there_and_back_in_working_windows():
    calendar = WorkCalendar(time_zone="UTC", closures=frozenset({datetime.date(2026, 12, 14)}))
    start = _at(datetime.date(2026, 12, 7), 0).timestamp()
    clock = WorkClock(calendar, start, start + 30 * 86400)
    friday_close = _at(datetime.date(2026, 12, 11), 17).timestamp()
    saturday = _at(datetime.date(2026, 12, 12), 12).timestamp()
    worked = clock.elapsed([friday_close, saturday, np.nan])
    assert worked[0] == worked[1] == 5 * 8 * 3600 and np.isnan(worked[2])
    # An hour after Friday's close is Tuesday 10:00: the weekend and Monday's closure skipped.
    back = clock.at([worked[1] + 3600, worked[1], np.inf])
    assert back[0] == _at(datetime.date(2026, 12, 15), 10).timestamp()
    assert back[1] == friday_close and np.isnan(back[2])


def test_the_item_page_fragment_skips_the_teams_closed_days(client, workflow, london, seller):
    """The fragment reads the calendar with the item (live.with_calendar): its closed days
    count as they do when the calendar is looked up on its own."""
    london.closed_days.create(date=datetime.date(2026, 12, 14), reason="Inventory")
    _history(workflow)
    friday = datetime.date(2026, 12, 11)
    with time_machine.travel(_at(friday, 23), tick=False):
        item = _open(workflow, _at(friday, 16))
        client.force_login(seller)
        body = client.get(f"/scoreboard/items/{item.pk}/forecast/").content.decode()
        looked_up = live.item_forecast(item)
    # Monday the 14th is closed: the Monday 17:00 of the test above moves to Tuesday.
    assert looked_up["p85_at"] == _at(datetime.date(2026, 12, 15), 17)
    assert "85%: by Tue 15 Dec" in body
