"""Durations as leads type and read them: "4h", "2d 4h", "90m", "1w"."""

import datetime
import re

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm])")


def parse_duration(text):
    """Returns a timedelta, or None for an empty text; raises ValueError when unreadable.

    A bare number means hours, the unit leads use most for targets.
    """
    text = (text or "").strip().lower().replace(",", " ")
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return datetime.timedelta(hours=float(text))
    compact = re.sub(r"\s+", "", text)
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(text)
    return datetime.timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def _split(value):
    """(days, hours, minutes) of a timedelta, rounded to the minute, never below zero."""
    minutes = max(0, round(value.total_seconds() / 60))
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    return days, hours, minutes


def format_duration(value, *, units=3):
    """ "2d 4h" for a timedelta, at most `units` of d/h/m, largest first; "" for None.
    With all three units it reads back through parse_duration (protocol targets); pages
    show two ("3d 4h", "5h 12m")."""
    if value is None:
        return ""
    parts = [f"{n}{u}" for n, u in zip(_split(value), "dhm", strict=True) if n]
    return " ".join(parts[:units]) or "0m"


def spoken_duration(value):
    """The two largest units the way an email says them: "45 min", "5 h 10 min", "2 d 3 h";
    "" for None."""
    if value is None:
        return ""
    days, hours, minutes = _split(value)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
