"""Mapping workflows and writing their handoff protocols: the lead's editing use cases.

Kept apart from services.py (the work-item lifecycle) because these change the rules,
not the work. Each function checks permission itself, so views and the API share it.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from handoffs.work.models import Event
from handoffs.workflows.models import Handoff, ProtocolVersion, Stage, Team, Workflow
from opshub.accounts.models import AuditEntry, User
from opshub.lib.durations import format_duration

DEFAULT_READY_ANSWER = (
    "Every required checklist item is ticked and every required field is filled in the handoff."
)
DEFAULT_MISSING_ANSWER = (
    "The receiver bounces it, naming the missing input; the work stops, the input gets an "
    "owner and a next check time, and the cause is recorded when it is resolved."
)


def _require_editor(workflow: Workflow, user: User) -> None:
    if not workflow.can_edit(user):
        raise PermissionDenied("Only leads of the teams in this workflow and admins can change it.")


# --- Loading a workflow's structure in a fixed number of queries ------------------------------


def with_structure(queryset: QuerySet[Workflow]) -> QuerySet[Workflow]:
    """Workflows with stages, teams, handoffs and their published versions prefetched."""
    published = ProtocolVersion.objects.filter(status=ProtocolVersion.Status.PUBLISHED)
    return queryset.prefetch_related(
        Prefetch("stages", queryset=Stage.objects.select_related("team").order_by("position")),
        Prefetch(
            "handoffs",
            queryset=Handoff.objects.select_related("from_stage").prefetch_related(
                Prefetch(
                    "versions",
                    queryset=published.order_by("-number"),
                    to_attr="published_versions",
                )
            ),
        ),
    )


def link_stages(workflow: Workflow) -> list[Handoff]:
    """Sets each prefetched handoff's next stage and current version from prefetched rows.

    Returns the handoffs that lead somewhere, in stage order (the last stage's leftover
    handoff, kept for its published history, is left out).
    """
    stages = list(workflow.stages.all())
    by_id = {stage.pk: stage for stage in stages}
    following = {a.pk: b for a, b in zip(stages, stages[1:], strict=False)}
    linked: list[Handoff] = []
    for handoff in workflow.handoffs.all():
        handoff.from_stage = by_id.get(handoff.from_stage_id, handoff.from_stage)
        handoff._to_stage = following.get(handoff.from_stage_id)
        versions = getattr(handoff, "published_versions", None)
        if versions is not None:
            handoff.current = versions[0] if versions else None
        if handoff._to_stage is not None:
            linked.append(handoff)
    return sorted(linked, key=lambda h: h.from_stage.position)


# --- Workflows and stages ----------------------------------------------------------------


def workflow_create(
    *, by: User, name: str, description: str = "", is_sandbox: bool = False
) -> Workflow:
    if not (by.is_authenticated and by.can_create_workflows):
        raise PermissionDenied("Only leads and admins can create workflows.")
    return Workflow.objects.create(
        name=name, description=description, is_sandbox=is_sandbox, created_by=by
    )


def workflow_update(*, workflow: Workflow, by: User, **attrs: Any) -> Workflow:
    _require_editor(workflow, by)
    for name, value in attrs.items():
        setattr(workflow, name, value)
    workflow.save()
    return workflow


def workflow_removal_problems(workflow: Workflow) -> list[str]:
    problems = []
    if workflow.items.exists():
        problems.append("It has work items; cancel or deliver them and keep it for the record.")
    if ProtocolVersion.objects.filter(
        handoff__workflow=workflow, status=ProtocolVersion.Status.PUBLISHED
    ).exists():
        problems.append("It has published protocols, which are kept for the record.")
    return problems


@transaction.atomic
def workflow_delete(*, workflow: Workflow, by: User) -> None:
    _require_editor(workflow, by)
    problems = workflow_removal_problems(workflow)
    if problems:
        raise ValidationError([f"“{workflow.name}” cannot be deleted. {p}" for p in problems])
    workflow.delete()


def sync_handoffs(workflow: Workflow) -> None:
    """One handoff out of every stage but the last. A handoff left without a next stage is
    deleted unless it has published versions (immutable history that events point at)."""
    stages = list(workflow.stages.order_by("position"))
    existing = {h.from_stage_id: h for h in workflow.handoffs.all()}
    for stage in stages[:-1]:
        if stage.pk not in existing:
            Handoff.objects.create(workflow=workflow, from_stage=stage)
    if stages:
        leftover = existing.get(stages[-1].pk)
        if leftover and not leftover.versions.filter(status="published").exists():
            leftover.delete()


@transaction.atomic
def stage_add(
    *,
    workflow: Workflow,
    by: User,
    name: str,
    team: Team,
    kind: str = Stage.Kind.ACTIVE,
    target: datetime.timedelta | None = None,
) -> Stage:
    _require_editor(workflow, by)
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    last = workflow.stages.aggregate(last=Max("position"))["last"] or 0
    stage = Stage.objects.create(
        workflow=workflow, name=name, team=team, kind=kind, target=target, position=last + 1
    )
    sync_handoffs(workflow)
    return stage


def stage_update(*, stage: Stage, by: User, **attrs: Any) -> Stage:
    _require_editor(stage.workflow, by)
    for name, value in attrs.items():
        setattr(stage, name, value)
    stage.save()
    return stage


@transaction.atomic
def stage_move(*, stage: Stage, by: User, offset: int) -> Stage:
    """Swaps the stage with its neighbour (offset -1: earlier, +1: later)."""
    workflow = stage.workflow
    _require_editor(workflow, by)
    stages = list(workflow.stages.select_for_update().order_by("position"))
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    other = index + offset
    if not 0 <= other < len(stages):
        return stage
    a, b = stages[index], stages[other]
    # The position constraint is deferred, so the swap is checked at commit.
    a.position, b.position = b.position, a.position
    Stage.objects.bulk_update([a, b], ["position"])
    sync_handoffs(workflow)
    return a


def stage_removal_problems(stage: Stage) -> list[str]:
    problems = []
    items = stage.items.count()
    if items:
        problems.append(
            f"{items} work item{'s are' if items != 1 else ' is'} in “{stage.name}” "
            "(finished ones count: their history points at it). Move or keep the stage."
        )
    elif (
        Event.objects.filter(from_stage=stage).exists()
        or Event.objects.filter(to_stage=stage).exists()
    ):
        problems.append(f"Work items passed through “{stage.name}”; their history points at it.")
    if ProtocolVersion.objects.filter(
        handoff__from_stage=stage, status=ProtocolVersion.Status.PUBLISHED
    ).exists():
        problems.append(
            f"The handoff out of “{stage.name}” has a published protocol, which is kept "
            "for the record. Rename the stage or give it another team instead."
        )
    return problems


@transaction.atomic
def stage_remove(*, stage: Stage, by: User) -> None:
    workflow = stage.workflow
    _require_editor(workflow, by)
    problems = stage_removal_problems(stage)
    if problems:
        raise ValidationError([f"“{stage.name}” cannot be removed. {p}" for p in problems])
    stage.delete()
    remaining = list(workflow.stages.order_by("position"))
    for position, each in enumerate(remaining, start=1):
        each.position = position
    Stage.objects.bulk_update(remaining, ["position"])
    sync_handoffs(workflow)


# --- Protocol versions -----------------------------------------------------------------------

COPIED = [
    "checklist",
    "fields",
    "receiving_team_id",
    "default_assignee_id",
    "acceptance_target",
    "escalation_delay",
    "recovery_owner_id",
    "recovery_check_delay",
    "ready_answer",
    "missing_answer",
]


def _require_draft(version: ProtocolVersion) -> None:
    if version.is_published:
        raise ValidationError("Published versions cannot change; edit a new draft instead.")


class DraftPublished(ValidationError):
    """The draft being edited was published (or discarded) by someone else meanwhile."""

    def __init__(self) -> None:
        super().__init__("This version was published meanwhile; edit the new draft.")


def _locked_draft(version: ProtocolVersion, by: User) -> ProtocolVersion:
    """The draft as it is now, locked: edits apply to its current lists, never a stale copy,
    and an edit racing a publish gets a clear error instead of the immutability trigger."""
    _require_editor(version.handoff.workflow, by)
    _require_draft(version)
    fresh = ProtocolVersion.objects.select_for_update().filter(pk=version.pk).first()
    if fresh is None or fresh.is_published:
        raise DraftPublished
    return fresh


@transaction.atomic
def protocol_draft(*, handoff: Handoff, by: User) -> ProtocolVersion:
    """The handoff's draft, created as a copy of the published version when there is none."""
    _require_editor(handoff.workflow, by)
    Handoff.objects.select_for_update().filter(pk=handoff.pk).first()
    draft = handoff.draft()
    if draft:
        return draft
    published = handoff.published()
    number = (handoff.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = ProtocolVersion(handoff=handoff, number=number, created_by=by)
    if published:
        for attr in COPIED:
            setattr(draft, attr, getattr(published, attr))
    else:
        draft.ready_answer, draft.missing_answer = DEFAULT_READY_ANSWER, DEFAULT_MISSING_ANSWER
    draft.save()
    return draft


@transaction.atomic
def protocol_save(*, version: ProtocolVersion, by: User, **attrs: Any) -> ProtocolVersion:
    """Sets the named attributes of the draft; `version` gets them too, for the caller."""
    fresh = _locked_draft(version, by)
    for name, value in attrs.items():
        setattr(fresh, name, value)
        setattr(version, name, value)
    fresh.updated_at = version.updated_at = timezone.now()
    fresh.save(update_fields=[*attrs, "updated_at"])
    return version


@transaction.atomic
def protocol_publish(*, version: ProtocolVersion, by: User) -> ProtocolVersion:
    _require_editor(version.handoff.workflow, by)
    version = ProtocolVersion.objects.select_for_update().get(pk=version.pk)
    _require_draft(version)
    problems = version.publish_problems()
    if problems:
        raise ValidationError(problems)
    previous = version.handoff.published()
    version.status = ProtocolVersion.Status.PUBLISHED
    version.published_by = by
    version.published_at = timezone.now()
    version.save()
    workflow = version.handoff.workflow
    AuditEntry.objects.record(
        actor=by,
        action=AuditEntry.Action.PUBLISH,
        obj=version,
        summary=f"Published protocol v{version.number} of {workflow.name}: {version.handoff}",
        before=_audited_protocol(previous) if previous else None,
        after=_audited_protocol(version),
    )
    return version


def _audited_protocol(version: ProtocolVersion) -> dict[str, Any]:
    return {"number": version.number, "checklist": version.checklist, "fields": version.fields}


@transaction.atomic
def protocol_discard(*, version: ProtocolVersion, by: User) -> None:
    _locked_draft(version, by).delete()


def new_checklist_id(text: str, taken: Iterable[str]) -> str:
    base = slugify(text).replace("-", "_")[:30].strip("_") or "item"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    return ident


@transaction.atomic
def checklist_save(
    *,
    version: ProtocolVersion,
    by: User,
    item_id: str | None = None,
    text: str,
    help: str = "",
    required: bool = True,
) -> ProtocolVersion:
    """Adds an item (item_id None) or replaces one; ids stay stable so diffs can follow them."""
    checklist = [dict(item) for item in _locked_draft(version, by).checklist]
    if item_id is None:
        item_id = new_checklist_id(text, {item["id"] for item in checklist})
        checklist.append({"id": item_id})
    entry = next((item for item in checklist if item["id"] == item_id), None)
    if entry is None:
        raise ValidationError("That checklist item was removed meanwhile.")
    entry.update(text=text, help=help, required=required)
    return protocol_save(version=version, by=by, checklist=checklist)


@transaction.atomic
def field_save(
    *,
    version: ProtocolVersion,
    by: User,
    old_key: str | None = None,
    definition: dict[str, Any],
) -> ProtocolVersion:
    fields = [dict(f) for f in _locked_draft(version, by).fields]
    if old_key is None:
        fields.append(definition)
    else:
        fields = [definition if f["key"] == old_key else f for f in fields]
    return protocol_save(version=version, by=by, fields=fields)


@transaction.atomic
def entry_remove(*, version: ProtocolVersion, by: User, attr: str, ident: str) -> ProtocolVersion:
    key = "id" if attr == "checklist" else "key"
    entries = [e for e in getattr(_locked_draft(version, by), attr) if e[key] != ident]
    return protocol_save(version=version, by=by, **{attr: entries})


@transaction.atomic
def entry_move(
    *, version: ProtocolVersion, by: User, attr: str, ident: str, offset: int
) -> ProtocolVersion:
    key = "id" if attr == "checklist" else "key"
    entries = list(getattr(_locked_draft(version, by), attr))
    index = next((i for i, e in enumerate(entries) if e[key] == ident), None)
    if index is None or not 0 <= index + offset < len(entries):
        return version
    entries[index], entries[index + offset] = entries[index + offset], entries[index]
    return protocol_save(version=version, by=by, **{attr: entries})


# --- What changed between two versions ----------------------------------------------------------


@dataclass
class Change:
    section: str  # "Checklist", "Required information", "Settings"
    kind: str  # "added", "removed", "changed"
    subject: str
    before: str = ""
    after: str = ""


_FIELD_ATTRS = ["label", "type", "required", "help", "choices", "min", "max", "max_length"]
_SETTINGS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("receiving_team", "Receiving team", str),
    ("default_assignee", "Default assignee", str),
    ("acceptance_target", "Acceptance target", format_duration),
    ("escalation_delay", "Escalation after", format_duration),
    ("recovery_owner", "Recovery owner", str),
    ("recovery_check_delay", "Next check after", format_duration),
    ("ready_answer", "How the receiver knows it is ready", str),
    ("missing_answer", "What happens if something is missing", str),
]


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _diff_entries(
    section: str,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    key: str,
    attrs: list[str],
    name: str,
) -> list[Change]:
    changes = []
    old_by, new_by = {e[key]: e for e in old}, {e[key]: e for e in new}
    for ident, entry in new_by.items():
        if ident not in old_by:
            changes.append(Change(section, "added", entry.get(name) or ident))
            continue
        for attr in attrs:
            before, after = old_by[ident].get(attr), entry.get(attr)
            if _show(before) != _show(after):
                subject = f"{entry.get(name) or ident}: {attr.replace('_', ' ')}"
                changes.append(Change(section, "changed", subject, _show(before), _show(after)))
    for ident, entry in old_by.items():
        if ident not in new_by:
            changes.append(Change(section, "removed", entry.get(name) or ident))
    return changes


def protocol_diff(old: ProtocolVersion, new: ProtocolVersion) -> list[Change]:
    """What a reader must know changed from `old` to `new`, in plain words."""
    changes = _diff_entries(
        "Checklist", old.checklist, new.checklist, "id", ["text", "help", "required"], "text"
    )
    changes += _diff_entries(
        "Required information", old.fields, new.fields, "key", _FIELD_ATTRS + ["pattern"], "label"
    )
    for attr, label, show in _SETTINGS:
        before, after = getattr(old, attr), getattr(new, attr)
        if before != after:
            changes.append(
                Change(
                    "Settings",
                    "changed",
                    label,
                    show(before) if before else "—",
                    show(after) if after else "—",
                )
            )
    return changes
