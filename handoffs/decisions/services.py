"""Use cases that move work items: each locks the item, checks, writes the item and its event.

Every function runs in one transaction and takes the item row lock first
(SELECT … FOR UPDATE), so two people acting on one item at once serialise:
the second sees the new state and gets a StateConflict instead of a lost update.
"""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.timesince import timesince

from handoffs.decisions import links
from handoffs.decisions import rules as rights
from handoffs.decisions.models import Decision, DecisionLevel, DecisionType
from handoffs.decisions.rules import Cell
from handoffs.signals import decision_requested
from handoffs.work.models import Event, WorkItem
from handoffs.work.permissions import can_work_on
from handoffs.work.services import StateConflict, lock_item, set_state
from opshub.accounts.models import User
from opshub.lib.dates import due_date_problem
from opshub.lib.guards import require
from opshub.mail import notifications

# --- Decisions ---------------------------------------------------------------------------


def _clean_decision_payload(
    decision_type: DecisionType, item: WorkItem, payload: Any
) -> dict[str, Any]:
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


def _clean_due_date_change(item: WorkItem, payload: dict[str, Any]) -> dict[str, Any]:
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


def _put_in_force(decision: Decision, item: WorkItem) -> None:
    if decision.decision_type.key == rights.CHANGE_DUE_DATE:
        item.due_date = datetime.date.fromisoformat(decision.payload["due_date"])


def _decision_event(
    decision: Decision, kind: str, *, by: User, at: datetime.datetime, **extra: Any
) -> Event:
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


def _decision_email_body(decision: Decision, *, by: User, lead_in: str) -> str:
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
def decision_record(
    *,
    item: WorkItem,
    by: User,
    decision_type: DecisionType,
    summary: str,
    why: str = "",
    payload: Any = None,
    at: datetime.datetime | None = None,
) -> Decision:
    """Green: recorded and in force. Yellow: the same, and named people are informed.
    Red: a request; the item pauses (awaiting decision) until the approver answers.
    `at` back-dates it (imports and the demo); it defaults to now."""
    item = lock_item(item)
    require(can_work_on(by, item), "Only the team working on this item records decisions on it.")
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


def _decision_request(
    decision: Decision, item: WorkItem, cell: Cell, by: User, now: datetime.datetime
) -> Decision:
    if item.state not in (WorkItem.State.IN_PROGRESS, WorkItem.State.WAITING_ACCEPTANCE):
        raise StateConflict(
            f"This item is {item.get_state_display().lower()}; a red decision can be requested "
            "on work in progress or waiting for acceptance."
        )
    approver = rights.approver_for(cell.right, item, by)
    decision.status, decision.approver = Decision.Status.PENDING, approver
    decision.save()
    item.resume_state = item.state
    set_state(item, WorkItem.State.AWAITING_DECISION, now)
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
            lead_in=f"{by} asks for your approval. The work item is paused until you answer.\n"
            "Approve or Deny below opens a page where you confirm; the link works once, "
            f"only for you, for {links.LINK_MAX_AGE.days} days.",
        ),
        actions=lambda user: [
            ("Approve", links.answer_url(decision, user, "approve")),
            ("Deny", links.answer_url(decision, user, "deny")),
        ],
    )
    decision_requested.send(
        sender=Decision, decision=decision, team=rights.approving_team(cell.right, item)
    )
    return decision


def _decision_answer(
    *,
    decision: Decision,
    by: User,
    approve: bool,
    comment: str,
    at: datetime.datetime | None = None,
) -> Decision:
    item = lock_item(decision.item)
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
    require(by.pk != decision.requester_id, "Nobody approves their own request.")
    require(decision.can_answer(by), "Only the named approver or an admin answers this request.")
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": "Say why it is denied, so the requester can act on it."})
    now = at or timezone.now()
    decision.status = Decision.Status.APPROVED if approve else Decision.Status.DENIED
    decision.decided_by, decision.decided_at, decision.comment = by, now, comment
    decision.save()
    if approve:
        _put_in_force(decision, item)
    set_state(item, item.resume_state or WorkItem.State.IN_PROGRESS, now)
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
def decision_approve(
    *, decision: Decision, by: User, comment: str = "", at: datetime.datetime | None = None
) -> Decision:
    return _decision_answer(decision=decision, by=by, approve=True, comment=comment, at=at)


@transaction.atomic
def decision_deny(
    *, decision: Decision, by: User, comment: str, at: datetime.datetime | None = None
) -> Decision:
    return _decision_answer(decision=decision, by=by, approve=False, comment=comment, at=at)
