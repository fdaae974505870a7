"""Breakage review use cases: logging breakages, the self-building agenda, action items, closing.

The agenda is computed, never stored: only the facilitator's verdict on each entry
(AgendaEntry) and the action items are rows. That way a breakage logged from a laptop
during the meeting shows up on the projector at the next poll.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, Greatest
from django.template.defaultfilters import pluralize
from django.utils import timezone

from handoffs.models import (
    EmailDelivery,
    Handoff,
    Recovery,
    Stage,
    Workflow,
    WorkItem,
    led_team_ids_of,
)
from opshub.accounts.models import User
from opshub.lib.aggregates import PercentileCont
from opshub.lib.guards import require
from opshub.lib.ids import parse_id
from opshub.mail import outbox
from reviews.models import (
    REPEAT_CHECK_DELAY,
    REPEAT_WINDOW,
    ActionItem,
    AgendaEntry,
    Breakage,
    ProjectorLink,
    Review,
    week_bounds,
    week_of,
)

SLOW_BASELINE = datetime.timedelta(days=90)
# Below this many deliveries a workflow's 95th percentile is noise, not a signal.
SLOW_MIN_DELIVERIES = 5
DAY_SECONDS = 86400


class Epoch(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


def cycle_seconds() -> Epoch:
    return Epoch(
        ExpressionWrapper(F("delivered_at") - F("requested_at"), output_field=DurationField())
    )


def stall_model() -> Any:
    """handoffs.StallEpisode once the stalls work is installed; None before that."""
    try:
        return apps.get_model("handoffs", "StallEpisode")
    except LookupError:
        return None


# --- Permissions ---------------------------------------------------------------------------


def can_log_breakage(user: Any) -> bool:
    return user.is_authenticated and user.can_write


def can_facilitate(user: Any, review: Review | None = None) -> bool:
    """Admins, the review's facilitator, and leads of a team that owns a measured stage."""
    if not (user.is_authenticated and user.can_write):
        return False
    if user.is_admin or (review is not None and review.facilitator_id == user.pk):
        return True
    led = led_team_ids_of(user)
    return bool(led) and Stage.objects.filter(workflow__is_sandbox=False, team__in=led).exists()


# --- Breakages -----------------------------------------------------------------------------


def breakage_cost_days(breakage: Breakage, *, now: datetime.datetime | None = None) -> float | None:
    """Days the linked delivered items took beyond the workflow's 90-day median; None if none."""
    now = now or timezone.now()
    median = WorkItem.objects.filter(
        workflow_id=breakage.workflow_id,
        state=WorkItem.State.DONE,
        delivered_at__gte=now - SLOW_BASELINE,
    ).aggregate(p50=PercentileCont(cycle_seconds(), 0.5))["p50"]
    if median is None:
        return None
    excess = (
        breakage.items.filter(state=WorkItem.State.DONE)
        .annotate(over=Greatest(cycle_seconds() - median, 0.0, output_field=FloatField()))
        .aggregate(total=Sum("over"), n=Count("pk"))
    )
    if not excess["n"]:
        return None
    return round(excess["total"] / DAY_SECONDS, 1)


ALREADY_LOGGED = "This candidate has already been logged as a breakage."


@transaction.atomic
def breakage_log(
    *,
    by: User,
    title: str,
    workflow: Workflow,
    kind: str,
    stage: Stage | None = None,
    handoff: Handoff | None = None,
    system_factor: str = "",
    description: str = "",
    items: Iterable[WorkItem] = (),
    source: str = Breakage.Source.MANUAL,
    source_key: str = "",
    occurred_at: datetime.datetime | None = None,
) -> Breakage:
    require(can_log_breakage(by), "Viewers cannot log breakages.")
    occurred_at = occurred_at or timezone.now()
    breakage = Breakage(
        title=(title or "").strip(),
        description=description or "",
        workflow=workflow,
        stage=stage,
        handoff=handoff,
        kind=kind,
        system_factor=(system_factor or "").strip(),
        reporter=by,
        source=source,
        source_key=source_key,
        occurred_at=occurred_at,
        week=week_of(occurred_at),
    )
    breakage.full_clean()
    if source_key and Breakage.objects.filter(source_key=source_key).exists():
        raise ValidationError({"__all__": ALREADY_LOGGED})
    try:
        # A savepoint: a concurrent log of the same candidate can win after the check above.
        with transaction.atomic():
            breakage.save()
    except IntegrityError:
        if not source_key:
            raise
        # Not keyed "source_key": the form has no such field, and add_error(None, …) would fail.
        raise ValidationError({"__all__": ALREADY_LOGGED}) from None
    breakage.items.set(items)
    breakage.cost_days = breakage_cost_days(breakage)
    breakage.save(update_fields=["cost_days"])
    return breakage


