"""Filters for work-item pages: short ages like "3d 4h"."""

import datetime
import html

from django import forms, template
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeData, mark_safe

from handoffs.work.models import WorkItem
from opshub.lib.durations import format_duration

register = template.Library()

STATE_LABELS = dict(WorkItem.State.choices)


def _html(template_string, *values):
    """format_html for the tags below, which build a hundred cards or rows a page: the same
    escaping (the standard library's, quotes included), without the lazy-string wrapper
    and checks format_html pays per value, which were most of a card's cost."""
    escaped = (v if isinstance(v, SafeData) else html.escape(str(v)) for v in values)
    return mark_safe(template_string.format(*escaped))  # noqa: S308 - every value escaped


_DUE_MARKERS = {
    "overdue": mark_safe(' <span class="stalled">Overdue</span>'),
    "at_risk": mark_safe(
        ' <span class="stalled" title="The 85% forecast is after the due date">At risk</span>'
    ),
    "due_soon": mark_safe(' <span class="badge state-awaiting_decision">Due soon</span>'),
}


@register.simple_tag
def due_marker(item):
    """ " Overdue" / " At risk" / " Due soon" for an open item with a due date
    (WorkItem.due_status; "At risk" only where the query annotated `due_estimate`)."""
    return _DUE_MARKERS.get(item.due_status, "")


def short_duration(value):
    """The two largest units of a timedelta: "3d 4h", "5h 12m", "7m"."""
    return format_duration(value, units=2)


@register.filter
def since(moment):
    """How long ago a datetime was, shortly."""
    if not isinstance(moment, datetime.datetime):
        return ""
    return short_duration(timezone.now() - moment)


@register.filter
def day(moment):
    """ "21 Nov 2026" in the current time zone: what `date:"j M Y"` shows, at a tenth of
    its cost (it parses the format per call; a list page has fifty dates)."""
    if not isinstance(moment, datetime.datetime):
        return ""
    local = timezone.localtime(moment)
    return f"{local.day} {str(MONTHS_3[local.month]).title()} {local.year}"


@register.filter
def duration(value):
    return short_duration(value)


@register.filter
def plain_select(field):
    """A filter form's <select>, rendered in one pass: Django's widget renders a template
    per option, which was half of the work list's time at 100,000 items (`make bench`)."""
    value = field.value()
    chosen = "" if value is None else str(value)
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (str(key), " selected" if str(key) == chosen else "", label)
            for key, label in _choices(field.field)
        ),
    )
    return format_html(
        '<select name="{}" id="{}">{}</select>', field.html_name, field.auto_id, options
    )


def _choices(field):
    """A model choice field's options from one plain query (its own iterator opens a
    server-side cursor: four round trips per select), or from the field's `options`: a
    callable giving (value, label) pairs without building a model per option."""
    if not isinstance(field, forms.ModelChoiceField):
        return field.choices
    empty = [("", field.empty_label)] if field.empty_label is not None else []
    if options := getattr(field, "options", None):
        return empty + list(options())
    return empty + [
        (field.prepare_value(obj), field.label_from_instance(obj)) for obj in field.queryset
    ]


@register.simple_tag
def board_card(item, sandbox=False, csrf_token="", back="", next_stage=None):
    """One board card, built in one pass: a board shows up to a hundred of them, and the
    template language spent a third of the board's time on their dozen lookups each
    (`make bench`: board p95 within 5× the trivial page). A card the user may hand off is
    draggable onto the next column, which opens the gate (static/js/board.js)."""
    classes = "card" + (" is-stalled" if item.stalled else "") + (" is-sandbox" if sandbox else "")
    stalled = mark_safe('<span class="stalled">Stalled</span>') if item.stalled else ""
    gate = f"{item.url}?panel=handoff"
    drag = (
        _html(' draggable="true" data-handoff="{}"', gate)
        if getattr(item, "can_hand_off", False)
        else ""
    )
    return _html(
        '<article class="{}" id="card-{}"{}><h3 class="card-title"><a href="{}">{}</a></h3>'
        '<p class="card-meta">{} old · in stage {} · {}</p>'
        '<div class="card-footer"><span class="badge state-{}">{}</span>{}{}'
        # Filled by the scoreboard's at-risk markers after the board loads (htmx, out of band).
        '<span id="risk-{}"></span></div>{}</article>',
        classes,
        item.pk,
        mark_safe(drag),  # noqa: S308 - built by _html above, every value escaped
        item.url,
        item.title,
        since(item.requested_at),
        since(item.stage_entered_at),
        item.assignee or "no owner",
        item.state,
        STATE_LABELS[item.state],
        stalled,
        due_marker(item),
        item.pk,
        _card_actions(item, csrf_token, back, next_stage, gate),
    )


def _card_actions(item, csrf_token, back, next_stage, gate):
    """Accept (in place, back to this board) and Hand off (the gate on the item page)."""
    if getattr(item, "can_accept", False):
        url = reverse("handoffs:item-accept", args=[item.pk])
        return _html(
            '<form class="card-actions" method="post" action="{}" hx-post="{}" '
            'hx-target="#board" hx-select="#board" hx-swap="outerHTML" hx-select-oob="#messages">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="hidden" name="next" value="{}">'
            '<button type="submit" class="btn btn-primary btn-sm">Accept</button></form>',
            url,
            url,
            csrf_token,
            back,
        )
    if getattr(item, "can_hand_off", False) and next_stage is not None:
        return _html(
            '<p class="card-actions"><a class="btn btn-secondary btn-sm" href="{}">'
            "Hand off to {}</a></p>",
            gate,
            next_stage.name,
        )
    return ""


@register.simple_tag
def item_row(item):
    """One row of the work list (WorkItem.objects.for_rows()), built in one pass like
    board_card: twenty-five rows of seven cells were half of the list's time."""
    stalled = item.stalled
    ref = _html(' <span class="muted small">{}</span>', item.external_ref)
    age = duration(item.cycle_time) if item.delivered_at else since(item.requested_at)
    return _html(
        '<tr{}><td><a href="{}">{}</a>{}{}{}</td><td>{} › {}</td><td>{}</td>'
        '<td><span class="badge state-{}">{}</span></td><td>{}</td>'
        '<td class="num nowrap">{}</td><td class="nowrap">{}</td></tr>',
        mark_safe(' class="is-stalled"') if stalled else "",
        item.url,
        item.title,
        ref if item.external_ref else "",
        mark_safe(' <span class="stalled">Stalled</span>') if stalled else "",
        due_marker(item),
        item.workflow_name,
        item.stage_name,
        item.team_name,
        item.state,
        STATE_LABELS[item.state],
        item.owner_name or "—",
        age,
        day(item.requested_at),
    )


@register.simple_tag
def timeline_rows(timeline):
    """The item page's history (timeline.story's entries), built in one pass like
    board_card: an item's twenty-odd events of a dozen lookups and two date formats each
    were a fifth of the page's rendering (`make bench`: item page within 3× the trivial
    page)."""
    return mark_safe(  # noqa: S308 - each row built by _html, every value escaped
        "".join(
            _html(
                '<li class="timeline-event {}"><time class="timeline-time" datetime="{}">{}'
                '</time> <span class="timeline-title">{}</span> {}{}</li>',
                entry["tone"],
                (local := timezone.localtime(entry["event"].at)).isoformat(),
                f"{day(local)}, {local:%H:%M}",
                entry["title"],
                entry["line"],
                mark_safe(  # noqa: S308 - every line escaped by _html
                    "".join(
                        _html('<p class="timeline-body">{}</p>', line) for line in entry["body"]
                    )
                ),
            )
            for entry in timeline
        )
    )
