"""Scoreboard use cases: keeping the snapshot current, and setting a workflow's quarter target."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from handoffs.models import Heartbeat, Workflow, WorkItem
from opshub.accounts.models import User
from scoreboard import board_cache
from scoreboard.metrics import rebuild_all_facts, rebuild_item_facts
from scoreboard.models import Clock, Metric, QuarterTarget


@transaction.atomic
def snapshot_rebuild(*, force: bool = False) -> int:
    """Brings every fact in line with the event log (nightly, and `compute_scoreboard`):
    re-derives the items whose inputs changed, or all of them with `force`."""
    count = rebuild_all_facts(force=force)
    Heartbeat.beat("compute_scoreboard", items=count)
    board_cache.invalidate_on_commit()
    return count


@transaction.atomic
def snapshot_update(*, item_ids: Iterable[int]) -> int:
    """Recomputes the facts of a few items (on delivery): the same SQL, scoped."""
    board_cache.invalidate_on_commit()
    return rebuild_item_facts(item_ids)


# Delivered items per catch-up run: one scoped recompute, well under MAX_ITEM_LOCKS.
CATCH_UP_BATCH = 200


def snapshot_catch_up() -> int:
    """Delivered items still without a fact lost their on-delivery update (Redis was down
    at the commit, or the task failed): recompute them now. Safe beside the update task."""
    ids = list(
        WorkItem.objects.filter(state=WorkItem.State.DONE, scoreboard_fact__isnull=True)
        .order_by("delivered_at", "pk")
        .values_list("pk", flat=True)[:CATCH_UP_BATCH]
    )
    return snapshot_update(item_ids=ids) if ids else 0


@transaction.atomic
def quarter_target_set(
    *,
    workflow: Workflow,
    by: User,
    metric: str,
    target_days: float | str | None,
    clock: str = Clock.CALENDAR,
) -> QuarterTarget:
    """The workflow's quarter metric, the clock it counts (calendar or working time) and
    its target, in days of that clock."""
    if not workflow.can_edit(by):
        raise PermissionDenied("Only the leads of this workflow's teams set its target.")
    errors: dict[str, str] = {}
    if metric not in Metric.values:
        errors["metric"] = "Pick one of the listed metrics."
    if clock not in Clock.values:
        errors["clock"] = "Pick calendar time or working time."
    target = None
    if target_days not in (None, ""):
        try:
            days = float(target_days)
        except (TypeError, ValueError):
            days = None
        if days is None or not 0 < days <= 3650:
            errors["target_days"] = "Give the target in days, more than 0 and at most 3650."
        else:
            target = datetime.timedelta(days=days)
    if errors:
        raise ValidationError(errors)
    goal, _ = QuarterTarget.objects.update_or_create(
        workflow=workflow,
        defaults={
            "metric": metric,
            "clock": clock,
            "target": target,
            "set_by": by,
            "updated_at": timezone.now(),
        },
    )
    board_cache.invalidate_on_commit()
    return goal
