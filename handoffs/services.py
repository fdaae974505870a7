"""Use cases that move work items: each locks the item, checks, writes the item and its event.

Every function runs in one transaction and takes the item row lock first
(SELECT … FOR UPDATE), so two people acting on one item at once serialise:
the second sees the new state and gets a StateConflict instead of a lost update.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.timesince import timesince

from handoffs import decisions as rights
from handoffs import notifications
from handoffs.fields import clean_value, printable
from handoffs.models import (
    Cause,
    Comment,
    Decision,
    DecisionLevel,
    Event,
    ProtocolVersion,
    Recovery,
    Stage,
    WorkItem,
    team_ids_of,
)
from opshub.lib.dates import due_date_problem, requested_at_problem


class StateConflict(Exception):
    """The item is not in a state that allows the action (often: someone else acted first)."""


class GateError(Exception):
    """A handoff is missing what its published protocol requires. Nothing was changed."""

    def __init__(self, message, *, missing_checklist=(), missing_fields=(), field_errors=None):
        super().__init__(message)
        self.message = message
        self.missing_checklist = list(missing_checklist)
        self.missing_fields = list(missing_fields)
        self.field_errors = field_errors or {}

    def as_dict(self):
        return {
            "detail": self.message,
            "missing_checklist": self.missing_checklist,
            "missing_fields": self.missing_fields,
            "field_errors": self.field_errors,
        }


# --- Permissions -------------------------------------------------------------------------


def can_work_on(user, item):
    """Members of the team owning the current stage, the assignee, and admins."""
    if not user.is_authenticated or not user.can_write:
        return False
    return user.is_admin or item.assignee_id == user.pk or item.stage.team_id in team_ids_of(user)


def can_receive(user, item):
    """Only the receiving team of the pending handoff (or an admin) accepts or bounces it."""
    if not user.is_authenticated or not user.can_write or item.pending_version_id is None:
        return False
    if user.is_admin:
        return True
    team = item.pending_version.effective_receiving_team
    return team is not None and team.pk in team_ids_of(user)


def can_unblock(user, item, recovery):
    if recovery is not None and recovery.owner_id == user.pk and user.can_write:
        return True
    return can_work_on(user, item)


def can_cancel(user, item):
    """The team working on it, and the lead of the team owning its stage."""
    if not user.is_authenticated or not user.can_write:
        return False
    return item.stage.team.lead_id == user.pk or can_work_on(user, item)


def _require(allowed, message):
    if not allowed:
        raise PermissionDenied(message)


def _lock(item):
    # Lock the bare row first. Locking it inside the joined query is wrong: a second caller
    # that waited for the lock has PostgreSQL re-check the updated row against the joins,
    # and an outer join to a pending_version just set to NULL drops the row (DoesNotExist
    # instead of StateConflict). Once the lock is held, a fresh read sees the winner's state.
    WorkItem.objects.select_for_update().filter(pk=item.pk).values_list("pk").get()
    return WorkItem.objects.select_related(
        "stage", "stage__team", "workflow", "pending_version"
    ).get(pk=item.pk)


def _set_state(item, state, now):
    if item.state != state:
        item.state = state
        item.state_changed_at = now


def workflow_field_definitions(workflow):
    """Every field any published protocol of the workflow asks for, keyed by field key."""
    definitions = {}
    versions = ProtocolVersion.objects.filter(
        handoff__workflow=workflow, status=ProtocolVersion.Status.PUBLISHED
    ).order_by("number")
    for version in versions:
        for defn in version.fields:
            definitions[defn["key"]] = defn
    return definitions


def _clean_fields(definitions, submitted):
    cleaned, errors = {}, {}
    for key, raw in (submitted or {}).items():
        defn = definitions.get(key)
        if defn is None:
            errors[printable(key)] = "This workflow has no such field."
            continue
        try:
            cleaned[key] = clean_value(defn, raw)
        except ValidationError as exc:
            errors[key] = " ".join(exc.messages)
    return cleaned, errors


# --- Creating and updating ---------------------------------------------------------------

DUPLICATE_EXTERNAL_REF = "A work item with this external reference already exists."


def _date_errors(*, requested_at, due_date, now):
    """Per-field messages for dates outside the range every entry point shares."""
    errors = {"requested_at": requested_at_problem(requested_at, now=now)}
    if due_date is not None:
        errors["due_date"] = due_date_problem(due_date)
    return {name: message for name, message in errors.items() if message}


@transaction.atomic
def work_item_create(
    *,
    workflow,
    title,
    by,
    requested_at=None,
    external_ref="",
    source="",
    fields=None,
    priority=WorkItem.Priority.NORMAL,
    due_date=None,
    assignee=None,
    stage=None,
):
    if by is not None and not by.can_write:
        raise PermissionDenied("Viewers cannot create work items.")
    errors = {}
    if not (title or "").strip():
        errors["title"] = "Give the work item a title."
    now = timezone.now()
    requested_at = requested_at or now
    errors.update(_date_errors(requested_at=requested_at, due_date=due_date, now=now))
    stage = stage or workflow.stages.order_by("position").first()
    if stage is None:
        errors["workflow"] = "This workflow has no stages yet."
    elif stage.workflow_id != workflow.pk:
        errors["stage"] = "That stage belongs to another workflow."
    cleaned, field_errors = _clean_fields(workflow_field_definitions(workflow), fields)
    errors.update({f"fields.{key}": message for key, message in field_errors.items()})
    if external_ref and WorkItem.objects.filter(source=source, external_ref=external_ref).exists():
        errors["external_ref"] = DUPLICATE_EXTERNAL_REF
    if errors:
        raise ValidationError(errors)
    try:
        # The savepoint keeps the caller's transaction usable when a concurrent create with
        # the same external reference wins between the check above and this insert.
        with transaction.atomic():
            item = WorkItem.objects.create(
                workflow=workflow,
                stage=stage,
                title=title.strip(),
                requested_at=requested_at,
                external_ref=external_ref or "",
                source=source or "",
                fields={k: v for k, v in cleaned.items() if v is not None},
                priority=priority,
                due_date=due_date,
                assignee=assignee,
                created_by=by,
                stage_entered_at=min(requested_at, now),
                state_changed_at=min(requested_at, now),
            )
    except IntegrityError:
        if not external_ref:
            raise
        raise ValidationError({"external_ref": DUPLICATE_EXTERNAL_REF}) from None
    Event.objects.create(
        item=item,
        kind=Event.Kind.CREATED,
        at=min(requested_at, now),
        actor=by,
        to_stage=stage,
        payload={
            "title": item.title,
            "source": item.source,
            "external_ref": item.external_ref,
            "assignee_id": assignee.pk if assignee else None,
            "fields": item.fields,
        },
    )
    return item


@transaction.atomic
def work_item_update_fields(*, item, by, fields):
    item = _lock(item)
    _require(can_work_on(by, item), "Only the team working on this item can change it.")
    if not item.is_open:
        raise StateConflict("This item is closed.")
    cleaned, errors = _clean_fields(workflow_field_definitions(item.workflow), fields)
    if errors:
        raise ValidationError({f"fields.{key}": message for key, message in errors.items()})
    changed = {k: v for k, v in cleaned.items() if item.fields.get(k) != v}
    if not changed:
        return item
    for key, value in changed.items():
        if value is None:
            item.fields.pop(key, None)
        else:
            item.fields[key] = value
    item.save(update_fields=["fields", "updated_at"])
    Event.objects.create(
        item=item, kind=Event.Kind.FIELDS_UPDATED, actor=by, payload={"fields": changed}
    )
    return item


@transaction.atomic
def work_item_assign(*, item, by, assignee):
    item = _lock(item)
    _require(can_work_on(by, item), "Only the team working on this item can reassign it.")
    item.assignee = assignee
    item.save(update_fields=["assignee", "updated_at"])
    Event.objects.create(
        item=item,
        kind=Event.Kind.ASSIGNED,
        actor=by,
        payload={"assignee_id": assignee.pk if assignee else None},
    )
    return item


def can_edit(user, item):
    """Editing an item's details is working on it: its team, its assignee, admins."""
    return can_work_on(user, item)