# --- Candidates -----------------------------------------------------------------------------


@dataclass
class Candidate:
    key: str
    source: str
    title: str
    detail: str
    workflow: object
    stage: object = None
    handoff: object = None
    items: list = field(default_factory=list)
    at: datetime.datetime | None = None

    @property
    def source_label(self) -> str:
        return Breakage.Source(self.source).label


def slow_deliveries(start: datetime.datetime, end: datetime.datetime) -> Any:
    """Items delivered in [start, end) above their workflow's 95th percentile cycle time."""
    baseline = (
        WorkItem.objects.filter(
            workflow=OuterRef("workflow"),
            state=WorkItem.State.DONE,
            delivered_at__gte=end - SLOW_BASELINE,
            delivered_at__lt=end,
        )
        .order_by()
        .values("workflow")
        .annotate(p95=PercentileCont(cycle_seconds(), 0.95), n=Count("pk"))
        .filter(n__gte=SLOW_MIN_DELIVERIES)
        .values("p95")
    )
    return (
        WorkItem.objects.filter(
            state=WorkItem.State.DONE,
            delivered_at__gte=start,
            delivered_at__lt=end,
            workflow__is_sandbox=False,
        )
        .annotate(cycle=cycle_seconds(), p95=Subquery(baseline))
        .filter(cycle__gt=F("p95"))
        .select_related("workflow", "stage")
        .order_by("-cycle")
    )


def week_candidates(week: datetime.date) -> list[Candidate]:
    """Suggested breakages: bounces, blocks, stalls and slow deliveries of the week, not logged."""
    start, end = week_bounds(week)
    found = []
    recoveries = Recovery.objects.filter(
        opened_at__gte=start, opened_at__lt=end, item__workflow__is_sandbox=False
    ).select_related("item__workflow", "item__stage", "handoff__from_stage")
    for rec in recoveries.order_by("opened_at"):
        is_bounce = rec.kind == Recovery.Kind.BOUNCE
        found.append(
            Candidate(
                key=f"recovery:{rec.pk}",
                source=Breakage.Source.BOUNCE if is_bounce else Breakage.Source.RECOVERY,
                title=f"{'Bounced' if is_bounce else 'Blocked'}: missing {rec.missing_input}",
                detail=f"{rec.item.title} · {rec.item.workflow.name}",
                workflow=rec.item.workflow,
                stage=None if rec.handoff_id else rec.item.stage,
                handoff=rec.handoff,
                items=[rec.item],
                at=rec.opened_at,
            )
        )
    stall = stall_model()
    if stall is not None:
        stalls = stall.objects.filter(
            detected_at__gte=start, detected_at__lt=end, item__workflow__is_sandbox=False
        ).select_related("item__workflow", "item__stage")
        for ep in stalls.order_by("detected_at"):
            found.append(
                Candidate(
                    key=f"stall:{ep.pk}",
                    source=Breakage.Source.STALL,
                    title=f"Stalled: {ep.get_kind_display().lower()}",
                    detail=f"{ep.item.title} · {ep.item.workflow.name} › {ep.item.stage.name}",
                    workflow=ep.item.workflow,
                    stage=ep.item.stage,
                    items=[ep.item],
                    at=ep.detected_at,
                )
            )
    for item in slow_deliveries(start, end):
        found.append(
            Candidate(
                key=f"slow:{item.pk}",
                source=Breakage.Source.SLOW,
                title=f"Slow delivery: {item.cycle / DAY_SECONDS:.1f} days "
                f"(p95 {item.p95 / DAY_SECONDS:.1f})",
                detail=f"{item.title} · {item.workflow.name}",
                workflow=item.workflow,
                items=[item],
                at=item.delivered_at,
            )
        )
    logged = set(
        Breakage.objects.filter(source_key__in=[c.key for c in found]).values_list(
            "source_key", flat=True
        )
    )
    return [c for c in found if c.key not in logged]


