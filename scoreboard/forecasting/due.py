"""The stored 85% dates of open items with a due date (handoffs' DueForecast).

The stall scan (due_at_risk) and the list, inbox and item-page markers read these rows by
a join; they never forecast themselves, and handoffs never imports the scoreboard. The
forecast task rewrites them every few minutes, after warming the workflows' models.

The rule (docs/stalls.md, "At risk of the due date"): with enough history (forecast.
MIN_HISTORY delivered items) the item forecast's 85% date; otherwise, or for an item in a
stage the forecast has never seen, now + the sum of the remaining stages' 85th
percentiles: what is left of the current stage's (its p85 less the time already spent,
at least nothing), then every later stage's. A stage with fewer than P85_MIN_VISITS past
visits counts its target; a remaining stage with neither leaves the item without a date.
"""

import datetime

import numpy as np
from django.db import transaction
from django.utils import timezone

from handoffs.models import DueForecast, Stage, Workflow, WorkItem
from scoreboard.forecasting import forecast, live
from scoreboard.forecasting.worktime import calendar_key

# Draws per item: the quantile of 200 moves by a few percent, enough for a flag that is
# recomputed every ten minutes; 1,000 (the item page's) for every open item would not be.
SIMULATIONS = 200
# Items simulated together: bounds the (items × simulations) array at ≈8 MB.
CHUNK = 5000
P85_MIN_VISITS = 5
# Stored for "no simulated path was delivered" (or past the working clock): after any due date.
NEVER = datetime.timedelta(days=10 * 365)

Method = DueForecast.Method


def stage_p85_seconds(model, stages):
    """Per stage (in `stages` order): the 85th percentile of its past visits' seconds from
    the model's pools, else its target, else nan (unknown)."""
    index = {int(stage_id): i for i, stage_id in enumerate(model.stage_ids.tolist())}
    out = np.full(len(stages), np.nan)
    pools = model.pools
    for position, stage in enumerate(stages):
        i = index.get(stage.pk)
        count = int(pools.counts[i]) if i is not None else 0
        if count >= P85_MIN_VISITS:
            visits = pools.seconds[pools.offsets[i] : pools.offsets[i] + count]
            out[position] = float(np.quantile(visits, 0.85, method="inverted_cdf"))
        elif stage.target is not None:
            out[position] = stage.target.total_seconds()
    return out


def stage_sum_seconds(model, stages, positions, ages):
    """Seconds left by the remaining stages' 85th percentiles, per item (nan: unknown).
    `positions`: each item's index into `stages` (ordered by position)."""
    p85 = stage_p85_seconds(model, stages)
    # Sum of every stage after each one; nan propagates (a later stage with no figure).
    later = np.concatenate((np.cumsum(p85[::-1])[::-1][1:], [0.0]))
    return np.maximum(p85[positions] - ages, 0.0) + later[positions]


def forecast_seconds(model, stages, items, now, rng):
    """(seconds to the 85% date on the model's clock, method) per item of one workflow."""
    ages = live.ages(model, now, [i.stage_entered_at for i in items])
    order = {stage.pk: n for n, stage in enumerate(stages)}
    positions = np.array([order[i.stage_id] for i in items], dtype=np.int64)
    seconds = stage_sum_seconds(model, stages, positions, ages)
    methods = np.full(len(items), Method.STAGE_P85.value, dtype=object)
    if not model.enough_history:
        return seconds, methods
    known = np.isin([i.stage_id for i in items], model.stage_ids)
    rows = np.flatnonzero(known)
    stage_index = np.searchsorted(model.stage_ids, [items[r].stage_id for r in rows])
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        p85 = forecast.forecast_items(
            model, stage_index[start : start + CHUNK], ages[part], rng, SIMULATIONS
        )[1]
        # nan: the stage has no past visits; the stage sum stands in for those.
        found = ~np.isnan(p85)
        seconds[part[found]] = p85[found]
        methods[part[found]] = Method.FORECAST.value
    return seconds, methods


@transaction.atomic
def refresh_due_forecasts(*, now=None):
    """Rewrites every open counted item's stored 85% date; returns how many it stored."""
    now = now or timezone.now()
    items = (
        WorkItem.objects.open()
        .filter(due_date__isnull=False, workflow__in=Workflow.objects.counted())
        .only("id", "workflow_id", "stage_id", "stage_entered_at", "due_date", "state")
        .order_by("workflow_id", "pk")
    )
    items = list(items)
    workflow_ids = sorted({item.workflow_id for item in items})
    calendars = live.stage_calendars(workflow_ids)
    # One group per workflow and working calendar: the stage's team's (live.workflow_model).
    groups = {}
    for item in items:
        calendar = calendars.get(item.stage_id)
        key = (item.workflow_id, calendar_key(calendar))
        groups.setdefault(key, (calendar, []))[1].append(item)
    workflows = Workflow.objects.in_bulk(workflow_ids)
    stages = {}
    for stage in Stage.objects.filter(workflow__in=workflow_ids).order_by("position", "pk"):
        stages.setdefault(stage.workflow_id, []).append(stage)
    rows = []
    never = now + NEVER
    for (workflow_id, _), (calendar, group) in groups.items():
        model = live.workflow_model(workflows[workflow_id], calendar=calendar)
        rng = np.random.default_rng(live.seed(workflow_id))
        seconds, methods = forecast_seconds(model, stages[workflow_id], group, now, rng)
        dates = live.moments(model, now, seconds)
        rows += [
            DueForecast(item_id=item.pk, p85_at=date or never, method=method, computed_at=now)
            for item, s, date, method in zip(group, seconds, dates, methods, strict=True)
            if not np.isnan(s)  # nan: no figure; inf (never delivered): far in the future
        ]
    DueForecast.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["item"],
        update_fields=["p85_at", "method", "computed_at"],
    )
    # Rows not rewritten now: delivered, cancelled, no due date any more, or no figure.
    DueForecast.objects.exclude(computed_at=now).delete()
    return len(rows)
