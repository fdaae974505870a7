"""An item's event log told as a story: who did what, where, under which protocol, how long."""

import datetime

from django.contrib.auth import get_user_model
from django.utils.dateparse import parse_datetime

from handoffs.models import Event
from handoffs.templatetags.work_items import short_duration

_TONES = {
    Event.Kind.CREATED: "is-info",
    Event.Kind.HANDOFF_ACCEPTED: "is-success",
    Event.Kind.HANDOFF_BOUNCED: "is-danger",
    Event.Kind.BLOCKED: "is-danger",
    Event.Kind.UNBLOCKED: "is-success",
    Event.Kind.STALL_STARTED: "is-warning",
    Event.Kind.DECISION_REQUESTED: "is-warning",
    Event.Kind.DELIVERED: "is-success",
    Event.Kind.CANCELLED: "is-danger",
}


def _stage(stage):
    return f"{stage.name} ({stage.team.name})" if stage else "?"


def _seconds(value):
    return short_duration(datetime.timedelta(seconds=value)) if value is not None else ""


def _when(iso):
    moment = parse_datetime(iso) if iso else None
    return moment.strftime("%-d %b %H:%M") if moment else ""


def _fields_line(values, labels):
    shown = {k: v for k, v in (values or {}).items() if v not in (None, "")}
    return "; ".join(f"{labels.get(k, k)}: {_shown(v)}" for k, v in shown.items())


def _shown(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def story(events, field_labels):
    """A list of timeline entries (title, tone, line, body lines) for events in order."""
    events = list(events)
    user_ids = {
        e.payload.get(key) for e in events for key in ("owner_id", "assignee_id") if e.payload
    }
    users = get_user_model().objects.in_bulk([pk for pk in user_ids if pk])
    return [_entry(e, users, field_labels) for e in events]


def _entry(event, users, labels):
    p = event.payload or {}
    actor = str(event.actor) if event.actor else "the system"
    version = f" under protocol v{event.protocol_version.number}" if event.protocol_version else ""
    owner = users.get(p.get("owner_id"))
    assignee = users.get(p.get("assignee_id"))
    line, body = f"by {actor}", []
    kind = event.kind
    if kind == Event.Kind.CREATED:
        line = f"by {actor} in {_stage(event.to_stage)}"
        if p.get("source"):
            line += f", from {p['source']}"
        if p.get("external_ref"):
            body.append(f"Reference {p['external_ref']}.")
        if p.get("fields"):
            body.append(_fields_line(p["fields"], labels))
    elif kind == Event.Kind.FIELDS_UPDATED:
        body.append(_fields_line(p.get("fields"), labels))
    elif kind == Event.Kind.HANDOFF_SUBMITTED:
        line = f"{_stage(event.from_stage)} → {_stage(event.to_stage)} by {actor}{version}"
        done = len(p.get("checklist") or [])
        body.append(f"{done} checklist item{'s' if done != 1 else ''} ticked.")
        if p.get("fields"):
            body.append(_fields_line(p["fields"], labels))
        if p.get("overridden"):
            body.append(f"Let through by an approved decision: {', '.join(p['overridden'])}.")
        if assignee:
            body.append(f"Assigned to {assignee} on arrival.")
    elif kind == Event.Kind.HANDOFF_ACCEPTED:
        line = f"by {actor} in {_stage(event.to_stage)}{version}"
        if p.get("wait_seconds") is not None:
            body.append(f"Waited {_seconds(p['wait_seconds'])} for acceptance.")
    elif kind in (Event.Kind.HANDOFF_BOUNCED, Event.Kind.BLOCKED):
        if kind == Event.Kind.HANDOFF_BOUNCED:
            line = f"back to {_stage(event.to_stage)} by {actor}{version}"
        else:
            line = f"in {_stage(event.from_stage)} by {actor}"
        body.append(
            f"Missing input: {p.get('missing_input', '?')}. Owner {owner or 'nobody'}, "
            f"next check {_when(p.get('next_check_at'))}."
        )
    elif kind == Event.Kind.UNBLOCKED:
        body.append(
            f"Cause: {p.get('cause', '?')}. Blocked for {_seconds(p.get('blocked_seconds'))}."
        )
    elif kind == Event.Kind.ASSIGNED:
        line = f"to {assignee or 'nobody'} by {actor}"
    elif kind == Event.Kind.DELIVERED:
        line = f"from {_stage(event.from_stage)} by {actor}"
        if p.get("cycle_seconds") is not None:
            body.append(f"Cycle time {_seconds(p['cycle_seconds'])}.")
    elif kind == Event.Kind.CANCELLED:
        body.append(f"Reason: {p.get('reason', '')}")
    elif p.get("summary"):
        body.append(p["summary"])
    for key in ("note", "body"):
        if p.get(key):
            body.append(p[key])
    return {
        "event": event,
        "title": event.get_kind_display(),
        "tone": _TONES.get(kind, ""),
        "line": line,
        "body": [b for b in body if b],
    }
