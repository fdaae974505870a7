"""Use cases that move work items: each locks the item, checks, writes the item and its event.

Every function runs in one transaction and takes the item row lock first
(SELECT … FOR UPDATE), so two people acting on one item at once serialise:
the second sees the new state and gets a StateConflict instead of a lost update.
"""

import datetime
from collections.abc import Collection, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from handoffs.decisions import rules as rights
from handoffs.decisions.models import Decision
from handoffs.signals import handoff_waiting, items_delivered
from handoffs.work.models import Event, Recovery, WorkItem

# --- The handoff gate --------------------------------------------------------------------
from handoffs.work.permissions import (
    can_cancel,
    can_claim,
    can_receive,
    can_unblock,
    can_undo_delivery,
    can_work_on,
)
from handoffs.work.services import (
    GateError,
    StateConflict,
    clean_fields,
    lock_item,
    set_state,
)
from handoffs.workflows.models import Cause, Handoff, ProtocolVersion, Stage
from opshub.accounts.models import User
from opshub.lib.guards import require


def gate_check(
    *,
    item: WorkItem,
    version: ProtocolVersion,
    checklist: Iterable[str] | None,
    fields: dict[str, Any] | None,
    overridden: Collection[str] = (),
) -> tuple[dict[str, Any], dict[str, str], list[str], list[str]]:
    """What the published version still misses, given what is submitted now (pure check)."""
    submitted_fields, field_errors = clean_fields(
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
def handoff_submit(
    *,
    item: WorkItem,
    by: User,
    checklist: Iterable[str] = (),
    fields: dict[str, Any] | None = None,
    note: str = "",
    expected_stage_id: int | None = None,
) -> WorkItem:
    """`expected_stage_id` is the stage the caller saw the item in (the API and the page pass
    it): when a concurrent handoff moved the item since, the loser gets StateConflict (409),
    not the refusal that the winner's move would now give the sending team."""
    seen, item = item, lock_item(item)
    moved = expected_stage_id is not None and item.stage_id != expected_stage_id
    # Only someone who could hand off the item as they saw it learns that it moved: the
    # refusal order (403 before 409) still holds for everyone else.
    if moved and can_work_on(by, seen):
        raise StateConflict(HANDED_OFF_MEANWHILE)
    require(can_work_on(by, item), "Only the team working on this item can hand it off.")
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
    set_state(item, WorkItem.State.WAITING_ACCEPTANCE, now)
    item.save()
    event = Event.objects.create(
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
    handoff_waiting.send(sender=WorkItem, item=item, event=event)
    return item


@transaction.atomic
def handoff_accept(*, item: WorkItem, by: User) -> WorkItem:
    item = lock_item(item)
    if item.state != WorkItem.State.WAITING_ACCEPTANCE:
        raise StateConflict("This item is not waiting for acceptance (someone may have acted).")
    require(can_receive(by, item), "Only the receiving team can accept this handoff.")
    now = timezone.now()
    submitted = item.events.filter(kind=Event.Kind.HANDOFF_SUBMITTED).order_by("-at", "-pk").first()
    version = item.pending_version
    item.assignee = by
    item.pending_version = None
    set_state(item, WorkItem.State.IN_PROGRESS, now)
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


def _parse_owner_and_check(
    version_delay: datetime.timedelta,
    owner: User | None,
    next_check_at: datetime.datetime | None,
    now: datetime.datetime,
) -> tuple[User | None, datetime.datetime]:
    if next_check_at is not None and next_check_at <= now:
        raise ValidationError({"next_check_at": "The next check must be in the future."})
    return owner, next_check_at or now + version_delay


@transaction.atomic
def handoff_bounce(
    *,
    item: WorkItem,
    by: User,
    missing_input: str,
    owner: User | None = None,
    next_check_at: datetime.datetime | None = None,
    note: str = "",
) -> tuple[WorkItem, Recovery]:
    """The receiver bounces: work returns to the sender's stage, stopped until the input comes."""
    item = lock_item(item)
    if item.state != WorkItem.State.WAITING_ACCEPTANCE:
        raise StateConflict("This item is not waiting for acceptance (someone may have acted).")
    require(can_receive(by, item), "Only the receiving team can bounce this handoff.")
    if not (missing_input or "").strip():
        raise ValidationError({"missing_input": "Name the missing input."})
    now = timezone.now()
    version = item.pending_version
    assert version is not None  # waiting for acceptance means a handoff is pending
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
    set_state(item, WorkItem.State.BLOCKED, now)
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
def item_block(
    *,
    item: WorkItem,
    by: User,
    missing_input: str,
    owner: User | None = None,
    next_check_at: datetime.datetime | None = None,
    note: str = "",
) -> tuple[WorkItem, Recovery]:
    item = lock_item(item)
    require(can_work_on(by, item), "Only the team working on this item can block it.")
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
    set_state(item, WorkItem.State.BLOCKED, now)
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
    item: WorkItem,
    by: User,
    now: datetime.datetime,
    handoff: Handoff | None,
    kind: str,
    missing_input: str,
    owner: User | None,
    next_check_at: datetime.datetime,
    note: str,
    event_kind: str,
    from_stage: Stage,
    to_stage: Stage | None = None,
    protocol_version: ProtocolVersion | None = None,
    **extra_payload: Any,
) -> Recovery:
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
def item_unblock(*, item: WorkItem, by: User, cause: str, note: str = "") -> WorkItem:
    """The missing input is supplied: close the recovery with its cause and resume the work."""
    item = lock_item(item)
    if item.state != WorkItem.State.BLOCKED:
        raise StateConflict("This item is not blocked (someone may have unblocked it).")
    recovery = Recovery.objects.select_for_update().filter(item=item, closed_at=None).first()
    require(can_unblock(by, item, recovery), "Only the recovery owner or the team can unblock.")
    if cause not in Cause.values:
        raise ValidationError({"cause": f"Pick a cause: {', '.join(Cause.values)}."})
    now = timezone.now()
    if recovery is not None:
        recovery.closed_at, recovery.closed_by = now, by
        recovery.cause, recovery.note = cause, (note or recovery.note)
        recovery.save()
    set_state(item, item.resume_state or WorkItem.State.IN_PROGRESS, now)
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
def item_deliver(*, item: WorkItem, by: User) -> WorkItem:
    item = lock_item(item)
    require(can_work_on(by, item), "Only the team working on this item can deliver it.")
    if item.state != WorkItem.State.IN_PROGRESS:
        raise StateConflict(
            f"This item is {item.get_state_display().lower()}; it cannot be delivered now."
        )
    if Stage.objects.filter(workflow=item.workflow_id, position__gt=item.stage.position).exists():
        raise StateConflict("Items are delivered from the last stage; hand it off first.")
    now = timezone.now()
    item.delivered_at = now
    set_state(item, WorkItem.State.DONE, now)
    item.save()
    Event.objects.create(
        item=item,
        kind=Event.Kind.DELIVERED,
        at=now,
        actor=by,
        from_stage=item.stage,
        payload={"cycle_seconds": int((now - item.requested_at).total_seconds())},
    )
    items_delivered.send(sender=WorkItem, item_ids=[item.pk])
    return item


@transaction.atomic
def item_deliver_undo(*, item: WorkItem, by: User) -> WorkItem:
    """Takes a delivery back inside its undo window: the item is in progress again in its
    last stage, and a `delivery_undone` event says so; the `delivered` event stays in the
    log. The scoreboard hears it like a delivery and drops the item's facts."""
    item = lock_item(item)
    require(can_undo_delivery(by, item), "Only the team working on this item can undo it.")
    now = timezone.now()
    if item.state != WorkItem.State.DONE:
        raise StateConflict("This item is not delivered; there is nothing to undo.")
    if not item.can_undo_delivery_now(now):
        raise StateConflict(
            "The undo window has closed: the delivery stands. Ask a lead to reopen the work "
            "as a new item if it is not done."
        )
    delivered_at = item.delivered_at
    assert delivered_at is not None  # inside its undo window, so delivered
    item.delivered_at = None
    set_state(item, WorkItem.State.IN_PROGRESS, now)
    item.save()
    Event.objects.create(
        item=item,
        kind=Event.Kind.DELIVERY_UNDONE,
        at=now,
        actor=by,
        from_stage=item.stage,
        payload={"delivered_at": delivered_at.isoformat()},
    )
    items_delivered.send(sender=WorkItem, item_ids=[item.pk])
    return item


@transaction.atomic
def item_claim(*, item: WorkItem, by: User) -> WorkItem:
    """A member of the stage's team takes an item nobody owns: one click, one event."""
    item = lock_item(item)
    require(can_claim(by, item), "Only the team owning this stage can claim it.")
    if not item.is_open:
        raise StateConflict("This item is closed; there is nothing to claim.")
    if item.assignee_id is not None:
        raise StateConflict(f"{item.assignee} owns this item already.")
    item.assignee = by
    item.save(update_fields=["assignee", "updated_at"])
    Event.objects.create(
        item=item,
        kind=Event.Kind.CLAIMED,
        actor=by,
        from_stage=item.stage,
        payload={"assignee_id": by.pk},
    )
    return item


@transaction.atomic
def item_cancel(*, item: WorkItem, by: User, reason: str) -> WorkItem:
    item = lock_item(item)
    require(can_cancel(by, item), "Only the team working on this item can cancel it.")
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
    set_state(item, WorkItem.State.CANCELLED, now)
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
