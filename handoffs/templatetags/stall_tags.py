from django import template

from handoffs.alerts import short_duration as _short_duration

register = template.Library()


@register.filter
def short_duration(value):
    """A timedelta as people say it: "45 min", "5 h 10 min", "2 d 3 h"."""
    return _short_duration(value) if value is not None else ""