EDIT_CONFLICT = (
    "Someone changed this item while you were editing it; nothing was saved. "
    "The form now shows the current details: make your change again."
)


def _due_date_problem(by, item):
    """A set due date is changed by a decision unless the editor's level for it is green;
    the edit must not be a way around the decision rights (a first date is not a change)."""
    if item.due_date is None:
        return None
    decision_type = next(
        t for t in rights.types_for(item.workflow) if t.key == rights.CHANGE_DUE_DATE
    )
    cell = rights.level_for(by, item, decision_type)
    if cell.level == DecisionLevel.GREEN:
        return None
    return (
        f"Changing the due date is a {cell.level} decision for you on this item: "
        f"record a “{decision_type.name}” decision instead."
    )


def _check_title(item, by, title):
    title = (title or "").strip()
    if not title:
        return title, "Give the work item a title."
    return title, "Keep the title under 200 characters." if len(title) > 200 else None


def _check_priority(item, by, priority):
    if priority not in WorkItem.Priority.values:
        return priority, f"Pick one of: {', '.join(WorkItem.Priority.values)}."
    return priority, None


def _check_due_date(item, by, due_date):
    if due_date == item.due_date:
        return due_date, None
    if due_date is not None and not isinstance(due_date, datetime.date):
        return due_date, "Give a date, like 2026-05-31."
    if due_date is not None and (problem := due_date_problem(due_date)):
        return due_date, problem
    return due_date, _due_date_problem(by, item)


