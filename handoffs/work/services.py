"""Use cases that move work items: each locks the item, checks, writes the item and its event.

Every function runs in one transaction and takes the item row lock first
(SELECT … FOR UPDATE), so two people acting on one item at once serialise:
the second sees the new state and gets a StateConflict instead of a lost update.
"""

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from handoffs.decisions import rules as rights
from handoffs.decisions.models import DecisionLevel
from handoffs.work.models import Comment, Event, WorkItem
from handoffs.work.permissions import can_edit, can_work_on
from handoffs.workflows.fields import clean_value, printable
from handoffs.workflows.models import ProtocolVersion, Stage, Workflow
from opshub.accounts.models import User
from opshub.lib.dates import due_date_problem, requested_at_problem
from opshub.lib.guards import require


class StateConflict(Exception):
    """The item is not in a state that allows the action (often: someone else acted first)."""


class GateError(Exception):
    """A handoff is missing what its published protocol requires. Nothing was changed."""

    def __init__(
        self,
        message: str,
        *,
        missing_checklist: Iterable[str] = (),
        missing_fields: Iterable[str] = (),
        field_errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.missing_checklist = list(missing_checklist)
        self.missing_fields = list(missing_fields)
        self.field_errors = field_errors or {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "detail": self.message,
            "missing_checklist": self.missing_checklist,
            "missing_fields": self.missing_fields,
            "field_errors": self.field_errors,
        }


def lock_item(item: WorkItem) -> WorkItem:
    # Lock the bare row first. Locking it inside the joined query is wrong: a second caller
    # that waited for the lock has PostgreSQL re-check the updated row against the joins,
    # and an outer join to a pending_version just set to NULL drops the row (DoesNotExist
    # instead of StateConflict). Once the lock is held, a fresh read sees the winner's state.
    WorkItem.objects.select_for_update().filter(pk=item.pk).values_list("pk").get()
    return WorkItem.objects.select_related(
        "stage", "stage__team", "workflow", "pending_version"
    ).get(pk=item.pk)


def set_state(item: WorkItem, state: str, now: datetime.datetime) -> None:
    if item.state != state:
        item.state = state
        item.state_changed_at = now


def workflow_field_definitions(
    workflow: Workflow, published: list[ProtocolVersion] | None = None
) -> dict[str, dict[str, Any]]:
    """Every field any published protocol of the workflow asks for, keyed by field key.
    `published`: Workflow.published_versions(), when the caller has read them."""
    definitions: dict[str, dict[str, Any]] = {}
    if published is None:
        # Only the fields column: the versions' checklists and texts are not needed here.
        versions = ProtocolVersion.objects.filter(
            handoff__workflow=workflow, status=ProtocolVersion.Status.PUBLISHED
        ).order_by("number")
        all_fields = list(versions.values_list("fields", flat=True))
    else:
        all_fields = [version.fields for version in published]
    for fields in all_fields:
        for defn in fields:
            definitions[defn["key"]] = defn
    return definitions


def clean_fields(
    definitions: dict[str, dict[str, Any]], submitted: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
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
# One changed detail: (attribute, old value, new value).
type Change = tuple[str, Any, Any]


def _date_errors(
    *, requested_at: datetime.datetime, due_date: datetime.date | None, now: datetime.datetime
) -> dict[str, str]:
    """Per-field messages for dates outside the range every entry point shares."""
    errors = {"requested_at": requested_at_problem(requested_at, now=now)}
    if due_date is not None:
        errors["due_date"] = due_date_problem(due_date)
    return {name: message for name, message in errors.items() if message}


@transaction.atomic
def work_item_create(
    *,
    workflow: Workflow,
    title: str,
    by: User | None,
    requested_at: datetime.datetime | None = None,
    external_ref: str = "",
    source: str = "",
    fields: dict[str, Any] | None = None,
    priority: str = WorkItem.Priority.NORMAL,
    due_date: datetime.date | None = None,
    assignee: User | None = None,
    stage: Stage | None = None,
) -> WorkItem:
    if by is not None and not by.can_write:
        raise PermissionDenied("Viewers cannot create work items.")
    errors: dict[str, str] = {}
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
    cleaned, field_errors = clean_fields(workflow_field_definitions(workflow), fields)
    errors.update({f"fields.{key}": message for key, message in field_errors.items()})
    if external_ref and WorkItem.objects.filter(source=source, external_ref=external_ref).exists():
        errors["external_ref"] = DUPLICATE_EXTERNAL_REF
    if errors:
        raise ValidationError(errors)
    assert stage is not None  # refused above with the workflow's error
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
def work_item_update_fields(*, item: WorkItem, by: User, fields: dict[str, Any]) -> WorkItem:
    item = lock_item(item)
    require(can_work_on(by, item), "Only the team working on this item can change it.")
    if not item.is_open:
        raise StateConflict("This item is closed.")
    cleaned, errors = clean_fields(workflow_field_definitions(item.workflow), fields)
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
def work_item_assign(*, item: WorkItem, by: User, assignee: User | None) -> WorkItem:
    item = lock_item(item)
    require(can_work_on(by, item), "Only the team working on this item can reassign it.")
    item.assignee = assignee
    item.save(update_fields=["assignee", "updated_at"])
    Event.objects.create(
        item=item,
        kind=Event.Kind.ASSIGNED,
        actor=by,
        payload={"assignee_id": assignee.pk if assignee else None},
    )
    return item


EDIT_CONFLICT = (
    "Someone changed this item while you were editing it; nothing was saved. "
    "The form now shows the current details: make your change again."
)


def _due_date_problem(by: User, item: WorkItem) -> str | None:
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


def _check_title(item: WorkItem, by: User, title: str | None) -> tuple[str, str | None]:
    title = (title or "").strip()
    if not title:
        return title, "Give the work item a title."
    return title, "Keep the title under 200 characters." if len(title) > 200 else None


def _check_priority(item: WorkItem, by: User, priority: str) -> tuple[str, str | None]:
    if priority not in WorkItem.Priority.values:
        return priority, f"Pick one of: {', '.join(WorkItem.Priority.values)}."
    return priority, None


def _check_due_date(item: WorkItem, by: User, due_date: Any) -> tuple[Any, str | None]:
    if due_date == item.due_date:
        return due_date, None
    if due_date is not None and not isinstance(due_date, datetime.date):
        return due_date, "Give a date, like 2026-05-31."
    if due_date is not None and (problem := due_date_problem(due_date)):
        return due_date, problem
    return due_date, _due_date_problem(by, item)


def _check_assignee(
    item: WorkItem, by: User, assignee: User | None
) -> tuple[User | None, str | None]:
    if assignee is not None and assignee != item.assignee and not assignee.is_active:
        return assignee, "Pick an active user."
    return assignee, None


def _check_external_ref(item: WorkItem, by: User, ref: str | None) -> tuple[str, str | None]:
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
_EDIT_CHECKS: dict[str, Callable[[WorkItem, User, Any], tuple[Any, str | None]]] = {
    "title": _check_title,
    "priority": _check_priority,
    "due_date": _check_due_date,
    "assignee": _check_assignee,
    "external_ref": _check_external_ref,
}


def _check_fields(item: WorkItem, fields: Any) -> tuple[list[Change], dict[str, str]]:
    """[(fields.<key>, old, new)] and {fields.<key>: message} for the protocol fields."""
    if not isinstance(fields, dict):
        return [], {"fields": "Give the fields as an object of key: value."}
    # A value sent back unchanged is not validated again: a protocol may have tightened a
    # field's rules since it was filled, and an edit of the title must not trip over that.
    submitted = {k: v for k, v in fields.items() if item.fields.get(k) != v}
    cleaned, errors = clean_fields(workflow_field_definitions(item.workflow), submitted)
    diff = [(f"fields.{k}", item.fields.get(k), v) for k, v in cleaned.items()]
    return diff, {f"fields.{key}": message for key, message in errors.items()}


def _edit_changes(item: WorkItem, by: User, changes: dict[str, Any]) -> list[Change]:
    """[(attribute, old, new)] for what differs, or a ValidationError with a message per field."""
    diff: list[Change] = []
    errors: dict[str, str | None] = {}
    for attr, check in _EDIT_CHECKS.items():
        if attr in changes:
            value, errors[attr] = check(item, by, changes[attr])
            diff.append((attr, getattr(item, attr), value))
    field_diff, field_errors = _check_fields(item, changes.get("fields") or {})
    errors = {attr: message for attr, message in {**errors, **field_errors}.items() if message}
    if errors:
        raise ValidationError(errors)
    return [(attr, old, new) for attr, old, new in diff + field_diff if old != new]


def _ref_taken(item: WorkItem, ref: str) -> bool:
    return (
        WorkItem.objects.filter(source=item.source, external_ref=ref).exclude(pk=item.pk).exists()
    )


def _logged(value: Any) -> Any:
    """A value as the event log keeps it (JSON): users by id, dates as ISO strings."""
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


EDITABLE = {"title", "priority", "due_date", "assignee", "external_ref", "fields"}


@transaction.atomic
def work_item_update(
    *,
    item: WorkItem,
    by: User,
    expected_updated_at: datetime.datetime | None = None,
    **changes: Any,
) -> WorkItem:
    """Edits an item's details (title, priority, due_date, assignee, external_ref, and
    `fields`: {key: value}, None or "" to clear) and logs one event with old → new per field.

    `expected_updated_at` is the item's `updated_at` as the editor saw it: when the item has
    changed since (an edit, a handoff…), nothing is saved and StateConflict says so.
    """
    unknown = set(changes) - EDITABLE
    if unknown:
        raise TypeError(f"work_item_update() cannot change {', '.join(sorted(unknown))}")
    item = lock_item(item)
    require(can_edit(by, item), "Only the team working on this item can edit it.")
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
    payload: dict[str, Any] = {
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
def work_item_comment(*, item: WorkItem, by: User, body: str | None) -> Comment:
    require(by.is_authenticated and by.can_write, "Viewers cannot comment.")
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