def candidate_for_key(key: str) -> Candidate | None:
    """The candidate a key names (for prefilling the breakage form), or None."""
    prefix, _, raw_pk = key.partition(":")
    pk = parse_id(raw_pk)
    if pk is None:
        return None
    at = None
    if prefix == "recovery":
        at = Recovery.objects.filter(pk=pk).values_list("opened_at", flat=True).first()
    elif prefix == "stall" and stall_model() is not None:
        at = stall_model().objects.filter(pk=pk).values_list("detected_at", flat=True).first()
    elif prefix == "slow":
        at = WorkItem.objects.filter(pk=pk).values_list("delivered_at", flat=True).first()
    if at is None:
        return None
    return next((c for c in week_candidates(week_of(at)) if c.key == key), None)


# --- Scoreboard movement -------------------------------------------------------------------


def cycle_stats(start: datetime.datetime, end: datetime.datetime) -> dict[str, Any]:
    """Count, average and p85 cycle time (days) of measured deliveries in [start, end)."""
    row = WorkItem.objects.filter(
        state=WorkItem.State.DONE,
        delivered_at__gte=start,
        delivered_at__lt=end,
        workflow__is_sandbox=False,
    ).aggregate(
        count=Count("pk"),
        avg=Avg(cycle_seconds()),
        p85=PercentileCont(cycle_seconds(), 0.85),
    )
    return {
        "count": row["count"],
        "avg_days": round(row["avg"] / DAY_SECONDS, 1) if row["avg"] is not None else None,
        "p85_days": round(row["p85"] / DAY_SECONDS, 1) if row["p85"] is not None else None,
    }


def quarter_targets(week: datetime.date) -> list[dict[str, Any]]:
    """Each measured workflow's quarter target (scoreboard app) beside this week's value."""
    try:
        target_model = apps.get_model("scoreboard", "QuarterTarget")
    except LookupError:
        return []
    # Any: the scoreboard's model, looked up by name (reviews never imports the scoreboard).
    targets: list[Any] = list(
        target_model.objects.filter(target__isnull=False, workflow__is_sandbox=False)
        .select_related("workflow")
        .order_by("workflow__name")
    )
    if not targets:
        return []
    start, end = week_bounds(week)
    rows = (
        WorkItem.objects.filter(
            state=WorkItem.State.DONE,
            delivered_at__gte=start,
            delivered_at__lt=end,
            workflow__in=[t.workflow_id for t in targets],
        )
        .values("workflow_id")
        .annotate(
            average=Avg(cycle_seconds()),
            p50=PercentileCont(cycle_seconds(), 0.5),
            p85=PercentileCont(cycle_seconds(), 0.85),
            p95=PercentileCont(cycle_seconds(), 0.95),
        )
        .order_by()
    )
    values: dict[int, Any] = {row["workflow_id"]: row for row in rows}
    working = _working_time_values(targets, start, end)
    found = []
    for target in targets:
        on_working = target.clock == "working"
        value = (working if on_working else values).get(target.workflow_id, {}).get(target.metric)
        target_days = round(target.target.total_seconds() / DAY_SECONDS, 1)
        value_days = round(value / DAY_SECONDS, 1) if value is not None else None
        found.append(
            {
                "workflow": target.workflow.name,
                "metric": target.get_metric_display() + (" (working time)" if on_working else ""),
                "target_days": target_days,
                "value_days": value_days,
                "on_target": value_days is not None and value_days <= target_days,
            }
        )
    return found


def _working_time_values(
    targets: Iterable[Any], start: datetime.datetime, end: datetime.datetime
) -> dict[int, Any]:
    """{workflow id: figures} of working-time cycle time, for the targets whose leads picked
    that clock: read from the scoreboard's snapshot, the one place it is counted (on the
    delivering team's calendar, as the dashboard's headline)."""
    ids = [t.workflow_id for t in targets if t.clock == "working"]
    if not ids:
        return {}
    fact_model = apps.get_model("scoreboard", "DeliveredItemFact")
    field = "cycle_working_seconds"
    rows = (
        fact_model.objects.filter(delivered_at__gte=start, delivered_at__lt=end, workflow__in=ids)
        .values("workflow_id")
        .annotate(
            average=Avg(field),
            p50=PercentileCont(field, 0.5),
            p85=PercentileCont(field, 0.85),
            p95=PercentileCont(field, 0.95),
        )
        .order_by()
    )
    return {row["workflow_id"]: row for row in rows}