def _check_assignee(item, by, assignee):
    if assignee is not None and assignee != item.assignee and not assignee.is_active:
        return assignee, "Pick an active user."
    return assignee, None


def _check_external_ref(item, by, ref):
    ref = (ref or "").strip()
    if ref == item.external_ref:
        return ref, None
    if item.source:
        return ref, (
            f"Items from {item.source} keep the reference their sender gave: "
            "replays and re-imports are matched on it."
        )
    if len(ref) > 120:
        return ref, "Keep the reference under 120 characters."
    return ref, DUPLICATE_EXTERNAL_REF if ref and _ref_taken(item, ref) else None


# The editable details in the order an edit's event lists them, each with its check:
# (item, editor, new value) -> (cleaned value, message or None).
_EDIT_CHECKS = {
    "title": _check_title,
    "priority": _check_priority,
    "due_date": _check_due_date,
    "assignee": _check_assignee,
    "external_ref": _check_external_ref,
}


def _check_fields(item, fields):
    """[(fields.<key>, old, new)] and {fields.<key>: message} for the protocol fields."""
    if not isinstance(fields, dict):
        return [], {"fields": "Give the fields as an object of key: value."}
    # A value sent back unchanged is not validated again: a protocol may have tightened a
    # field's rules since it was filled, and an edit of the title must not trip over that.
    submitted = {k: v for k, v in fields.items() if item.fields.get(k) != v}
    cleaned, errors = _clean_fields(workflow_field_definitions(item.workflow), submitted)
    diff = [(f"fields.{k}", item.fields.get(k), v) for k, v in cleaned.items()]
    return diff, {f"fields.{key}": message for key, message in errors.items()}


def _edit_changes(item, by, changes):
    """[(attribute, old, new)] for what differs, or a ValidationError with a message per field."""
    diff, errors = [], {}
    for attr, check in _EDIT_CHECKS.items():
        if attr in changes:
            value, errors[attr] = check(item, by, changes[attr])
            diff.append((attr, getattr(item, attr), value))
    field_diff, field_errors = _check_fields(item, changes.get("fields") or {})
    errors = {attr: message for attr, message in {**errors, **field_errors}.items() if message}
    if errors:
        raise ValidationError(errors)
    return [(attr, old, new) for attr, old, new in diff + field_diff if old != new]


def _ref_taken(item, ref):
    return (
        WorkItem.objects.filter(source=item.source, external_ref=ref).exclude(pk=item.pk).exists()
    )


def _logged(value):
    """A value as the event log keeps it (JSON): users by id, dates as ISO strings."""
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


EDITABLE = {"title", "priority", "due_date", "assignee", "external_ref", "fields"}


@transaction.atomic
def work_item_update(*, item, by, expected_updated_at=None, **changes):
    """Edits an item's details (title, priority, due_date, assignee, external_ref, and
    `fields`: {key: value}, None or "" to clear) and logs one event with old → new per field.

    `expected_updated_at` is the item's `updated_at` as the editor saw it: when the item has
    changed since (an edit, a handoff…), nothing is saved and StateConflict says so.
    """
    unknown = set(changes) - EDITABLE
    if unknown:
        raise TypeError(f"work_item_update() cannot change {', '.join(sorted(unknown))}")
    item = _lock(item)
    _require(can_edit(by, item), "Only the team working on this item can edit it.")
    if not item.is_open:
        raise StateConflict(
            f"This item is {item.get_state_display().lower()}; its details can no longer change."
        )
    if expected_updated_at is not None and item.updated_at != expected_updated_at:
        raise StateConflict(EDIT_CONFLICT)
    diff = _edit_changes(item, by, changes)
    if not diff:
        return item
    for attr, _old, new in diff:
        if attr.startswith("fields."):
            key = attr.removeprefix("fields.")
            if new is None:
                item.fields.pop(key, None)
            else:
                item.fields[key] = new
        else:
            setattr(item, attr, new)
    try:
        # The savepoint turns a concurrent claim of the same reference into a field error.
        with transaction.atomic():
            item.save(update_fields=[*{a.partition(".")[0] for a, _, _ in diff}, "updated_at"])
    except IntegrityError:
        raise ValidationError({"external_ref": DUPLICATE_EXTERNAL_REF}) from None
    payload = {
        "changes": [
            {"field": attr, "old": _logged(old), "new": _logged(new)} for attr, old, new in diff
        ],
        "fields": {a.removeprefix("fields."): n for a, _, n in diff if a.startswith("fields.")},
    }
    if any(attr == "assignee" for attr, _, _ in diff):
        payload["assignee_id"] = item.assignee_id  # what replaying the log reads
    Event.objects.create(
        item=item,
        kind=Event.Kind.DETAILS_EDITED,
        actor=by,
        from_stage=item.stage,
        payload=payload,
    )
    return item


