"""Forecasts for now: the workflow's model kept in Redis, item and workflow forecasts.

Building a workflow's model reads its stage visits from the event log (one query) and
replays a few past moments to calibrate it (engine.coverage_levels): a second or two at
100,000 items, so the model is kept for `MODEL_TTL` seconds and an item forecast then
costs one simulation of one item (milliseconds). Stage visits are capped per stage
(forecast.RECENT_VISITS), so a stored model stays small whatever the log's length.
A cold or unreachable cache costs a rebuild, never an error (opshub.lib.cache).

Working calendars: an item whose stage belongs to a team with a calendar is forecast by
that calendar's model, built from the same history on the team's working-time axis
(worktime.WorkClock), and its dates converted back with the same calendar, so they fall
inside the team's working hours. One model per workflow and calendar in use.
"""

import datetime
import time

import numpy as np
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, F, OuterRef
from django.utils import timezone

from handoffs.models import Stage, TeamCalendar, TeamClosure, Workflow, WorkItem
from opshub.lib.cache import cache_get, cache_set
from scoreboard.forecasting import engine, forecast
from scoreboard.forecasting.history import History
from scoreboard.forecasting.worktime import WorkClock, calendar_key
from scoreboard.models import DeliveredItemFact

MODEL_TTL = 15 * 60
COVERAGE_TTL = 6 * 3600
THROUGHPUT_DAYS = 90
WORKFLOW_SIMULATIONS = 10_000
MAX_ITEMS = 100_000
MAX_DAYS = 3 * 365
THROUGHPUT_METHOD = (
    "Monte Carlo over daily throughput: each simulated day draws the count delivered on "
    f"a random day of the last {THROUGHPUT_DAYS}"
)


