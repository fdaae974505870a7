from django import template

from handoffs.workflows.fields import FIELD_TYPES
from opshub.lib.durations import format_duration

register = template.Library()


@register.filter
def duration(value):
    """A timedelta as leads write it: "1d 4h"."""
    return format_duration(value)


@register.filter
def field_rules(defn):
    """The rules of a required-information field, in words: "money, at least 0"."""
    rules = [FIELD_TYPES.get(defn.get("type"), defn.get("type", "")).lower()]
    if defn.get("choices"):
        rules.append("one of " + " / ".join(defn["choices"]))
    if defn.get("min") not in (None, ""):
        rules.append(f"at least {defn['min']}")
    if defn.get("max") not in (None, ""):
        rules.append(f"at most {defn['max']}")
    if defn.get("max_length"):
        rules.append(f"up to {defn['max_length']} characters")
    if defn.get("pattern"):
        rules.append("in the expected format")
    return ", ".join(rules)