@transaction.atomic
def work_item_comment(*, item, by, body):
    _require(by.is_authenticated and by.can_write, "Viewers cannot comment.")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > 5000:
        raise ValidationError({"body": "Keep comments under 5,000 characters."})
    comment = Comment.objects.create(item=item, author=by, body=body)
    Event.objects.create(
        item=item,
        kind=Event.Kind.COMMENTED,
        actor=by,
        payload={"comment_id": comment.pk, "body": body},
    )
    return comment


# --- The handoff gate --------------------------------------------------------------------


def gate_check(*, item, version, checklist, fields, overridden=()):
    """What the published version still misses, given what is submitted now (pure check)."""
    submitted_fields, field_errors = _clean_fields(
        {defn["key"]: defn for defn in version.fields}, fields
    )
    merged = {**item.fields, **{k: v for k, v in submitted_fields.items() if v is not None}}
    done = set(checklist or [])
    missing_checklist = [
        cid for cid in version.required_checklist_ids() if cid not in done and cid not in overridden
    ]
    missing_fields = [
        key
        for key in version.required_field_keys()
        if merged.get(key) in (None, "") and key not in field_errors
    ]
    return submitted_fields, field_errors, missing_checklist, missing_fields


HANDED_OFF_MEANWHILE = (
    "This item moved to another stage while you were handing it off (someone may have acted); "
    "nothing was changed."
)


@transaction.atomic
def handoff_submit(*, item, by, checklist=(), fields=None, note="", expected_stage_id=None):
    """`expected_stage_id` is the stage the caller saw the item in (the API and the page pass
    it): when a concurrent handoff moved the item since, the loser gets StateConflict (409),
    not the refusal that the winner's move would now give the sending team."""
    seen, item = item, _lock(item)
    moved = expected_stage_id is not None and item.stage_id != expected_stage_id
    # Only someone who could hand off the item as they saw it learns that it moved: the
    # refusal order (403 before 409) still holds for everyone else.
    if moved and can_work_on(by, seen):
        raise StateConflict(HANDED_OFF_MEANWHILE)
    _require(can_work_on(by, item), "Only the team working on this item can hand it off.")
    if item.state != WorkItem.State.IN_PROGRESS:
        raise StateConflict(
            f"This item is {item.get_state_display().lower()}; only work in progress can be "
            "handed off."
        )
    handoff = item.stage.outgoing_handoff()
    if handoff is None:
        raise StateConflict("This is the last stage: deliver the item instead.")
    version = handoff.published()
    if version is None:
        raise GateError("This handoff has no published protocol yet; a lead must publish one.")
    overridden = rights.approved_checklist_overrides(item=item, version=version)
    submitted, field_errors, missing_checklist, missing_fields = gate_check(
        item=item, version=version, checklist=checklist, fields=fields, overridden=overridden
    )
    if field_errors or missing_checklist or missing_fields:
        raise GateError(
            "The protocol for this handoff is not met yet.",
            missing_checklist=missing_checklist,
            missing_fields=missing_fields,
            field_errors=field_errors,
        )
    now = timezone.now()
    from_stage, to_stage = item.stage, handoff.to_stage
    item.fields.update({k: v for k, v in submitted.items() if v is not None})
    item.stage = to_stage
    item.stage_entered_at = now
    item.pending_version = version
    item.assignee = version.default_assignee
    _set_state(item, WorkItem.State.WAITING_ACCEPTANCE, now)
    item.save()
    Event.objects.create(
        item=item,
        kind=Event.Kind.HANDOFF_SUBMITTED,
        at=now,
        actor=by,
        from_stage=from_stage,
        to_stage=to_stage,
        protocol_version=version,
        payload={
            "checklist": sorted(set(checklist or [])),
            "fields": submitted,
            "note": note or "",
            "assignee_id": item.assignee_id,
            "overridden": sorted(overridden & set(version.required_checklist_ids())),
        },
    )
    rights.consume_checklist_overrides(item=item, version=version)
    return item


