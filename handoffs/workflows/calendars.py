"""Editing a team's working calendar and its closed days (docs/calendars.md).

Who may: admins and the team's lead; everyone signed in reads it. A new team gets the
default calendar (the site's time zone, Monday–Friday 09:00–17:00, no public holidays);
a team made before calendars existed has none and counts calendar time until its lead
saves one here.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from handoffs.workflows.models import TeamCalendar, TeamClosure, led_team_ids_of
from opshub.lib.workcalendar import CalendarError, supported_countries

LEADS_ONLY = "Only admins and the team's lead change its calendar."
PREVIEW_DAYS = 366


def can_edit_calendar(user, team):
    if not user.is_authenticated or not user.can_write:
        return False
    return user.is_admin or team.pk in led_team_ids_of(user)


def _require(user, team):
    if not can_edit_calendar(user, team):
        raise PermissionDenied(LEADS_ONLY)


def calendar_of(team):
    """The team's calendar, or an unsaved default one when it has none yet."""
    saved = TeamCalendar.objects.filter(team=team).prefetch_related("closed_days").first()
    return saved or TeamCalendar(team=team)


def _checked(calendar):
    """ValidationError on the field the calendar cannot work with; a subdivision error lists
    the country's subdivisions, so the lead can pick one."""
    try:
        calendar.as_work_calendar()
    except CalendarError as exc:
        field, _, message = str(exc).partition(": ")
        if field == "subdivision" and calendar.country in supported_countries():
            known = ", ".join(supported_countries()[calendar.country])
            message = f"{message[:-1]}; use one of: {known}."
        raise ValidationError({field: message}) from None


@transaction.atomic
def calendar_update(
    *, team, by, time_zone, working_days, day_start, day_end, country="", subdivision=""
):
    _require(by, team)
    calendar = calendar_of(team)
    calendar.time_zone = time_zone
    calendar.working_days = sorted({int(day) for day in working_days})
    calendar.day_start, calendar.day_end = day_start, day_end
    calendar.country = (country or "").strip().upper()
    calendar.subdivision = (subdivision or "").strip().upper()
    _checked(calendar)
    calendar.save()
    return calendar


@transaction.atomic
def closure_add(*, team, by, date, reason):
    _require(by, team)
    calendar = TeamCalendar.objects.filter(team=team).first()
    if calendar is None:
        raise ValidationError({"date": "Save the team's calendar first: closed days belong to it."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the team is closed, e.g. Inventory day."})
    if not datetime.date(2000, 1, 1) <= date <= datetime.date(2100, 12, 31):
        raise ValidationError({"date": "Pick a date between 2000 and 2100."})
    closure, created = TeamClosure.objects.get_or_create(
        calendar=calendar, date=date, defaults={"reason": reason[:200]}
    )
    if not created:
        raise ValidationError({"date": f"{date:%d %b %Y} is already closed: {closure.reason}."})
    return closure


@transaction.atomic
def closure_remove(*, team, by, closure):
    _require(by, team)
    closure.delete()


def upcoming(calendar, *, today, limit=8):
    """The next public holidays and closures from `today`: [(date, what, kind)], kind being
    "holiday" or "closure", in date order. Days that are not working days anyway are left
    out (a holiday on a Sunday changes nothing)."""
    if calendar.pk is None and not calendar.country:
        return []
    work = calendar.as_work_calendar()
    until = today + datetime.timedelta(days=PREVIEW_DAYS)
    days = (
        [
            (closure.date, closure.reason, "closure")
            for closure in calendar.closed_days.all()
            if today <= closure.date <= until
        ]
        if calendar.pk
        else []
    )
    for day, name in work.holiday_names(today, until):
        days.append((day, name, "holiday"))
    days = [entry for entry in days if entry[0].weekday() in work.working_days]
    return sorted(days)[:limit]