def scoreboard_movement(week: datetime.date) -> dict[str, Any]:
    start, end = week_bounds(week)
    this = cycle_stats(start, end)
    last = cycle_stats(start - datetime.timedelta(days=7), start)
    delta = None
    if this["avg_days"] is not None and last["avg_days"] is not None:
        delta = round(this["avg_days"] - last["avg_days"], 1)
    return {
        "this": this,
        "last": last,
        "delta": delta,
        "delta_abs": abs(delta) if delta is not None else None,
        "targets": quarter_targets(week),
    }


# --- Patterns ------------------------------------------------------------------------------


def repeats_until(until: datetime.datetime) -> list[dict[str, Any]]:
    """Breakages in the four weeks up to `until` whose place and kind occurred twice or more."""
    groups = {
        (g["workflow_id"], g["stage_id"], g["handoff_id"], g["kind"]): g["times"]
        for g in Breakage.objects.repeat_groups(until=until)
    }
    if not groups:
        return []
    recent = Breakage.objects.for_list().filter(
        occurred_at__gt=until - REPEAT_WINDOW, occurred_at__lte=until
    )
    seen, repeats = set(), []
    for breakage in recent:
        key = breakage.place_key
        if key in groups and key not in seen:
            seen.add(key)
            repeats.append({"breakage": breakage, "times": groups[key]})
    return repeats


