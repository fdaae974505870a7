"""A person's time zone by name, with one fallback for every app."""

import datetime
import zoneinfo

from django.conf import settings


def zone_or_utc(name: str | None) -> datetime.tzinfo:
    """The zone called `name`; UTC when it is unset or unknown (a renamed or removed zone
    must not break a page or a scan)."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def user_zone(user: object) -> datetime.tzinfo:
    """The zone a person reads times in: their own (User.time_zone), else the site's
    (settings.TIME_ZONE); UTC when neither names a known zone."""
    return zone_or_utc(getattr(user, "time_zone", "") or settings.TIME_ZONE)


def clock_for(user: object, moment: datetime.datetime | None) -> str:
    """`moment` as the person's wall-clock time with its zone's abbreviation ("14:32 CET"),
    ready to print: the template's own `time` filter would turn it back to the site's zone."""
    if moment is None:
        return ""
    local = moment.astimezone(user_zone(user))
    return f"{local:%H:%M} {local.tzname()}"