@transaction.atomic
def handoff_accept(*, item, by):
    item = _lock(item)
    if item.state != WorkItem.State.WAITING_ACCEPTANCE:
        raise StateConflict("This item is not waiting for acceptance (someone may have acted).")
    _require(can_receive(by, item), "Only the receiving team can accept this handoff.")
    now = timezone.now()
    submitted = item.events.filter(kind=Event.Kind.HANDOFF_SUBMITTED).order_by("-at", "-pk").first()
    version = item.pending_version
    item.assignee = by
    item.pending_version = None
    _set_state(item, WorkItem.State.IN_PROGRESS, now)
    item.save()
    Event.objects.create(
        item=item,
        kind=Event.Kind.HANDOFF_ACCEPTED,
        at=now,
        actor=by,
        to_stage=item.stage,
        protocol_version=version,
        payload={"wait_seconds": int((now - submitted.at).total_seconds()) if submitted else None},
    )
    return item


def _parse_owner_and_check(version_delay, owner, next_check_at, now):
    if next_check_at is not None and next_check_at <= now:
        raise ValidationError({"next_check_at": "The next check must be in the future."})
    return owner, next_check_at or now + version_delay


@transaction.atomic
def handoff_bounce(*, item, by, missing_input, owner=None, next_check_at=None, note=""):
    """The receiver bounces: work returns to the sender's stage, stopped until the input comes."""
    item = _lock(item)
    if item.state != WorkItem.State.WAITING_ACCEPTANCE:
        raise StateConflict("This item is not waiting for acceptance (someone may have acted).")
    _require(can_receive(by, item), "Only the receiving team can bounce this handoff.")
    if not (missing_input or "").strip():
        raise ValidationError({"missing_input": "Name the missing input."})
    now = timezone.now()
    version = item.pending_version
    submitted = item.events.filter(kind=Event.Kind.HANDOFF_SUBMITTED).order_by("-at", "-pk").first()
    sender = submitted.actor if submitted else None
    owner, next_check_at = _parse_owner_and_check(
        version.recovery_check_delay, owner or version.recovery_owner or sender, next_check_at, now
    )
    from_stage = item.stage
    back_to = version.handoff.from_stage
    item.stage = back_to
    item.stage_entered_at = now
    item.pending_version = None
    item.assignee = sender
    item.resume_state = WorkItem.State.IN_PROGRESS
    _set_state(item, WorkItem.State.BLOCKED, now)
    item.save()
    recovery = _open_recovery(
        item=item,
        by=by,
        now=now,
        handoff=version.handoff,
        kind=Recovery.Kind.BOUNCE,
        missing_input=missing_input,
        owner=owner,
        next_check_at=next_check_at,
        note=note,
        event_kind=Event.Kind.HANDOFF_BOUNCED,
        from_stage=from_stage,
        to_stage=back_to,
        protocol_version=version,
        assignee_id=item.assignee_id,
    )
    return item, recovery


@transaction.atomic
def item_block(*, item, by, missing_input, owner=None, next_check_at=None, note=""):
    item = _lock(item)
    _require(can_work_on(by, item), "Only the team working on this item can block it.")
    if item.state not in (WorkItem.State.IN_PROGRESS, WorkItem.State.WAITING_ACCEPTANCE):
        raise StateConflict(f"This item is {item.get_state_display().lower()} already.")
    if not (missing_input or "").strip():
        raise ValidationError({"missing_input": "Name the missing input."})
    now = timezone.now()
    handoff = item.stage.outgoing_handoff()
    version = handoff.published() if handoff else None
    delay = version.recovery_check_delay if version else datetime.timedelta(days=1)
    owner, next_check_at = _parse_owner_and_check(delay, owner or by, next_check_at, now)
    item.resume_state = item.state
    _set_state(item, WorkItem.State.BLOCKED, now)
    item.save()
    recovery = _open_recovery(
        item=item,
        by=by,
        now=now,
        handoff=handoff,
        kind=Recovery.Kind.BLOCK,
        missing_input=missing_input,
        owner=owner,
        next_check_at=next_check_at,
        note=note,
        event_kind=Event.Kind.BLOCKED,
        from_stage=item.stage,
    )
    return item, recovery


