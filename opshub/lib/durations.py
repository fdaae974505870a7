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


def format_duration(value):
    """ "2d 4h" for a timedelta; "" for None. Rounds to the minute."""
    if value is None:
        return ""
    minutes = round(value.total_seconds() / 60)
    if minutes <= 0:
        return "0m"
    parts = []
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)