def seed(*parts):
    """Repeatable within a minute: the same question gives the same dates on reload."""
    return [int(time.time() // 60), *parts]


def _model_key(workflow, calendar):
    # The creation time keeps a model from outliving a deleted workflow whose id comes back.
    return (
        f"scoreboard:forecast:model:{workflow.pk}:{workflow.created_at.timestamp()}:"
        f"{calendar_key(calendar)}"
    )


def workflow_model(workflow, *, calendar=None, refresh=False, built_only=False):
    """The workflow's model, in the working time of `calendar` (a WorkCalendar) if given.
    `built_only`: the stored model or None, never built here (building reads the workflow's
    history: up to a second on a big one)."""
    key = _model_key(workflow, calendar)
    stored = None if refresh else cache_get(key)
    if stored is not None or built_only:
        return stored
    history = History.load(workflow)
    now = time.time()
    rng = np.random.default_rng(seed(workflow.pk))
    if calendar is None:
        model = forecast.model_at(history, now, rng)
    else:
        clock = WorkClock.around(calendar, history.first_event_at or now, now)
        model = forecast.model_at(history.warped(clock), float(clock.elapsed(now)), rng)
        model.clock = clock
    cache_set(key, model, MODEL_TTL)
    return model


def stage_calendar(stage_id=None, *, team_id=None):
    """The WorkCalendar of the team owning one stage (or of the team `team_id`), or None:
    one query, its closed days an array column of it (a second query was a fifth of the
    item forecast's). By the team when the caller knows it: no join, no sort."""
    closed = TeamClosure.objects.filter(calendar=OuterRef("pk")).values("date")
    calendars = (
        TeamCalendar.objects.filter(team_id=team_id)
        if team_id is not None
        else TeamCalendar.objects.filter(team__stages=stage_id)
    )
    rows = list(calendars.annotate(closed_dates=ArraySubquery(closed))[:1])
    return rows[0].as_work_calendar() if rows else None


def with_calendar(items):
    """Items read with their stage's calendar (the team's, joined; its closed days an
    array): `item_forecast` then asks no query of its own for it."""
    closed = TeamClosure.objects.filter(calendar__team__stages=OuterRef("stage_id"))
    return items.select_related("stage__team__calendar").annotate(
        stage_closed_dates=ArraySubquery(closed.values("date"))
    )


def _item_calendar(item):
    if not hasattr(item, "stage_closed_dates"):  # not read `with_calendar`
        if WorkItem._meta.get_field("stage").is_cached(item):  # the item page's
            return stage_calendar(team_id=item.stage.team_id)
        return stage_calendar(item.stage_id)
    try:
        row = item.stage.team.calendar
    except TeamCalendar.DoesNotExist:
        return None
    row.closed_dates = item.stage_closed_dates
    return row.as_work_calendar()


def stage_calendars(workflow_ids):
    """{stage id: WorkCalendar} of the workflows' stages whose team has a calendar (one
    query and one for the closed days; a stage missing from it counts calendar time)."""
    if not workflow_ids:
        return {}
    rows = (
        TeamCalendar.objects.filter(team__stages__workflow__in=list(workflow_ids))
        .annotate(stage_id=F("team__stages__pk"))
        .prefetch_related("closed_days")
    )
    return {row.stage_id: row.as_work_calendar() for row in rows}


def warm_models():
    """Rebuilds the models of every counted workflow with open items (the periodic task),
    one per working calendar its stages use, so no one asking for an item forecast waits
    for a cold build."""
    workflows = list(
        Workflow.objects.counted()
        .filter(pk__in=WorkItem.objects.open().values("workflow_id"))
        .order_by("pk")
    )
    by_stage = stage_calendars([w.pk for w in workflows])
    stages = Stage.objects.filter(workflow__in=workflows).values_list("workflow_id", "pk")
    calendars = {}
    for workflow_id, stage_id in stages:
        calendar = by_stage.get(stage_id)
        calendars.setdefault(workflow_id, {})[calendar_key(calendar)] = calendar
    for workflow in workflows:
        for calendar in calendars.get(workflow.pk, {None: None}).values():
            workflow_model(workflow, calendar=calendar, refresh=True)
    return len(workflows)


def ages(model, now, entered):
    """Seconds each item has spent in its stage, on the model's clock."""
    now_ts = now.timestamp()
    entered = np.array([moment.timestamp() for moment in entered], dtype=np.float64)
    if model.clock is None:
        return np.maximum(now_ts - entered, 0.0)
    return np.maximum(model.clock.elapsed(now_ts) - model.clock.elapsed(entered), 0.0)


def moments(model, now, seconds):
    """The instants `seconds` (model time: working seconds under a calendar) after `now`;
    None where there is no date (nan, inf, past the clock)."""
    seconds = np.asarray(seconds, dtype=np.float64)
    if model.clock is None:
        stamps = now.timestamp() + seconds
    else:
        stamps = model.clock.at(model.clock.elapsed(now.timestamp()) + seconds)
    return [
        datetime.datetime.fromtimestamp(max(float(t), now.timestamp()), datetime.UTC)
        if np.isfinite(t)
        else None
        for t in np.atleast_1d(stamps)
    ]


def _at(now, seconds):
    if seconds is None or not np.isfinite(seconds):
        return None
    return now + datetime.timedelta(seconds=float(seconds))


def item_forecast(item, *, now=None, built_only=False):
    """{p50_at, p85_at, p95_at, simulations, history_items, method, reason}; the dates are
    None with a reason when the item is not open or the history is too thin. `built_only`:
    None when the workflow's model would have to be built first."""
    now = now or timezone.now()
    result = {
        "item": item.pk,
        "p50_at": None,
        "p85_at": None,
        "p95_at": None,
        "simulations": 0,
        "history_items": 0,
        "method": forecast.METHOD,
        "reason": "",
        "due_date": item.due_date,
        "at_risk": False,
    }
    if not item.is_open:
        return {**result, "reason": "The item is no longer open."}
    calendar = _item_calendar(item)
    model = workflow_model(item.workflow, calendar=calendar, built_only=built_only)
    if model is None:
        return None
    result["history_items"] = model.history_items
    if not model.enough_history:
        return {
            **result,
            "reason": f"Too little history: {model.history_items} delivered items in this "
            f"workflow, a forecast needs at least {forecast.MIN_HISTORY}.",
        }
    stage = int(np.searchsorted(model.stage_ids, item.stage_id))
    if stage >= len(model.stage_ids) or model.stage_ids[stage] != item.stage_id:
        return {**result, "reason": "The item's stage has no history yet."}
    seconds = forecast.forecast_items(
        model,
        [stage],
        ages(model, now, [item.stage_entered_at]),
        np.random.default_rng(seed(item.pk)),
        forecast.SIMULATIONS,
    )[:, 0]
    if np.isnan(seconds[0]):
        return {**result, "reason": "No delivered item has been through this stage yet."}
    p50, p85, p95 = moments(model, now, seconds)
    result["working_time"] = calendar is not None
    result.update(
        p50_at=p50, p85_at=p85, p95_at=p95, simulations=forecast.SIMULATIONS,
        reason="" if p95 else "Some simulated paths never reached delivery: no 95% date.",
    )  # fmt: skip
    if item.due_date and p85:
        result["at_risk"] = p85.date() > item.due_date
    return result


def at_risk(items, *, now=None, sims=200):
    """Ids of the open items with a due date whose 85% date falls after it: one vectorised
    simulation per workflow for all of them (board cards and list rows)."""
    now = now or timezone.now()
    groups = {}
    items = [item for item in items if item.due_date and item.is_open]
    calendars = stage_calendars({item.workflow_id for item in items})
    for item in items:
        calendar = calendars.get(item.stage_id)
        key = (item.workflow_id, calendar_key(calendar))
        groups.setdefault(key, (calendar, []))[1].append(item)
    risky = set()
    for (workflow_id, _), (calendar, group) in groups.items():
        model = workflow_model(group[0].workflow, calendar=calendar)
        if not model.enough_history:
            continue
        known = [i for i in group if i.stage_id in set(model.stage_ids.tolist())]
        if not known:
            continue
        stage = np.searchsorted(model.stage_ids, [i.stage_id for i in known])
        age = ages(model, now, [i.stage_entered_at for i in known])
        rng = np.random.default_rng(seed(workflow_id))
        p85 = forecast.forecast_items(model, stage, age, rng, sims)[1]
        for item, seconds, date in zip(known, p85, moments(model, now, p85), strict=True):
            never = date is None and not np.isnan(seconds)  # paths that never delivered
            if never or (date is not None and date.date() > item.due_date):
                risky.add(item.pk)
    return risky


def daily_throughput(workflow, *, today, days=THROUGHPUT_DAYS):
    """Items delivered on each of the last `days` whole days (UTC), zeros included."""
    since = today - datetime.timedelta(days=days)
    counts = dict(
        DeliveredItemFact.objects.counted()
        .for_workflow(workflow)
        .filter(delivered_on__gte=since, delivered_on__lt=today)
        .values_list("delivered_on")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return np.array(
        [counts.get(since + datetime.timedelta(days=d), 0) for d in range(days)], dtype=np.int64
    )


def workflow_forecast(workflow, *, items=None, until=None, now=None, sims=WORKFLOW_SIMULATIONS):
    """When will `items` more be delivered, or how many by `until` (a date)."""
    now = now or timezone.now()
    today = now.astimezone(datetime.UTC).date()
    daily = daily_throughput(workflow, today=today)
    rng = np.random.default_rng(seed(workflow.pk if workflow else 0))
    open_items = WorkItem.objects.open().filter(workflow__is_sandbox=False)
    if workflow is not None:
        open_items = open_items.filter(workflow=workflow)
    result = {
        "workflow": workflow.pk if workflow else None,
        "method": THROUGHPUT_METHOD,
        "simulations": sims,
        "history_days": len(daily),
        "delivered_in_history": int(daily.sum()),
        "throughput_per_week": round(float(daily.mean()) * 7, 2),
        "open_items": open_items.count(),
    }
    if daily.sum() == 0:
        return {**result, "reason": f"Nothing was delivered in the last {THROUGHPUT_DAYS} days."}
    if until is not None:
        days = (until - today).days
        done = engine.throughput_by(daily, days, sims, rng)
        # "At least this many" with 50/85/95% confidence: the lower quantiles.
        low = np.quantile(done, [0.5, 0.15, 0.05], method="inverted_cdf")
        return {
            **result,
            "until": until,
            "days": days,
            "p50_items": int(low[0]),
            "p85_items": int(low[1]),
            "p95_items": int(low[2]),
        }
    items = items if items is not None else result["open_items"]
    days = engine.throughput_when(daily, items, sims, rng)
    start = datetime.datetime.combine(today, datetime.time.min, tzinfo=datetime.UTC)
    p50, p85, p95 = np.quantile(days, [0.5, 0.85, 0.95], method="inverted_cdf")
    return {
        **result,
        "items": items,
        "p50_at": _at(start, p50 * 86400) if items else now,
        "p85_at": _at(start, p85 * 86400) if items else now,
        "p95_at": _at(start, p95 * 86400) if items else now,
    }


def quarter_coverage(workflow, period, *, cutoffs=6):
    """How last quarter's item forecasts did: the backtest with its cutoffs in `period`."""
    key = (
        f"scoreboard:forecast:coverage:{workflow.pk}:{workflow.created_at.timestamp()}:"
        f"{period.since.date()}"
    )
    stored = cache_get(key)
    if stored is not None:
        return stored
    history = History.load(workflow)
    moments = np.linspace(period.since.timestamp(), period.until.timestamp(), cutoffs + 2)[1:-1]
    result = forecast.backtest(history, moments=list(moments), seed=workflow.pk)
    cache_set(key, result, COVERAGE_TTL)
    return result