def _open_recovery(
    *,
    item,
    by,
    now,
    handoff,
    kind,
    missing_input,
    owner,
    next_check_at,
    note,
    event_kind,
    from_stage,
    to_stage=None,
    protocol_version=None,
    **extra_payload,
):
    """The recovery path's first steps: work stopped, input named, owner and next check set."""
    recovery = Recovery.objects.create(
        item=item,
        handoff=handoff,
        kind=kind,
        missing_input=missing_input.strip()[:200],
        owner=owner,
        next_check_at=next_check_at,
        opened_at=now,
        opened_by=by,
        note=note or "",
    )
    Event.objects.create(
        item=item,
        kind=event_kind,
        at=now,
        actor=by,
        from_stage=from_stage,
        to_stage=to_stage,
        protocol_version=protocol_version,
        payload={
            "recovery_id": recovery.pk,
            "missing_input": recovery.missing_input,
            "owner_id": owner.pk if owner else None,
            "next_check_at": next_check_at.isoformat(),
            "note": note or "",
            **extra_payload,
        },
    )
    return recovery


@transaction.atomic
def item_unblock(*, item, by, cause, note=""):
    """The missing input is supplied: close the recovery with its cause and resume the work."""
    item = _lock(item)
    if item.state != WorkItem.State.BLOCKED:
        raise StateConflict("This item is not blocked (someone may have unblocked it).")
    recovery = Recovery.objects.select_for_update().filter(item=item, closed_at=None).first()
    _require(can_unblock(by, item, recovery), "Only the recovery owner or the team can unblock.")
    if cause not in Cause.values:
        raise ValidationError({"cause": f"Pick a cause: {', '.join(Cause.values)}."})
    now = timezone.now()
    if recovery is not None:
        recovery.closed_at, recovery.closed_by = now, by
        recovery.cause, recovery.note = cause, (note or recovery.note)
        recovery.save()
    _set_state(item, item.resume_state or WorkItem.State.IN_PROGRESS, now)
    item.resume_state = ""
    item.save()
    Event.objects.create(
        item=item,
        kind=Event.Kind.UNBLOCKED,
        at=now,
        actor=by,
        from_stage=item.stage,
        payload={
            "recovery_id": recovery.pk if recovery else None,
            "cause": cause,
            "note": note or "",
            "blocked_seconds": int((now - recovery.opened_at).total_seconds()) if recovery else 0,
        },
    )
    return item


@transaction.atomic
def item_deliver(*, item, by):
    item = _lock(item)
    _require(can_work_on(by, item), "Only the team working on this item can deliver it.")
    if item.state != WorkItem.State.IN_PROGRESS:
        raise StateConflict(
            f"This item is {item.get_state_display().lower()}; it cannot be delivered now."
        )
    if Stage.objects.filter(workflow=item.workflow_id, position__gt=item.stage.position).exists():
        raise StateConflict("Items are delivered from the last stage; hand it off first.")
    now = timezone.now()
    item.delivered_at = now
    _set_state(item, WorkItem.State.DONE, now)
    item.save()
    Event.objects.create(
        item=item,
        kind=Event.Kind.DELIVERED,
        at=now,
        actor=by,
        from_stage=item.stage,
        payload={"cycle_seconds": int((now - item.requested_at).total_seconds())},
    )
    from scoreboard.hooks import item_delivered

    item_delivered(item)
    return item


@transaction.atomic
def item_cancel(*, item, by, reason):
    item = _lock(item)
    _require(can_cancel(by, item), "Only the team working on this item can cancel it.")
    if not item.is_open:
        raise StateConflict("This item is closed already.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the item is cancelled."})
    now = timezone.now()
    Recovery.objects.filter(item=item, closed_at=None).update(
        closed_at=now, closed_by=by, cause=Cause.PROCESS, note="Item cancelled."
    )
    # A pending red request would otherwise stay answerable and its answer would resume the
    # cancelled item; decided_by stays empty because nobody answered it.
    pending = Decision.objects.pending().filter(item=item)
    withdrawn = list(pending.values_list("pk", flat=True))
    pending.update(status=Decision.Status.DENIED, decided_at=now, comment="Item cancelled")
    item.resume_state = ""
    _set_state(item, WorkItem.State.CANCELLED, now)
    item.save()
    Event.objects.create(
        item=item,
        kind=Event.Kind.CANCELLED,
        at=now,
        actor=by,
        from_stage=item.stage,
        payload={"reason": reason.strip(), "withdrawn_decision_ids": withdrawn},
    )
    return item


