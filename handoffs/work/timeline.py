"""An item's event log told as a story: who did what, where, under which protocol, how long.

Each event kind has one small function that tells its story: it takes a `_Scene` (the
event, its payload, who acted, under which protocol) and returns the entry's line and body
lines; empty body lines are dropped and a payload's note or body is always added. Kinds
without a function of their own show their payload's summary.

Adding a kind is one small function plus one entry in `_STORIES` (and, if it should stand
out, one in `_TONES`); tests/handoffs/test_timeline.py wants a row for every kind.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils.dateparse import parse_datetime

from handoffs.templatetags.work_items import short_duration
from handoffs.work.models import Event, WorkItem

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
    user_ids |= {
        c.get(side)
        for e in events
        if e.kind == Event.Kind.DETAILS_EDITED
        for c in e.payload.get("changes", [])
        if c.get("field") == "assignee"
        for side in ("old", "new")
    }
    users = get_user_model().objects.in_bulk([pk for pk in user_ids if pk])
    return [_entry(e, users, field_labels) for e in events]


# --- An edit of the item's details (services.work_item_update): old → new per field --------

_EDITED = {
    "title": "Title",
    "priority": "Priority",
    "due_date": "Due date",
    "assignee": "Owner",
    "external_ref": "External reference",
}


def _edited_value(name, value, users):
    if value in (None, ""):
        return "(empty)"
    if name == "assignee":
        return str(users.get(value) or "a removed user")
    if name == "priority" and value in WorkItem.Priority.values:
        return WorkItem.Priority(value).label
    if name == "due_date":
        return datetime.date.fromisoformat(value).strftime("%-d %b %Y")
    return f"“{_shown(value)}”" if name == "title" else str(_shown(value))


def _details_edited(s):
    body = []
    for change in s.payload.get("changes", []):
        name = change.get("field", "")
        key = name.removeprefix("fields.")
        label = s.labels.get(key, key) if name.startswith("fields.") else _EDITED.get(name, name)
        old, new = (_edited_value(name, change.get(side), s.users) for side in ("old", "new"))
        body.append(f"{label}: {old} → {new}")
    return s.by, body


def _entry(event, users, labels):
    p = event.payload or {}
    scene = _Scene(
        event=event,
        payload=p,
        actor=str(event.actor) if event.actor else "the system",
        version=(
            f" under protocol v{event.protocol_version.number}" if event.protocol_version else ""
        ),
        users=users,
        labels=labels,
    )
    line, body = _STORIES.get(event.kind, _summary)(scene)
    body += [p.get("note"), p.get("body")]
    return {
        "event": event,
        "title": event.get_kind_display(),
        "tone": _TONES.get(event.kind, ""),
        "line": line,
        "body": [b for b in body if b],
    }


@dataclass(frozen=True)
class _Scene:
    """What any kind's story can draw on."""

    event: Event
    payload: dict
    actor: str  # "Seller", or "the system"
    version: str  # " under protocol v3", or ""
    users: dict  # {id: user} for the payload's owner_id / assignee_id
    labels: dict  # {field key: label}

    @property
    def by(self):
        return f"by {self.actor}"

    def user(self, key):
        return self.users.get(self.payload.get(key))

    def fields(self):
        return _fields_line(self.payload.get("fields"), self.labels)


# Each story returns (line, body lines); falsy body lines are dropped by _entry.


def _created(s):
    p = s.payload
    source = f", from {p['source']}" if p.get("source") else ""
    reference = f"Reference {p['external_ref']}." if p.get("external_ref") else ""
    return f"{s.by} in {_stage(s.event.to_stage)}{source}", [reference, s.fields()]


def _fields_updated(s):
    return s.by, [s.fields()]


def _handoff_submitted(s):
    p, assignee = s.payload, s.user("assignee_id")
    done = len(p.get("checklist") or [])
    overridden = ", ".join(p.get("overridden") or [])
    return f"{_stage(s.event.from_stage)} → {_stage(s.event.to_stage)} {s.by}{s.version}", [
        f"{done} checklist item{'s' if done != 1 else ''} ticked.",
        s.fields(),
        overridden and f"Let through by an approved decision: {overridden}.",
        assignee and f"Assigned to {assignee} on arrival.",
    ]


def _handoff_accepted(s):
    wait = s.payload.get("wait_seconds")
    waited = f"Waited {_seconds(wait)} for acceptance." if wait is not None else ""
    return f"{s.by} in {_stage(s.event.to_stage)}{s.version}", [waited]


def _missing_input(s):
    p = s.payload
    return (
        f"Missing input: {p.get('missing_input', '?')}. Owner {s.user('owner_id') or 'nobody'}, "
        f"next check {_when(p.get('next_check_at'))}."
    )


def _handoff_bounced(s):
    return f"back to {_stage(s.event.to_stage)} {s.by}{s.version}", [_missing_input(s)]


def _blocked(s):
    return f"in {_stage(s.event.from_stage)} {s.by}", [_missing_input(s)]


def _unblocked(s):
    p = s.payload
    return s.by, [
        f"Cause: {p.get('cause', '?')}. Blocked for {_seconds(p.get('blocked_seconds'))}."
    ]


def _assigned(s):
    return f"to {s.user('assignee_id') or 'nobody'} {s.by}", []


def _delivered(s):
    cycle = s.payload.get("cycle_seconds")
    cycle_time = f"Cycle time {_seconds(cycle)}." if cycle is not None else ""
    return f"from {_stage(s.event.from_stage)} {s.by}", [cycle_time]


def _cancelled(s):
    return s.by, [f"Reason: {s.payload.get('reason', '')}"]


def _summary(s):
    """Comments, decisions, stalls: what the code that logged them summed up."""
    return s.by, [s.payload.get("summary")]


_STORIES = {
    Event.Kind.CREATED: _created,
    Event.Kind.FIELDS_UPDATED: _fields_updated,
    Event.Kind.HANDOFF_SUBMITTED: _handoff_submitted,
    Event.Kind.HANDOFF_ACCEPTED: _handoff_accepted,
    Event.Kind.HANDOFF_BOUNCED: _handoff_bounced,
    Event.Kind.BLOCKED: _blocked,
    Event.Kind.UNBLOCKED: _unblocked,
    Event.Kind.ASSIGNED: _assigned,
    Event.Kind.DETAILS_EDITED: _details_edited,
    Event.Kind.DELIVERED: _delivered,
    Event.Kind.CANCELLED: _cancelled,
}
