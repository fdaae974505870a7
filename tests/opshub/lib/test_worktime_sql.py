"""Working time for every row of a query at once, computed in PostgreSQL against a table of
each calendar's working days, agrees with the calendar arithmetic in Python."""

import datetime

import pytest
from django.db.models import F, Value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opshub.lib.workcalendar import WorkCalendar
from opshub.lib.worktime_sql import WorkingDeadline, WorkingSecondsBetween, WorkTable

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
HOUR = 3600
MUNICH = WorkCalendar(time_zone="Europe/Berlin", country="DE", subdivision="BY")
NEW_YORK = WorkCalendar(time_zone="America/New_York", country="US", day_start=datetime.time(8, 30))
WINDOW = (datetime.datetime(2026, 10, 1, tzinfo=UTC), datetime.datetime(2027, 4, 1, tzinfo=UTC))


@pytest.fixture
def table():
    return WorkTable({1: MUNICH, 2: NEW_YORK}, *WINDOW)


@pytest.fixture
def people(make_user):
    """Users stand in for waiting items: their date_joined is when the wait started."""
    joined = [
        datetime.datetime(2026, 11, 27, 16, 0, tzinfo=UTC),  # Friday 17:00 in Munich
        datetime.datetime(2026, 12, 24, 15, 0, tzinfo=UTC),  # Christmas Eve, 16:00 Munich
        datetime.datetime(2026, 12, 1, 3, 0, tzinfo=UTC),  # the middle of the night
    ]
    users = []
    for n, moment in enumerate(joined):
        user = make_user(f"wait{n}@example.com")
        user.date_joined = moment
        user.save(update_fields=["date_joined"])
        users.append(user)
    return users


def _users():
    from opshub.accounts.models import User

    return User.objects.filter(email__startswith="wait").order_by("email")


def test_deadlines_for_every_row_come_from_one_query(table, people, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = list(
            _users()
            .annotate(due=WorkingDeadline(table, Value(1), F("date_joined"), Value(8 * HOUR)))
            .values_list("date_joined", "due")
        )
    assert [due for _, due in rows] == [MUNICH.add(joined, 8 * HOUR) for joined, _ in rows]
    # The Friday-evening wait is due on Monday evening, not on Saturday.
    assert rows[0][1] == datetime.datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_working_seconds_since_each_start_filter_in_sql(table, people):
    now = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # Monday 13:00 in Munich
    waited = _users().annotate(
        waited=WorkingSecondsBetween(table, Value(1), F("date_joined"), Value(now))
    )
    assert list(waited.filter(waited__gte=4 * HOUR).values_list("email", flat=True)) == [
        "wait0@example.com"
    ]
    assert waited.get(email="wait0@example.com").waited == 4 * HOUR


def test_a_key_without_a_calendar_gives_null_not_zero(table, people):
    rows = _users().annotate(
        due=WorkingDeadline(table, Value(99), F("date_joined"), Value(HOUR)),
        waited=WorkingSecondsBetween(table, Value(99), F("date_joined"), Value(WINDOW[1])),
    )
    assert {(row.due, row.waited) for row in rows} == {(None, None)}


def test_a_zero_target_is_due_at_its_start(table, people):
    row = _users().annotate(due=WorkingDeadline(table, Value(1), F("date_joined"), Value(0)))[0]
    assert row.due == row.date_joined


MOMENTS = st.datetimes(
    min_value=datetime.datetime(2026, 10, 2), max_value=datetime.datetime(2027, 2, 1)
).map(lambda naive: naive.replace(tzinfo=UTC))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from([1, 2]),
    start=MOMENTS,
    end=MOMENTS,
    seconds=st.integers(min_value=1, max_value=60 * HOUR),
)
def test_sql_and_python_agree(table, make_user, key, start, end, seconds):
    from opshub.accounts.models import User

    calendar = {1: MUNICH, 2: NEW_YORK}[key]
    row = User.objects.annotate(
        due=WorkingDeadline(table, Value(key), Value(start), Value(seconds)),
        waited=WorkingSecondsBetween(table, Value(key), Value(start), Value(end)),
    ).values("due", "waited")
    if not User.objects.exists():
        make_user("anyone@example.com")
    row = row.first()
    assert row["due"] == calendar.add(start, seconds)
    assert row["waited"] == pytest.approx(calendar.working_seconds(start, end))


def test_the_hand_written_sql_form_agrees_with_the_calendar(table):
    from django.db import connection

    from opshub.lib.worktime_sql import between_sql, cte, deadline_sql

    starts = [
        datetime.datetime(2026, 11, 27, 16, 0, tzinfo=UTC),
        datetime.datetime(2026, 12, 24, 15, 0, tzinfo=UTC),
        datetime.datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
    ]
    now = datetime.datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
    with_sql, params = cte(table)
    sql = (
        f"WITH {with_sql}, waits(team, started) AS ("  # noqa: S608
        " SELECT * FROM unnest(%(teams)s::bigint[], %(starts)s::timestamptz[]))"
        f" SELECT team, started, {between_sql('c', 'started', '%(now)s::timestamptz')},"
        f" {deadline_sql('c', 'started', 8 * HOUR)}"
        " FROM waits LEFT JOIN worktime c ON c.key = waits.team ORDER BY team, started"
    )
    teams = [1, 1, 1, 2, 2, 2, 99]
    every = [*starts, *starts, starts[0]]
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "teams": teams, "starts": every, "now": now})
        rows = cursor.fetchall()
    calendars = {1: MUNICH, 2: NEW_YORK}
    for team, started, waited, due in rows:
        if team == 99:
            assert (waited, due) == (None, None)
            continue
        calendar = calendars[team]
        assert waited == pytest.approx(calendar.working_seconds(started, now))
        assert due == calendar.add(started, 8 * HOUR)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from([1, 2]),
    start=MOMENTS,
    end=MOMENTS,
    seconds=st.integers(min_value=1, max_value=60 * HOUR),
)
def test_the_binary_search_form_agrees_with_python(table, key, start, end, seconds):
    from django.db import connection

    from opshub.lib.worktime_sql import between_sql, cte, deadline_sql

    with_sql, params = cte(table)
    sql = (
        f"WITH {with_sql} SELECT {between_sql('c', '%(start)s', '%(end)s')},"  # noqa: S608
        f" {deadline_sql('c', '%(start)s', '%(seconds)s')} FROM worktime c WHERE c.key = %(key)s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql.replace("%(start)s", "%(start)s::timestamptz").replace(
                "%(end)s", "%(end)s::timestamptz"
            ),
            {**params, "start": start, "end": end, "seconds": seconds, "key": key},
        )
        waited, due = cursor.fetchone()
    calendar = {1: MUNICH, 2: NEW_YORK}[key]
    assert waited == pytest.approx(calendar.working_seconds(start, end))
    assert due == calendar.add(start, seconds)
