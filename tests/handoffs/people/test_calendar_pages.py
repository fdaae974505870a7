"""A team's working calendar page: the lead and admins edit it, everyone signed in reads it."""

import datetime

import pytest

from handoffs.models import Team, TeamCalendar, TeamClosure
from handoffs.people import services as people
from handoffs.workflows import calendars

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
GOOD = {
    "time_zone": "Europe/Berlin",
    "working_days": ["0", "1", "2", "3"],
    "day_start": "08:00",
    "day_end": "16:30",
    "country": "de",
    "subdivision": "by",
}


def _url(team, rest=""):
    return f"/teams/{team.pk}/calendar/{rest}"


def test_a_new_team_gets_the_documented_default_calendar(admin_user, settings):
    team = people.team_create(by=admin_user, name="Returns desk")
    calendar = TeamCalendar.objects.get(team=team)
    assert calendar.time_zone == settings.TIME_ZONE
    assert calendar.working_days == [0, 1, 2, 3, 4]
    assert (calendar.day_start, calendar.day_end) == (datetime.time(9), datetime.time(17))
    assert calendar.country == "" and not calendar.closed_days.exists()


def test_a_lead_saves_the_calendar_and_the_page_answers_in_place(client, lead, teams):
    client.force_login(lead)
    team = teams["fulfilment"]
    response = client.post(_url(team), GOOD, **HTMX)
    assert response.status_code == 200
    assert 'id="calendar"' in response.text and "<html" not in response.text
    assert "Saved Fulfilment" in response.text
    calendar = TeamCalendar.objects.get(team=team)
    assert calendar.time_zone == "Europe/Berlin" and calendar.working_days == [0, 1, 2, 3]
    assert (calendar.country, calendar.subdivision) == ("DE", "BY")
    assert calendar.day_end == datetime.time(16, 30)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": "XX"}, "country", "no public holidays known for"),
        ({"subdivision": "ZZ"}, "subdivision", "use one of: BB, BE, BW, BY"),
        ({"country": "", "subdivision": "BY"}, "subdivision", "pick the country first"),
        ({"working_days": []}, "working_days", "Pick at least one working day."),
        ({"day_end": "07:00"}, "day_end", "must end after they start"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice"),
        ({"day_start": "25:99"}, "day_start", "Enter a valid time"),
    ],
)
def test_a_bad_calendar_is_refused_on_its_field_and_changes_nothing(
    client, lead, teams, change, field, message
):
    team = teams["fulfilment"]
    TeamCalendar.objects.create(team=team, time_zone="UTC")
    client.force_login(lead)
    response = client.post(_url(team), {**GOOD, **change}, **HTMX)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.text and message in response.text
    assert TeamCalendar.objects.get(team=team).time_zone == "UTC"


def test_members_read_the_calendar_but_cannot_change_it(client, member, teams):
    team = teams["fulfilment"]
    TeamCalendar.objects.create(team=team, time_zone="UTC")
    client.force_login(member)
    page = client.get(_url(team))
    assert page.status_code == 200
    assert "Mon, Tue, Wed, Thu, Fri · 09:00–17:00 · UTC" in page.text
    assert "Save calendar" not in page.text and "Add closed day" not in page.text
    assert client.post(_url(team), GOOD).status_code == 403
    assert (
        client.post(_url(team, "closures/"), {"date": "2030-01-02", "reason": "x"}).status_code
        == 403
    )
    assert TeamCalendar.objects.get(team=team).time_zone == "UTC"
    assert not TeamClosure.objects.exists()


def test_another_teams_lead_cannot_change_it(client, outsider, teams):
    client.force_login(outsider)
    assert client.post(_url(teams["fulfilment"]), GOOD).status_code == 403
    assert not TeamCalendar.objects.exists()


def test_a_team_without_a_calendar_says_it_counts_calendar_time(client, lead, teams):
    client.force_login(lead)
    page = client.get(_url(teams["fulfilment"]))
    assert "No calendar yet" in page.text and "Save the calendar first" in page.text


def test_a_lead_adds_and_removes_a_closed_day_with_its_reason(client, lead, teams):
    team = teams["fulfilment"]
    calendar = TeamCalendar.objects.create(team=team, time_zone="UTC")
    client.force_login(lead)
    day = datetime.date.today() + datetime.timedelta(days=30)
    while day.weekday() > 4:
        day += datetime.timedelta(days=1)
    response = client.post(_url(team, "closures/"), {"date": day, "reason": "Inventory"}, **HTMX)
    assert response.status_code == 200 and "Inventory" in response.text
    closure = TeamClosure.objects.get(calendar=calendar)
    assert calendar.as_work_calendar().is_working_day(day) is False
    assert "Closed</span> Inventory" in response.text  # in the preview of the next days off

    again = client.post(_url(team, "closures/"), {"date": day, "reason": "Again"}, **HTMX)
    assert again.status_code == 400 and "is already closed: Inventory" in again.text
    no_reason = client.post(_url(team, "closures/"), {"date": day, "reason": " "}, **HTMX)
    assert no_reason.status_code == 400 and 'id="id_reason_error"' in no_reason.text

    removed = client.post(_url(team, f"closures/{closure.pk}/remove/"))
    assert removed.status_code == 302
    assert not TeamClosure.objects.exists()


def test_a_closure_of_another_team_is_not_found(client, lead, teams):
    other = TeamCalendar.objects.create(team=teams["sales"])
    closure = TeamClosure.objects.create(calendar=other, date=datetime.date(2030, 1, 2), reason="x")
    client.force_login(lead)
    url = _url(teams["fulfilment"], f"closures/{closure.pk}/remove/")
    assert client.post(url).status_code == 404
    assert TeamClosure.objects.exists()


def test_the_preview_lists_holidays_and_closures_on_working_days():
    team = Team.objects.create(name="Support")
    calendar = TeamCalendar.objects.create(team=team, time_zone="America/New_York", country="US")
    TeamClosure.objects.create(calendar=calendar, date=datetime.date(2026, 12, 28), reason="Stock")
    TeamClosure.objects.create(calendar=calendar, date=datetime.date(2026, 12, 27), reason="Sun")
    days = calendars.upcoming(calendar, today=datetime.date(2026, 12, 20), limit=3)
    assert days == [
        (datetime.date(2026, 12, 25), "Christmas Day", "holiday"),
        (datetime.date(2026, 12, 28), "Stock", "closure"),
        (datetime.date(2027, 1, 1), "New Year's Day", "holiday"),
    ]
