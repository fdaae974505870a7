"""Working-time arithmetic: weekends, public holidays, own closures and daylight saving."""

import datetime

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from opshub.lib.workcalendar import CalendarError, WorkCalendar, elapsed_from_table

BERLIN = "Europe/Berlin"
HOUR = 3600


def at(text, zone=BERLIN):
    """An aware datetime from a local 'YYYY-MM-DD HH:MM' in `zone`."""
    naive = datetime.datetime.fromisoformat(text)
    return naive.replace(tzinfo=datetime.UTC if zone == "UTC" else _zone(zone))


def _zone(name):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@pytest.fixture
def bavaria():
    """Mon–Fri 09:00–17:00 in Munich, with Bavaria's public holidays."""
    return WorkCalendar(time_zone=BERLIN, country="DE", subdivision="BY")


def test_a_friday_evening_handoff_with_an_8_hour_target_is_due_monday_evening(bavaria):
    # Friday 2026-11-27, 17:00: the working day is over; 8 working hours is all of Monday.
    due = bavaria.add(at("2026-11-27 17:00"), 8 * HOUR)
    assert due == at("2026-11-30 17:00")
    assert due.weekday() == 0


def test_a_handoff_before_a_public_holiday_is_due_after_it(bavaria):
    # Thursday 2026-12-24 16:00; Christmas Day and St Stephen's Day are Bavarian holidays
    # and the 26th is a Saturday anyway, so the next working hours are Monday the 28th.
    due = bavaria.add(at("2026-12-24 16:00"), 4 * HOUR)
    assert due == at("2026-12-28 12:00")


def test_a_regional_holiday_counts_only_in_its_region():
    # Epiphany (6 January) is a holiday in Bavaria, not in Berlin.
    bavaria = WorkCalendar(time_zone=BERLIN, country="DE", subdivision="BY")
    berlin = WorkCalendar(time_zone=BERLIN, country="DE", subdivision="BE")
    day = datetime.date(2027, 1, 6)
    assert not bavaria.is_working_day(day)
    assert berlin.is_working_day(day)


def test_the_teams_own_closures_are_not_working_time():
    calendar = WorkCalendar(time_zone="UTC", closures={datetime.date(2026, 12, 1)})
    due = calendar.add(at("2026-11-30 16:00", "UTC"), 2 * HOUR)
    assert due == at("2026-12-02 10:00", "UTC")


def test_work_that_fills_the_day_exactly_is_due_at_its_close_not_the_next_morning(bavaria):
    assert bavaria.add(at("2026-12-01 09:00"), 8 * HOUR) == at("2026-12-01 17:00")


def test_a_start_before_opening_counts_from_the_opening(bavaria):
    assert bavaria.add(at("2026-12-01 06:30"), HOUR) == at("2026-12-01 10:00")


def test_working_seconds_over_a_weekend_count_only_the_working_hours(bavaria):
    seconds = bavaria.working_seconds(at("2026-11-27 15:00"), at("2026-11-30 11:00"))
    assert seconds == 4 * HOUR
    assert bavaria.working_seconds(at("2026-11-30 11:00"), at("2026-11-27 15:00")) == -4 * HOUR


def test_a_spring_forward_window_is_an_hour_shorter_in_real_time():
    # 29 March 2026, 02:00 CET jumps to 03:00 CEST: the local 01:00–05:00 window is 3 hours.
    night = WorkCalendar(
        time_zone=BERLIN,
        working_days=range(7),
        day_start=datetime.time(1),
        day_end=datetime.time(5),
    )
    day = datetime.date(2026, 3, 29)
    assert night.working_seconds(at("2026-03-29 00:00"), at("2026-03-29 06:00")) == 3 * HOUR
    assert night.day_window(day) == (
        datetime.datetime(2026, 3, 29, 0, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 29, 3, tzinfo=datetime.UTC),
    )


def test_working_hours_after_the_clocks_change_keep_their_local_time(bavaria):
    # Friday 2026-03-27 16:00 CET (15:00 UTC) + 2 h → Monday 10:00 CEST (08:00 UTC).
    due = bavaria.add(at("2026-03-27 16:00"), 2 * HOUR)
    assert due == datetime.datetime(2026, 3, 30, 8, tzinfo=datetime.UTC)