def repeat_checks(week: datetime.date) -> Any:
    """Closed action items whose "did it repeat?" check falls due by the end of this week."""
    week_end = week + datetime.timedelta(days=6)
    same_place_after = (
        Breakage.objects.annotate(
            stage_key=Coalesce("stage_id", 0), handoff_key=Coalesce("handoff_id", 0)
        )
        .filter(
            workflow_id=OuterRef("breakage__workflow_id"),
            kind=OuterRef("breakage__kind"),
            stage_key=Coalesce(OuterRef("breakage__stage_id"), 0),
            handoff_key=Coalesce(OuterRef("breakage__handoff_id"), 0),
            occurred_at__gt=OuterRef("closed_at"),
        )
        .order_by()
        .values("workflow_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        ActionItem.objects.for_list()
        .filter(
            status=ActionItem.Status.DONE,
            breakage__isnull=False,
            repeat_check_due__lte=week_end,
            repeat_check_due__gt=week_end - datetime.timedelta(weeks=8),
        )
        .annotate(repeats=Coalesce(Subquery(same_place_after), 0))
        .order_by("repeat_check_due")
    )


# --- The agenda ------------------------------------------------------------------------------


@dataclass
class Entry:
    key: str
    kind: str  # scoreboard | breakage | candidate | stalls | repeats | actions | checks
    kicker: str
    title: str
    data: object = None
    state: str = ""
    is_repeat: bool = False

    @property
    def state_label(self) -> str:
        return AgendaEntry.State(self.state).label if self.state else "To discuss"


def build_agenda(review: Review) -> list[Entry]:
    """Every entry of a review's agenda, in meeting order, with the facilitator's verdicts."""
    start, end = week_bounds(review.week)
    repeats = repeats_until(end)
    repeat_keys = {r["breakage"].place_key for r in repeats}
    breakages = list(
        Breakage.objects.for_list()
        .in_week(review.week)
        .prefetch_related("action_items__owner")
        .order_by("occurred_at", "pk")
    )
    # Stalls are walked through together on the stalls entry, not one screen each.
    candidates = [c for c in week_candidates(review.week) if c.source != Breakage.Source.STALL]
    stalls = stall_summary(start, end)
    actions = list(ActionItem.objects.open().for_list().order_by("due_date", "pk"))
    checks = list(repeat_checks(review.week))

    entries = [
        Entry(
            "scoreboard",
            "scoreboard",
            "Scoreboard",
            "Cycle time this week",
            scoreboard_movement(review.week),
        )
    ]
    for i, breakage in enumerate(breakages, 1):
        entries.append(
            Entry(
                f"breakage:{breakage.pk}",
                "breakage",
                f"Breakage {i} of {len(breakages)} · {breakage.get_kind_display().lower()}",
                breakage.title,
                breakage,
                is_repeat=breakage.place_key in repeat_keys,
            )
        )
    for i, candidate in enumerate(candidates, 1):
        entries.append(
            Entry(
                candidate.key,
                "candidate",
                f"Candidate {i} of {len(candidates)} · {candidate.source_label.lower()}",
                candidate.title,
                candidate,
            )
        )
    entries += [
        Entry("stalls", "stalls", "Stalls", "Stalls that started or ended", stalls),
        Entry("repeats", "repeats", "Patterns", "Repeats in the last four weeks", repeats),
        Entry("actions", "actions", "Action items", "Open and overdue action items", actions),
        Entry("checks", "checks", "Did it repeat?", "Checks on closed action items", checks),
    ]
    states = dict(review.entries.values_list("key", "state"))
    for entry in entries:
        entry.state = states.get(entry.key, "")
    return entries


def stall_summary(start: datetime.datetime, end: datetime.datetime) -> dict[str, Any]:
    stall = stall_model()
    if stall is None:
        return {"available": False, "started": [], "ended": []}
    base = stall.objects.filter(item__workflow__is_sandbox=False).select_related(
        "item__workflow", "item__stage"
    )
    started = base.filter(detected_at__gte=start, detected_at__lt=end).order_by("detected_at")
    ended = base.filter(resolved_at__gte=start, resolved_at__lt=end).order_by("resolved_at")
    started, ended = list(started[:50]), list(ended[:50])
    return {
        "available": True,
        "started": started,
        "ended": ended,
        "lists": [("Started", started), ("Ended", ended)],
    }


# --- Reviews and action items --------------------------------------------------------------------


def review_for_week(week: datetime.date, *, by: User) -> Review:
    """This week's review, created on first use by someone who may facilitate it."""
    review = Review.objects.filter(week=week).first()
    if review is not None:
        return review
    require(can_facilitate(by), "Only a lead or an admin can open a review.")
    review, _ = Review.objects.get_or_create(week=week, defaults={"facilitator": by})
    return review


def _require_open(review: Review) -> None:
    if not review.is_open:
        raise ValidationError("This review is closed; reopen a new week instead.")


@transaction.atomic
def agenda_entry_mark(*, review: Review, by: User, key: str, state: str) -> AgendaEntry:
    require(can_facilitate(by, review), "Only the facilitator, a lead or an admin can mark.")
    _require_open(review)
    if state not in AgendaEntry.State.values:
        raise ValidationError({"state": "Pick reviewed or dismissed."})
    if key not in {entry.key for entry in build_agenda(review)}:
        raise ValidationError({"key": "That entry is not on this review's agenda."})
    entry, _ = AgendaEntry.objects.update_or_create(
        review=review,
        key=key,
        defaults={"state": state, "decided_by": by, "decided_at": timezone.now()},
    )
    return entry


@transaction.atomic
def action_item_create(
    *,
    review: Review,
    by: User,
    title: str,
    owner: User,
    due_date: datetime.date,
    breakage: Breakage | None = None,
    handoff: Handoff | None = None,
    decision_type: str = "",
) -> ActionItem:
    require(can_facilitate(by, review), "Only the facilitator, a lead or an admin can record.")
    _require_open(review)
    if handoff is None and breakage is not None:
        handoff = breakage.handoff
    action = ActionItem(
        review=review,
        breakage=breakage,
        title=(title or "").strip(),
        owner=owner,
        due_date=due_date,
        handoff=handoff,
        protocol_version=handoff.published() if handoff else None,
        decision_type=(decision_type or "").strip(),
        created_by=by,
    )
    action.full_clean()
    if due_date < review.week:
        raise ValidationError({"due_date": "The due date cannot be before the review's week."})
    action.save()
    return action


def can_update_action(user: Any, action: ActionItem) -> bool:
    return user.is_authenticated and (
        (user.can_write and action.owner_id == user.pk) or can_facilitate(user, action.review)
    )


@transaction.atomic
def action_item_set_status(
    *, action: ActionItem, by: User, status: str, outcome: str | None = None
) -> ActionItem:
    require(can_update_action(by, action), "Only the owner or a facilitator can update this.")
    _apply_status(action, status)
    if outcome is not None:
        action.outcome = outcome.strip()[:2000]
    fields = ["status", "closed_at", "repeat_check_due", "outcome", "updated_at"]
    action.save(update_fields=fields)
    return action


def _apply_status(action: ActionItem, status: str) -> None:
    if status not in ActionItem.Status.values:
        raise ValidationError({"status": "Pick open, done or dropped."})
    if status == action.status:
        return
    now = timezone.now()
    action.status = status
    if status == ActionItem.Status.OPEN:
        action.closed_at = action.repeat_check_due = None
    else:
        action.closed_at = now
        action.repeat_check_due = timezone.localdate(now) + REPEAT_CHECK_DELAY


# What only a facilitator may change; the owner may close, reopen and say the outcome.
FACILITATOR_FIELDS = {"title", "owner", "due_date", "handoff", "decision_type"}
UPDATABLE_FIELDS = FACILITATOR_FIELDS | {"status", "outcome"}


@transaction.atomic
def action_item_update(*, action: ActionItem, by: User, changes: dict[str, Any]) -> ActionItem:
    """The API's PATCH: closing (done or dropped) says what came of it in `outcome`."""
    require(can_update_action(by, action), "Only the owner or a facilitator can update this.")
    if FACILITATOR_FIELDS & changes.keys():
        require(
            can_facilitate(by, action.review),
            "Only the facilitator, a lead or an admin can change what the action is.",
        )
    unknown = changes.keys() - UPDATABLE_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in unknown})
    for name in FACILITATOR_FIELDS & changes.keys():
        setattr(action, name, changes[name])
    if "handoff" in changes:
        handoff = changes["handoff"]
        action.protocol_version = handoff.published() if handoff else None
    if "outcome" in changes:
        action.outcome = (changes["outcome"] or "").strip()
    if "status" in changes:
        _apply_status(action, changes["status"])
    if action.status != ActionItem.Status.OPEN and not action.outcome:
        raise ValidationError({"outcome": "Say what came of it when you close an action item."})
    action.title = action.title.strip()
    action.full_clean(exclude=["review", "breakage", "created_by"])
    if "due_date" in changes and action.review and action.due_date < action.review.week:
        raise ValidationError({"due_date": "The due date cannot be before the review's week."})
    action.save()
    return action


