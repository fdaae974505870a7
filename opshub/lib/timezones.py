"""A person's time zone by name, with one fallback for every app."""

import datetime
import zoneinfo


def zone_or_utc(name: str | None) -> datetime.tzinfo:
    """The zone called `name`; UTC when it is unset or unknown (a renamed or removed zone
    must not break a page or a scan)."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC
