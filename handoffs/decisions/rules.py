"""Decision rights: who decides what at which level, the matrix and its change log, and the
hooks the handoff gate calls for approved checklist overrides.

Recording and answering decisions (which move work items) are services in services.py.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from handoffs.decisions.models import (
    BUILTIN_DECISION_TYPES,
    Decision,
    DecisionLevel,
    DecisionMatrixChange,
    DecisionRight,
    DecisionRole,
    DecisionType,
)
from handoffs.workflows.models import Team
from opshub.accounts.models import AuditEntry, User

OVERRIDE_CHECKLIST = "override_checklist"
CHANGE_DUE_DATE = "change_due_date"
LEVEL_CYCLE = [DecisionLevel.GREEN, DecisionLevel.YELLOW, DecisionLevel.RED]

# Statuses under which a decision is in force: green/yellow at once, red once approved.
IN_FORCE = (Decision.Status.RECORDED, Decision.Status.APPROVED)


# --- Who decides at which level --------------------------------------------------------------


def role_for(user, item):
    """Lead when the user leads the team working on the item (or is an admin)."""
    if user.is_admin or item.stage.team.lead_id == user.pk:
        return DecisionRole.LEAD
    return DecisionRole.MEMBER


@dataclass
class Cell:
    """One matrix cell: the level in force and the right row that sets it (None: the default)."""

    decision_type: DecisionType
    role: str
    team: Team | None
    level: str
    right: DecisionRight | None
    inherited: bool

    @property
    def next_level(self):
        return LEVEL_CYCLE[(LEVEL_CYCLE.index(self.level) + 1) % len(LEVEL_CYCLE)]

    @property
    def level_label(self):
        return DecisionLevel(self.level).label


def _cell(decision_type, role, team, rights):
    """rights: {(type_id, role, team_id): DecisionRight}; the team's row wins over the general."""
    own = rights.get((decision_type.pk, role, team.pk if team else None))
    if own is not None:
        return Cell(decision_type, role, team, own.level, own, False)
    general = rights.get((decision_type.pk, role, None)) if team else None
    if general is not None:
        return Cell(decision_type, role, team, general.level, general, True)
    return Cell(decision_type, role, team, decision_type.default_level, None, team is not None)


def _rights_by_cell(type_ids, *, people=True):
    """`people=False` leaves each right's people to inform unread: the record-a-decision
    form names them for its selected type only (people_to_inform reads them then)."""
    rights = DecisionRight.objects.filter(decision_type_id__in=type_ids).select_related(
        "inform_team", "approver", "approver_team", "approver_team__lead"
    )
    if people:
        rights = rights.prefetch_related("inform_users")
    return {(r.decision_type_id, r.role, r.team_id): r for r in rights}


def cell_for(decision_type, role, team):
    return _cell(decision_type, role, team, _rights_by_cell([decision_type.pk]))


def level_for(user, item, decision_type):
    """The cell that applies to this user deciding this type on this item."""
    return cell_for(decision_type, role_for(user, item), item.stage.team)


def types_for(workflow):
    """The workflow's decision types, its built-ins created first if it lacks them: read
    with one query on every item page, written only the first time (not a write per GET)."""
    types = list(DecisionType.objects.for_workflow(workflow).select_related("workflow"))
    own = {t.key for t in types if t.workflow_id == workflow.pk}
    if not set(BUILTIN_DECISION_TYPES) <= own:
        DecisionType.objects.ensure_builtins(workflow)
        types = list(DecisionType.objects.for_workflow(workflow).select_related("workflow"))
    return types


def matrix_rows(workflow, team=None):
    """[(decision_type, [lead cell, member cell])] for the matrix page."""
    types = types_for(workflow)
    rights = _rights_by_cell([t.pk for t in types])
    roles = [DecisionRole.LEAD, DecisionRole.MEMBER]
    return [(t, [_cell(t, role, team, rights) for role in roles]) for t in types]


def options_for(user, item):
    """[(decision_type, cell)] for the record-a-decision form: every type with the user's level."""
    types = types_for(item.workflow)
    rights = _rights_by_cell([t.pk for t in types], people=False)
    role = role_for(user, item)
    return [(t, _cell(t, role, item.stage.team, rights)) for t in types]


def people_to_inform(right, item, requester):
    people = []
    if right is not None:
        people += list(right.inform_users.all())
        if right.inform_team_id:
            team = right.inform_team
            people += list(team.members.all()) + ([team.lead] if team.lead_id else [])
    if not people and item.stage.team.lead_id:
        people = [item.stage.team.lead]
    seen, result = set(), []
    for person in people:
        if person.pk != requester.pk and person.pk not in seen and person.is_active:
            seen.add(person.pk)
            result.append(person)
    return result


def approver_for(right, item, requester):
    """The named approver, else the approver team's lead, else the lead of the working team;
    never the requester (nobody approves their own request): then an admin."""
    candidates = []
    if right is not None:
        candidates += [right.approver, right.approver_team.lead if right.approver_team_id else None]
    candidates.append(item.stage.team.lead)
    for person in candidates:
        if person is not None and person.pk != requester.pk and person.is_active:
            return person
    return (
        User.objects.filter(role=User.Role.ADMIN, is_active=True)
        .exclude(pk=requester.pk)
        .order_by("pk")
        .first()
    )


def approving_team(right, item):
    """The team whose channels hear of a red request: the right's approver team, else the
    team working on the item (whose lead approves when nobody else is named)."""
    if right is not None and right.approver_team_id:
        return right.approver_team
    return item.stage.team


# --- The matrix and its change log -----------------------------------------------------------


def matrix_version(workflow):
    last = (
        DecisionMatrixChange.objects.filter(workflow=workflow)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return last or 0


def _log_change(*, decision_type, by, summary, before, after):
    workflow_id = decision_type.workflow_id
    # Serialises version numbers per scope; the unique constraint backs it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [5_001, workflow_id or 0])
    number = (
        DecisionMatrixChange.objects.filter(workflow_id=workflow_id)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        or 0
    ) + 1
    change = DecisionMatrixChange.objects.create(
        workflow_id=workflow_id,
        number=number,
        decision_type=decision_type,
        type_name=decision_type.name,
        summary=summary[:300],
        before=before,
        after=after,
        changed_by=by,
    )
    # The matrix keeps its own versioned log; the audit trail is the one place that lists
    # every rule change (protocols, rights, users, sources) for an admin.
    AuditEntry.objects.record(
        actor=by,
        action=AuditEntry.Action.UPDATE,
        obj=decision_type,
        summary=f"Decision rights v{number}: {summary}",
        before=before,
        after=after,
    )
    return change


def _require_edit(decision_type, user):
    if not decision_type.can_edit(user):
        raise PermissionDenied(
            "Only admins change organisation-wide decision types."
            if decision_type.is_org_wide
            else "Only leads of this workflow's teams and admins change its decision rights."
        )


@transaction.atomic
def matrix_set_right(
    *,
    decision_type,
    role,
    team,
    by,
    level,
    inform_users=None,
    inform_team=None,
    approver=None,
    approver_team=None,
):
    """Sets one cell (level and routing); None for the routing lists keeps what is there."""
    _require_edit(decision_type, by)
    if role not in DecisionRole.values:
        raise ValidationError({"role": "Pick lead or member."})
    if level not in DecisionLevel.values:
        raise ValidationError({"level": "Pick green, yellow or red."})
    _lock_type(decision_type)
    right = (
        DecisionRight.objects.select_for_update()
        .filter(decision_type=decision_type, role=role, team=team)
        .first()
    )
    before = right.as_dict() if right else {"level": decision_type.default_level}
    if right is None:
        right = DecisionRight(decision_type=decision_type, role=role, team=team)
    right.level = level
    if inform_users is not None:
        right.inform_team, right.approver, right.approver_team = (
            inform_team,
            approver,
            approver_team,
        )
    right.updated_by, right.updated_at = by, timezone.now()
    right.save()
    if inform_users is not None:
        right.inform_users.set(inform_users)
    after = right.as_dict()
    if after != before:
        scope = f" in {team.name}" if team else ""
        _log_change(
            decision_type=decision_type,
            by=by,
            summary=(
                f"{decision_type.name}: {DecisionRole(role).label.lower()}s{scope} "
                f"{before['level']} → {level}"
                if before["level"] != level
                else f"{decision_type.name}: who is informed or approves changed for "
                f"{DecisionRole(role).label.lower()}s{scope}"
            ),
            before=before,
            after=after,
        )
    return right


def _lock_type(decision_type):
    """Serialises changes to one type's cells: a cell with no row yet has nothing to lock, so
    two first clicks would both insert (IntegrityError) or both read the default level."""
    DecisionType.objects.select_for_update().filter(pk=decision_type.pk).first()


@transaction.atomic
def matrix_cycle_level(*, decision_type, role, team, by):
    """The matrix cell's toggle: green → yellow → red → green."""
    _require_edit(decision_type, by)
    _lock_type(decision_type)
    cell = cell_for(decision_type, role, team)
    return matrix_set_right(
        decision_type=decision_type, role=role, team=team, by=by, level=cell.next_level
    )


@transaction.atomic
def decision_type_save(*, decision_type, by):
    """Creates or edits a type (name, what good looks like, default level) with a log entry."""
    _require_edit(decision_type, by)
    before = {}
    if decision_type.pk:
        old = DecisionType.objects.select_for_update().get(pk=decision_type.pk)
        before = {
            "name": old.name,
            "good_looks_like": old.good_looks_like,
            "default_level": old.default_level,
        }
    elif not decision_type.key:
        decision_type.key = _free_key(decision_type)
    decision_type.save()
    after = {
        "name": decision_type.name,
        "good_looks_like": decision_type.good_looks_like,
        "default_level": decision_type.default_level,
    }
    if after != before:
        _log_change(
            decision_type=decision_type,
            by=by,
            summary=f"{'Edited' if before else 'Added'} “{decision_type.name}”",
            before=before,
            after=after,
        )
    return decision_type


def _free_key(decision_type):
    from django.utils.text import slugify

    base = slugify(decision_type.name)[:50] or "decision"
    key, n = base, 1
    taken = set(
        DecisionType.objects.filter(workflow=decision_type.workflow).values_list("key", flat=True)
    )
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key


# --- Hooks for the handoff gate ---------------------------------------------------------------


def _overrides(item, version):
    return Decision.objects.filter(
        item=item,
        decision_type__key=OVERRIDE_CHECKLIST,
        status__in=IN_FORCE,
        consumed_at=None,
        payload__protocol_version=version.pk,
    )


def approved_checklist_overrides(*, item, version):
    """Checklist item ids that an approved, unused red override decision lets through."""
    ids = set()
    for payload in _overrides(item, version).values_list("payload", flat=True):
        ids.update(payload.get("checklist", []))
    return ids


def consume_checklist_overrides(*, item, version):
    """Marks the approved overrides as used by this handoff, so they let only one through."""
    _overrides(item, version).update(consumed_at=timezone.now())