# --- Decisions ---------------------------------------------------------------------------


def _clean_decision_payload(decision_type, item, payload):
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ValidationError({"payload": "The payload must be a JSON object."})
    if decision_type.key == rights.OVERRIDE_CHECKLIST:
        handoff = item.stage.outgoing_handoff()
        version = handoff.published() if handoff else None
        if version is None:
            raise ValidationError(
                {"decision_type": "This stage has no published handoff protocol to override."}
            )
        ids = payload.get("checklist")
        if not ids or not isinstance(ids, list):
            raise ValidationError({"checklist": "Pick the checklist items to override."})
        required = version.required_checklist_ids()
        unknown = [str(i) for i in ids if i not in required]
        if unknown:
            raise ValidationError(
                {
                    "checklist": f"Not a required checklist item of {handoff} "
                    f"v{version.number}: {', '.join(unknown)}."
                }
            )
        texts = {c["id"]: c.get("text", c["id"]) for c in version.checklist}
        return {
            "checklist": sorted(set(ids)),
            "checklist_text": [texts[i] for i in sorted(set(ids))],
            "protocol_version": version.pk,
        }
    if decision_type.key == rights.CHANGE_DUE_DATE:
        return _clean_due_date_change(item, payload)
    return payload


def _clean_due_date_change(item, payload):
    try:
        new_date = datetime.date.fromisoformat(str(payload.get("due_date") or ""))
    except ValueError:
        raise ValidationError({"due_date": "Give the new date, like 2026-05-31."}) from None
    if new_date < timezone.localdate():
        raise ValidationError({"due_date": "The new date cannot be in the past."})
    if problem := due_date_problem(new_date, label="The new date"):
        raise ValidationError({"due_date": problem})
    return {
        "due_date": new_date.isoformat(),
        "previous_due_date": item.due_date.isoformat() if item.due_date else None,
    }


def _put_in_force(decision, item):
    if decision.decision_type.key == rights.CHANGE_DUE_DATE:
        item.due_date = datetime.date.fromisoformat(decision.payload["due_date"])


def _decision_event(decision, kind, *, by, at, **extra):
    return Event.objects.create(
        item=decision.item,
        kind=kind,
        at=at,
        actor=by,
        from_stage=decision.item.stage,
        payload={
            "decision_id": decision.pk,
            "decision_type": decision.decision_type.key,
            "decision_type_name": decision.decision_type.name,
            "level": decision.level,
            "role": decision.role,
            "matrix_version": decision.matrix_version,
            "summary": decision.summary,
            "why": decision.why,
            "payload": decision.payload,
            **extra,
        },
    )


def _decision_email_body(decision, *, by, lead_in):
    item = decision.item
    lines = [
        lead_in,
        "",
        f"Decision type: {decision.decision_type.name}",
        f"Decided by: {by} ({decision.get_role_display().lower()})",
        f"What: {decision.summary}",
        f"Why: {decision.why or '(not given)'}",
        f"Work item: {item} — {item.workflow}, stage {item.stage.name}",
    ]
    if decision.payload.get("checklist_text"):
        lines.append("Checklist items overridden: " + "; ".join(decision.payload["checklist_text"]))
    if decision.payload.get("due_date"):
        lines.append(f"New due date: {decision.payload['due_date']}")
    return "\n".join(lines)


@transaction.atomic
def decision_record(*, item, by, decision_type, summary, why="", payload=None, at=None):
    """Green: recorded and in force. Yellow: the same, and named people are informed.
    Red: a request; the item pauses (awaiting decision) until the approver answers.
    `at` back-dates it (imports and the demo); it defaults to now."""
    item = _lock(item)
    _require(can_work_on(by, item), "Only the team working on this item records decisions on it.")
    if not item.is_open:
        raise StateConflict("This item is closed; decisions can no longer be recorded on it.")
    errors = {}
    if decision_type.workflow_id not in (None, item.workflow_id):
        errors["decision_type"] = "This decision type belongs to another workflow."
    summary, why = (summary or "").strip(), (why or "").strip()
    if not summary:
        errors["summary"] = "Say what you decided, in one line."
    elif len(summary) > 300:
        errors["summary"] = "Keep it under 300 characters; put the detail in “why”."
    if errors:
        raise ValidationError(errors)
    cleaned = _clean_decision_payload(decision_type, item, payload)
    cell = rights.level_for(by, item, decision_type)
    now = at or timezone.now()
    decision = Decision(
        item=item,
        decision_type=decision_type,
        requester=by,
        role=cell.role,
        level=cell.level,
        matrix_version=rights.matrix_version(item.workflow),
        summary=summary,
        why=why,
        payload=cleaned,
        requested_at=now,
    )
    if cell.level == DecisionLevel.RED:
        return _decision_request(decision, item, cell, by, now)
    decision.status, decision.decided_at = Decision.Status.RECORDED, now
    decision.save()
    informed = rights.people_to_inform(cell.right, item, by) if cell.level == "yellow" else []
    decision.informed.set(informed)
    _put_in_force(decision, item)
    item.save()
    _decision_event(
        decision,
        Event.Kind.DECISION_RECORDED,
        by=by,
        at=now,
        informed_ids=[p.pk for p in informed],
    )
    notifications.notify(
        informed,
        message=f"{by} decided on {item}: {summary}",
        item=item,
        url=decision.get_absolute_url(),
        subject=f"{by} decided: {summary}",
        body=_decision_email_body(
            decision, by=by, lead_in=f"{by} made a yellow decision; you are informed."
        ),
    )
    return decision


