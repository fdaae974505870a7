import secrets

from django import template
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

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


# What each figure on the scoreboard means: shown on hover and keyboard focus ({% term %})
# and in the "figures as a table" alternative. "The period" is the one the board states.
TERMS = {
    "average": (
        "Average cycle time",
        "The mean of delivered − requested over the items delivered in the period. One very "
        "slow item pulls it up: read it with the median and p85.",
    ),
    "p50": (
        "Median cycle time",
        "Half of the items delivered in the period took less than this, half took longer.",
    ),
    "p85": (
        "85th percentile cycle time",
        "85 of 100 items delivered in the period took less than this: a promise you can keep "
        "85% of the time.",
    ),
    "p95": (
        "95th percentile cycle time",
        "95 of 100 items delivered in the period took less than this; the slowest 5% took longer.",
    ),
    "count": (
        "Delivered",
        "Work items delivered in the period (their delivery date falls in it). Sandbox "
        "workflows are left out.",
    ),
    "target": (
        "Target",
        "The quarter target the workflow's leads set for its metric, checked against the same "
        "metric over the period shown.",
    ),
    "throughput": ("Per week", "Items delivered in the period ÷ the weeks in the period."),
    "wip": (
        "Work in progress",
        "Open work items right now, whatever the period: requested, not yet delivered or "
        "cancelled.",
    ),
    "aging": (
        "Older than their workflow's p85",
        "Open items whose age (now − requested) is above the 85th percentile cycle time of "
        "their workflow's deliveries in the period: already slower than 85% of delivered work.",
    ),
    "flow_efficiency": (
        "Flow efficiency",
        "Working time in active stages ÷ cycle time, over the items delivered in the period. "
        "The rest is waiting for acceptance, blocked or awaiting a decision.",
    ),
    "bounce_rate": (
        "Bounce rate",
        "Hand-offs bounced back ÷ hand-offs submitted, over the items delivered in the period.",
    ),
    "items": ("Items", "Items delivered in the period that passed through it."),
    "total": ("Total", "Average time per item in the stage, from entering it to leaving it."),
    "working": ("Working", "Average time per item that the stage's team was working on it."),
    "waiting": (
        "Waiting for acceptance",
        "Average time per item between being handed off into the stage and being accepted.",
    ),
    "blocked": (
        "Blocked",
        "Average time per item stopped by a bounce or a block (a recovery) until unblocked.",
    ),
    "decision": (
        "Awaiting decision",
        "Average time per item paused for a red decision until it was answered.",
    ),
    "share": (
        "Share of all time",
        "The stage's time ÷ the time in all stages, over the items delivered in the period.",
    ),
    "friction": (
        "Friction",
        "Waiting for acceptance + blocked + awaiting decision, as a share of the stage's "
        "total time: time an item spent there without being worked on.",
    ),
    "most_friction": (
        "Most friction",
        "The stage with the highest friction in the period: the largest share of its time "
        "spent waiting for acceptance, blocked or awaiting a decision. Start there.",
    ),
    "avg_wait": (
        "Average wait",
        "From hand-off to acceptance (or bounce), per submission, over the items delivered in "
        "the period.",
    ),
    "first_pass": (
        "First-pass acceptance",
        "Items accepted at their first hand-off here, without a bounce ÷ items handed off here.",
    ),
}


@register.simple_tag
def term(key, label=None, badge=""):
    """A figure's label that explains itself: its meaning shows on hover and on keyboard
    focus, and is the label's accessible description. `badge`: a class for the label alone
    (e.g. "stalled"), so the explanation is not drawn inside it."""
    name, meaning = TERMS[key]
    tip = f"term-{key}-{secrets.token_hex(3)}"
    text = format_html('<span class="{}">{}</span>', badge, label or name) if badge else label
    return format_html(
        '<span class="term" tabindex="0" aria-describedby="{}">{}'
        '<span class="term-tip" role="tooltip" id="{}">{}</span></span>',
        tip,
        text or name,
        tip,
        meaning,
    )


@register.simple_tag
def meaning(key):
    return TERMS[key][1]


@register.simple_tag
def explain(label, meaning_text):
    """Like {% term %}, for a meaning built at run time (the clock's rule, which names the
    workflow's calendar); both are escaped."""
    tip = f"term-explain-{secrets.token_hex(3)}"
    return format_html(
        '<span class="term" tabindex="0" aria-describedby="{}">{}'
        '<span class="term-tip" role="tooltip" id="{}">{}</span></span>',
        tip,
        label,
        tip,
        meaning_text,
    )


@register.simple_tag
def cfd_table_rows(rows):
    """The cumulative flow table's body (flow.cumulative_flow's rows: a day, its count per
    stage, the delivered so far) built in one pass: a quarter of days with a cell per stage
    through the template's lookups was a third of the flow page's time (`make bench`)."""
    return format_html_join(
        "",
        '<tr><td>{}</td>{}<td class="num">{}</td></tr>',
        (
            (
                date_format(day, "j M Y"),
                format_html_join("", '<td class="num">{}</td>', ((count,) for count in counts)),
                delivered,
            )
            for day, counts, delivered in rows
        ),
    )
