"""Filters for work-item pages: short ages like "3d 4h"."""

import datetime

from django import template
from django.utils import timezone

register = template.Library()


def short_duration(value):
    """The two largest units of a timedelta: "3d 4h", "5h 12m", "7m"."""
    if value is None:
        return ""
    minutes = max(0, round(value.total_seconds() / 60))
    parts = []
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2]) or "0m"


@register.filter
def since(moment):
    """How long ago a datetime was, shortly."""
    if not isinstance(moment, datetime.datetime):
        return ""
    return short_duration(timezone.now() - moment)


@register.filter
def duration(value):
    return short_duration(value)
