from django import template

register = template.Library()


@register.filter
def duration(seconds):
    """Seconds as the unit a person reads at a glance: days, hours or minutes."""
    if seconds is None or seconds == "":
        return "—"
    seconds = float(seconds)
    if abs(seconds) >= 2 * 86400:
        return f"{seconds / 86400:.1f} d"
    if abs(seconds) >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


@register.filter
def days(seconds):
    return "—" if seconds is None else f"{float(seconds) / 86400:.1f}"


@register.filter
def percent(ratio):
    return "—" if ratio is None else f"{ratio * 100:.0f}%"
