from django import template

from opshub.lib.durations import format_duration

register = template.Library()


@register.filter
def duration(value):
    """A timedelta as leads write it: "1d 4h"."""
    return format_duration(value)