def _decision_request(decision, item, cell, by, now):
    if item.state not in (WorkItem.State.IN_PROGRESS, WorkItem.State.WAITING_ACCEPTANCE):
        raise StateConflict(
            f"This item is {item.get_state_display().lower()}; a red decision can be requested "
            "on work in progress or waiting for acceptance."
        )
    approver = rights.approver_for(cell.right, item, by)
    decision.status, decision.approver = Decision.Status.PENDING, approver
    decision.save()
    item.resume_state = item.state
    _set_state(item, WorkItem.State.AWAITING_DECISION, now)
    item.save()
    _decision_event(
        decision,
        Event.Kind.DECISION_REQUESTED,
        by=by,
        at=now,
        approver_id=approver.pk if approver else None,
    )
    notifications.notify(
        [approver],
        message=f"{by} asks you to approve on {item}: {decision.summary}",
        item=item,
        url=decision.get_absolute_url(),
        subject=f"Approval needed: {decision.summary}",
        body=_decision_email_body(
            decision,
            by=by,
            lead_in=f"{by} asks for your approval. The work item is paused until you answer.",
        ),
    )
    return decision


def _decision_answer(*, decision, by, approve, comment, at=None):
    item = _lock(decision.item)
    decision = (
        Decision.objects.select_for_update().select_related("decision_type").get(pk=decision.pk)
    )
    decision.item = item
    if decision.status != Decision.Status.PENDING:
        raise StateConflict(f"This request was {decision.get_status_display().lower()} already.")
    if item.state != WorkItem.State.AWAITING_DECISION:
        raise StateConflict(
            f"This item is {item.get_state_display().lower()}; it no longer waits for a decision."
        )
    _require(by.pk != decision.requester_id, "Nobody approves their own request.")
    _require(decision.can_answer(by), "Only the named approver or an admin answers this request.")
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": "Say why it is denied, so the requester can act on it."})
    now = at or timezone.now()
    decision.status = Decision.Status.APPROVED if approve else Decision.Status.DENIED
    decision.decided_by, decision.decided_at, decision.comment = by, now, comment
    decision.save()
    if approve:
        _put_in_force(decision, item)
    _set_state(item, item.resume_state or WorkItem.State.IN_PROGRESS, now)
    item.resume_state = ""
    item.save()
    paused = int((now - decision.requested_at).total_seconds())
    _decision_event(
        decision,
        Event.Kind.DECISION_APPROVED if approve else Event.Kind.DECISION_DENIED,
        by=by,
        at=now,
        comment=comment,
        paused_seconds=paused,
        requester_id=decision.requester_id,
    )
    verb = "approved" if approve else "denied"
    notifications.notify(
        [decision.requester],
        message=f"{by} {verb} your request on {item}: {decision.summary}",
        item=item,
        url=decision.get_absolute_url(),
        subject=f"{verb.capitalize()}: {decision.summary}",
        body=_decision_email_body(
            decision,
            by=decision.requester,
            lead_in=f"{by} {verb} your request"
            + (f": “{comment}”" if comment else ".")
            + f" The item waited {timesince(decision.requested_at, now)} and has resumed.",
        ),
    )
    return decision


@transaction.atomic
def decision_approve(*, decision, by, comment="", at=None):
    return _decision_answer(decision=decision, by=by, approve=True, comment=comment, at=at)


@transaction.atomic
def decision_deny(*, decision, by, comment, at=None):
    return _decision_answer(decision=decision, by=by, approve=False, comment=comment, at=at)