def test_the_answer_is_in_utc_whatever_zone_the_input_is_in(bavaria):
    due = bavaria.add(at("2026-12-01 09:00", "UTC"), HOUR)
    assert due.tzinfo is datetime.UTC
    # 09:00 UTC is 10:00 in Munich, an hour into the working day.
    assert due == at("2026-12-01 10:00", "UTC")


def test_next_working_moment_skips_to_the_next_opening(bavaria):
    assert bavaria.next_working_moment(at("2026-11-28 12:00")) == at("2026-11-30 09:00")
    assert bavaria.next_working_moment(at("2026-11-30 12:00")) == at("2026-11-30 12:00")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"working_days": []}, "working_days"),
        ({"working_days": [7]}, "working_days"),
        ({"day_start": datetime.time(17), "day_end": datetime.time(9)}, "day_end"),
        ({"country": "XX"}, "country"),
        ({"country": "DE", "subdivision": "ZZ"}, "subdivision"),
        ({"subdivision": "BY"}, "subdivision"),
    ],
)
def test_a_calendar_that_cannot_work_is_refused_naming_the_field(fields, field):
    with pytest.raises(CalendarError, match=f"^{field}:"):
        WorkCalendar(**fields)


def test_a_naive_datetime_is_refused(bavaria):
    with pytest.raises(CalendarError):
        bavaria.add(datetime.datetime(2026, 12, 1, 9), HOUR)


def test_a_calendar_closed_every_working_day_fails_instead_of_looping():
    all_saturdays = {
        datetime.date(2026, 1, 3) + datetime.timedelta(weeks=n) for n in range(0, 52 * 4)
    }
    closed = WorkCalendar(working_days=[5], closures=all_saturdays)
    with pytest.raises(CalendarError):
        closed.add(at("2026-01-01 00:00", "UTC"), HOUR)


def test_a_handoff_is_not_overdue_on_saturday_and_is_on_monday_evening(bavaria):
    handed_off = at("2026-11-27 17:00")
    due = bavaria.add(handed_off, 8 * HOUR)
    with time_machine.travel(at("2026-11-28 12:00"), tick=False):
        now = datetime.datetime.now(datetime.UTC)
        assert now < due
        assert bavaria.working_seconds(handed_off, now) == 0
    with time_machine.travel(at("2026-11-30 17:01"), tick=False):
        now = datetime.datetime.now(datetime.UTC)
        assert now > due
        assert bavaria.working_seconds(handed_off, now) == 8 * HOUR


MOMENTS = st.datetimes(
    min_value=datetime.datetime(2026, 1, 1), max_value=datetime.datetime(2027, 6, 30)
).map(lambda naive: naive.replace(tzinfo=datetime.UTC))


@settings(max_examples=150, deadline=None)
@given(start=MOMENTS, seconds=st.integers(min_value=1, max_value=80 * HOUR))
def test_adding_then_measuring_gives_back_the_working_seconds(start, seconds):
    calendar = WorkCalendar(time_zone=BERLIN, country="DE", subdivision="BY")
    due = calendar.add(start, seconds)
    assert calendar.working_seconds(start, due) == pytest.approx(seconds)
    assert due > start


@settings(max_examples=100, deadline=None)
@given(start=MOMENTS, moment=MOMENTS)
def test_the_cumulative_table_measures_like_the_calendar(start, moment):
    calendar = WorkCalendar(time_zone="America/New_York", country="US", subdivision="NY")
    window_start = datetime.datetime(2025, 12, 1, tzinfo=datetime.UTC)
    rows = calendar.cumulative_intervals(
        window_start, datetime.datetime(2027, 8, 1, tzinfo=datetime.UTC)
    )
    expected = calendar.working_seconds(start, moment)
    measured = elapsed_from_table(rows, moment) - elapsed_from_table(rows, start)
    assert measured == pytest.approx(expected)