@transaction.atomic
def action_item_record(*, by: User, review: Review | None = None, **fields: Any) -> ActionItem:
    """The API's POST: an action item on `review`, or on this week's review if none."""
    require(can_facilitate(by, review), "Only the facilitator, a lead or an admin can record.")
    if review is None:
        review = review_for_week(week_of(), by=by)
    return action_item_create(review=review, by=by, **fields)


@transaction.atomic
def review_update(
    *,
    review: Review,
    by: User,
    facilitator: User | None,
    attendees: Iterable[User],
    notes: str = "",
) -> Review:
    require(can_facilitate(by, review), "Only the facilitator, a lead or an admin can edit.")
    review.facilitator = facilitator
    review.notes = notes
    review.save(update_fields=["facilitator", "notes"])
    review.attendees.set(attendees)
    return review


def undiscussed_entries(review: Review) -> list[Entry]:
    """The agenda entries without a verdict: what a close freezes undiscussed."""
    return [entry for entry in build_agenda(review) if not entry.state]


@transaction.atomic
def review_close(*, review: Review, by: User) -> Review:
    """Close the review; the summary email goes to the attendees once the commit lands."""
    require(can_facilitate(by, review), "Only the facilitator, a lead or an admin can close.")
    closed = Review.objects.filter(pk=review.pk, status=Review.Status.OPEN).update(
        status=Review.Status.CLOSED, closed_at=timezone.now(), closed_by=by
    )
    if not closed:
        raise ValidationError("This review is already closed.")
    review.refresh_from_db()
    _queue_summary(review)
    return review


def summary_recipients(review: Review) -> list[User]:
    """Who the closing email goes to: the active attendees and the facilitator, with an email."""
    people = {user.pk: user for user in review.attendees.filter(is_active=True)}
    if review.facilitator and review.facilitator.is_active:
        people[review.facilitator.pk] = review.facilitator
    return sorted((user for user in people.values() if user.email), key=lambda user: user.email)


