from django import template

from opshub.lib.durations import spoken_duration

register = template.Library()


@register.filter
def short_duration(value):
    """A timedelta as people say it: "45 min", "5 h 10 min", "2 d 3 h"."""
    return spoken_duration(value)