def summary_subject(review: Review, action_count: int) -> str:
    return (
        f"Breakage review {review.week_label}: {action_count} action item{pluralize(action_count)}"
    )


def _queue_summary(review: Review) -> None:
    """The summary, one outbox email per attendee and the facilitator, in the closing
    transaction: a close that rolls back sends nothing, and the status UPDATE above lets
    only one close queue it."""
    context = {
        **summary_context(review),
        "url": settings.OPSHUB_BASE_URL + review.get_absolute_url(),
    }
    subject = summary_subject(review, len(context["actions"]))
    for user in summary_recipients(review):
        outbox.enqueue(
            to=user,
            kind=EmailDelivery.Kind.REVIEW_SUMMARY,
            subject=subject,
            template="reviews/email/review_summary",
            context=context,
        )


def summary_context(review: Review) -> dict[str, Any]:
    """What the closing email says: verdicts, the week's breakages and the actions recorded."""
    states = dict(review.entries.values_list("key", "state"))
    breakages = list(Breakage.objects.for_list().in_week(review.week).order_by("occurred_at"))
    return {
        "review": review,
        "breakages": breakages,
        "reviewed": sum(1 for s in states.values() if s == AgendaEntry.State.REVIEWED),
        "dismissed": sum(1 for s in states.values() if s == AgendaEntry.State.DISMISSED),
        "undiscussed": len(undiscussed_entries(review)),
        "actions": list(review.action_items.for_list().order_by("due_date", "pk")),
        "repeats": repeats_until(week_bounds(review.week)[1]),
    }


@transaction.atomic
def projector_link_create(
    *, review: Review, by: User, days: int = ProjectorLink.DEFAULT_DAYS
) -> ProjectorLink:
    require(can_facilitate(by, review), "Only the facilitator, a lead or an admin can share.")
    if days not in ProjectorLink.LIFETIME_DAYS:
        choices = ", ".join(ProjectorLink.LIFETIME_DAYS.values())
        raise ValidationError({"days": f"Pick how long the link works: {choices}."})
    expires_at = timezone.now() + datetime.timedelta(days=days)
    return ProjectorLink.objects.create(review=review, created_by=by, expires_at=expires_at)


@transaction.atomic
def projector_link_revoke(*, link: ProjectorLink, by: User) -> ProjectorLink:
    require(can_facilitate(by, link.review), "Only a facilitator can revoke links.")
    ProjectorLink.objects.filter(pk=link.pk, revoked_at=None).update(
        revoked_at=timezone.now(), revoked_by=by
    )
    link.refresh_from_db()
    return link


def breakage_heatmap(
    *, weeks: int = 12, today: datetime.date | None = None
) -> tuple[list[datetime.date], list[dict[str, Any]]]:
    """Breakages per handoff per week over the last `weeks` weeks: (week list, rows)."""
    last = week_of(today or timezone.localdate())
    columns = [last - datetime.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = (
        Breakage.objects.filter(week__gte=columns[0], handoff__isnull=False)
        .values("handoff_id", "week")
        .annotate(n=Count("pk"))
        .order_by()
    )
    grid: dict[int, dict[datetime.date, int]] = {}
    for row in counts:
        grid.setdefault(row["handoff_id"], {})[row["week"]] = row["n"]
    handoffs = Handoff.objects.filter(workflow__is_sandbox=False).select_related(
        "workflow", "from_stage"
    )
    positions: dict[int, list[Stage]] = {}
    for stage in Stage.objects.filter(workflow__is_sandbox=False).order_by("position"):
        positions.setdefault(stage.workflow_id, []).append(stage)
    rows: list[dict[str, Any]] = []
    for handoff in handoffs:
        later = [
            s
            for s in positions.get(handoff.workflow_id, [])
            if s.position > handoff.from_stage.position
        ]
        cells = [grid.get(handoff.pk, {}).get(week, 0) for week in columns]
        rows.append(
            {
                "handoff": handoff,
                "label": f"{handoff.from_stage.name} → {later[0].name if later else '(end)'}",
                "cells": [{"n": n, "level": min(n, 4)} for n in cells],
                "total": sum(cells),
            }
        )
    rows.sort(key=lambda r: (-r["total"], r["handoff"].workflow.name))
    return columns, rows
