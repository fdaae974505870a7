"""Everything the dashboard shows, read from the snapshot in a fixed number of queries.

Each piece is one aggregate query over the facts of the items delivered in the window
(or the open items for aging work in progress), so the dashboard's cost follows the
window and the work in progress, never the length of the event log.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from handoffs.models import WorkItem
from handoffs.stalls.detection import stalled_now
from scoreboard.models import (
    FIGURES,
    WORKTIME,
    Clock,
    DeliveredItemFact,
    HandoffFact,
    Metric,
    QuarterTarget,
    StageTimeFact,
)
from scoreboard.worktime import clock_labels

DAY = 86400.0
SCATTER_LIMIT = 1500
AGING_LIMIT = 25
HANDOFF_LIMIT = 12
STALLED_LIMIT = 10
COLORS = {
    "average": "#2563eb",
    "p50": "#059669",
    "p85": "#d97706",
    "p95": "#dc2626",
    "working": "#2563eb",
    "waiting": "#d97706",
    "blocked": "#dc2626",
    "decision": "#7c3aed",
    "item": "rgba(37, 99, 235, 0.55)",
    "over": "#dc2626",
    "under": "#2563eb",
}


@dataclass
class Period:
    since: datetime.datetime
    until: datetime.datetime
    label: str
    kind: str = "custom"  # quarter | 90d | custom: what the period before it is


def quarter_start(day):
    return datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _add_months(day, months):
    month = day.month - 1 + months
    return datetime.date(day.year + month // 12, month % 12 + 1, 1)


def _midnight(day, tz):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def quarter_period(day, tz, offset=0):
    start = _add_months(quarter_start(day), 3 * offset)
    end = _add_months(start, 3)
    label = f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return Period(_midnight(start, tz), _midnight(end, tz), label, "quarter")


def window_period(period, since, until, tz, today):
    """The filter's window: this quarter, the last 90 days, or custom dates (inclusive)."""
    if period == "90d":
        start = today - datetime.timedelta(days=89)
        return Period(
            _midnight(start, tz),
            _midnight(today + datetime.timedelta(1), tz),
            "Last 90 days",
            "90d",
        )
    if period == "custom" and since and until:
        return _day_range(since, until, tz)
    return quarter_period(today, tz)


def _day_range(first, last, tz):
    label = f"{first:%-d %b %Y} – {last:%-d %b %Y}"
    return Period(_midnight(first, tz), _midnight(last + datetime.timedelta(1), tz), label)


def previous_period(period):
    """What a period is compared with: the quarter before a quarter; otherwise the same
    number of days just before it ("the 90 days before", or the dates, for a custom range)."""
    tz = period.since.tzinfo
    first = period.since.date()
    if period.kind == "quarter":
        return quarter_period(_add_months(first, -3), tz)
    days = (period.until.date() - first).days
    before = _day_range(first - datetime.timedelta(days), first - datetime.timedelta(1), tz)
    if period.kind == "90d":
        before.label = "the 90 days before"
    return before


def _days(seconds):
    return round(seconds / DAY, 2) if seconds is not None else None


def _ratio(part, whole):
    return part / whole if whole else None


def _goal_of(workflow):
    """The workflow's quarter target: loaded with it by the filter form (scoreboard_target),
    else read here."""
    if workflow is None:
        return None
    if type(workflow).scoreboard_target.is_cached(workflow):
        return getattr(workflow, "scoreboard_target", None)  # None: loaded, and there is none
    return QuarterTarget.objects.filter(workflow=workflow).first()


def headline(facts, workflow, period):
    """The big number: the chosen metric in the board's period (the one the filters say),
    its target, the period before it, the trend."""
    goal = _goal_of(workflow)
    metric = goal.metric if goal else Metric.AVERAGE
    clock = goal.clock if goal else Clock.CALENDAR
    before = previous_period(period)
    stats = facts.compare(
        {"this": (period.since, period.until), "last": (before.since, before.until)}
    )
    # Both clocks come from the same query; the headline is the one the leads picked.
    calendar_label, working_label, rule = clock_labels(workflow)
    this, last = _clock_figures(stats["this"]), _clock_figures(stats["last"])
    other = Clock.CALENDAR if clock == Clock.WORKING else Clock.WORKING
    value, previous = this[clock][metric], last[clock][metric]
    target = goal.target.total_seconds() if goal and goal.target else None
    delta = value - previous if value is not None and previous is not None else None
    return {
        "metric": metric,
        "metric_label": Metric(metric).label,
        "clock": clock,
        "clock_label": working_label if clock == Clock.WORKING else calendar_label,
        "other_clock": other,
        "other_label": working_label if other == Clock.WORKING else calendar_label,
        "other_value": this[other][metric],
        "other": this[other],
        "rule": rule,
        "period": period,
        "previous_period": before,
        "this": this[clock],
        "last": last[clock],
        "value": value,
        "previous": previous,
        "delta": delta,
        "delta_size": abs(delta) if delta is not None else None,
        "improving": delta is not None and delta < 0,
        "target": target,
        "on_target": target is not None and value is not None and value <= target,
        "goal": goal,
    }


def _clock_figures(stats):
    """{clock: {count, average, p50, p85, p95}} from one period's compare() row."""
    return {
        Clock.CALENDAR: {key: stats[key] for key in ("count", *FIGURES)},
        Clock.WORKING: {"count": stats["count"], **{k: stats[WORKTIME + k] for k in FIGURES}},
    }


def _trend_chart(weeks):
    return {
        "type": "line",
        "data": {
            "labels": [f"{w['week']:%-d %b}" for w in weeks],
            "datasets": [
                {
                    "label": "Average (days)",
                    "data": [_days(w["average"]) for w in weeks],
                    "borderColor": COLORS["average"],
                    "backgroundColor": COLORS["average"],
                    "borderWidth": 3,
                },
                {
                    "label": "85th percentile (days)",
                    "data": [_days(w["p85"]) for w in weeks],
                    "borderColor": COLORS["p85"],
                    "backgroundColor": COLORS["p85"],
                    "borderDash": [6, 4],
                    "borderWidth": 3,
                },
            ],
        },
        "options": {
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "days"}}},
        },
    }


def _scatter_chart(points, summary, period):
    ends = [period.since.timestamp() * 1000, period.until.timestamp() * 1000]
    lines = [
        {
            "type": "line",
            "label": f"{name} {_days(summary[key])} d",
            "data": [{"x": x, "y": _days(summary[key])} for x in ends],
            "borderColor": COLORS[key],
            "borderDash": [6, 4],
            "borderWidth": 2,
            "pointRadius": 0,
        }
        for key, name in (("p50", "median"), ("p85", "85th"), ("p95", "95th"))
        if summary[key] is not None
    ]
    return {
        "type": "scatter",
        "data": {
            "datasets": [
                {
                    "label": "Delivered items",
                    "data": [
                        {"x": p["delivered_at"].timestamp() * 1000, "y": _days(p["cycle_seconds"])}
                        for p in points
                    ],
                    "backgroundColor": COLORS["item"],
                    "pointRadius": 3,
                },
                *lines,
            ]
        },
        "options": {
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {
                "x": {
                    "type": "linear",
                    "min": ends[0],
                    "max": ends[1],
                    "ticks": {"maxTicksLimit": 8},
                },
                "y": {"beginAtZero": True, "title": {"display": True, "text": "cycle time (days)"}},
            },
        },
        "xDates": True,
    }


def _stage_chart(stages, with_workflow):
    labels = [
        f"{s['workflow__name']} › {s['stage__name']}" if with_workflow else s["stage__name"]
        for s in stages
    ]
    kinds = (
        ("working", "Working"),
        ("waiting", "Waiting for acceptance"),
        ("blocked", "Blocked"),
        ("decision", "Awaiting decision"),
    )
    return {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": label,
                    "data": [s[f"avg_{key}_days"] for s in stages],
                    "backgroundColor": COLORS[key],
                }
                for key, label in kinds
            ],
        },
        "options": {
            "indexAxis": "y",
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {
                "x": {"stacked": True, "title": {"display": True, "text": "average days per item"}},
                "y": {"stacked": True, "ticks": {"autoSkip": False}},
            },
        },
    }


def _aging_chart(aging):
    return {
        "type": "bar",
        "data": {
            "labels": [a["item"].title[:32] for a in aging],
            "datasets": [
                {
                    "label": "Age (days)",
                    "data": [_days(a["age"]) for a in aging],
                    "backgroundColor": [
                        COLORS["over"] if a["over"] else COLORS["under"] for a in aging
                    ],
                }
            ],
        },
        "options": {
            "indexAxis": "y",
            "maintainAspectRatio": False,
            "animation": False,
            "plugins": {"legend": {"display": False}},
            "scales": {
                "x": {"beginAtZero": True, "title": {"display": True, "text": "age (days)"}}
            },
        },
    }


def _stage_rows(facts):
    stages = list(StageTimeFact.breakdown(facts))
    grand_total = sum(s["total"] or 0 for s in stages)
    for s in stages:
        items = s["items"] or 1
        for key in ("total", "working", "waiting", "blocked", "decision"):
            s[f"avg_{key}"] = (s[key] or 0) / items
            s[f"avg_{key}_days"] = _days(s[f"avg_{key}"])
        s["share"] = _ratio(s["total"] or 0, grand_total)
        s["friction"] = _ratio(
            (s["waiting"] or 0) + (s["blocked"] or 0) + (s["decision"] or 0), s["total"]
        )
    worst = max(stages, key=lambda s: s["friction"] or 0, default=None)
    if worst and (worst["friction"] or 0) > 0:
        worst["is_worst"] = True
    return stages


def _handoff_rows(facts):
    rows = list(HandoffFact.breakdown(facts)[:HANDOFF_LIMIT])
    for h in rows:
        h["avg_wait"] = _ratio(h["wait"] or 0, h["submissions"])
        h["bounce_rate"] = _ratio(h["bounces"] or 0, h["submissions"])
        h["first_pass_rate"] = _ratio(h["first_pass"], h["items"])
    return rows


def _aging(workflow, p85s, now):
    open_items = WorkItem.objects.open().filter(workflow__is_sandbox=False)
    if workflow is not None:
        open_items = open_items.filter(workflow=workflow)
    count = open_items.count()
    oldest = open_items.select_related("workflow", "stage", "stage__team").order_by(
        "requested_at", "pk"
    )
    rows = []
    for item in oldest[:AGING_LIMIT]:
        age = (now - item.requested_at).total_seconds()
        p85 = p85s.get(item.workflow_id)
        rows.append({"item": item, "age": age, "p85": p85, "over": p85 is not None and age > p85})
    return count, rows


def build(*, workflow, period, tz, now=None):
    """The board for one workflow (or all) over one period: every figure is for that period,
    except work in progress, aging and stalled now, which are as of `now`."""
    now = now or timezone.now()
    facts = DeliveredItemFact.objects.counted().for_workflow(workflow)
    window = facts.delivered_between(period.since, period.until)
    summary = window.summary()
    weeks = list(window.weekly(tz))
    points = list(
        window.order_by("-delivered_at").values(
            "item_id", "item__title", "delivered_at", "cycle_seconds"
        )[:SCATTER_LIMIT]
    )
    stage_facts = StageTimeFact.objects.counted().for_workflow(workflow)
    handoff_facts = HandoffFact.objects.counted().for_workflow(workflow)
    stages = _stage_rows(stage_facts.delivered_between(period.since, period.until))
    handoffs = _handoff_rows(handoff_facts.delivered_between(period.since, period.until))
    wip_count, aging = _aging(workflow, window.p85_by_workflow(), now)
    span_weeks = max((period.until - period.since).total_seconds() / (7 * DAY), 1)
    return {
        "headline": headline(facts, workflow, period),
        "summary": summary,
        "throughput_per_week": (summary["count"] or 0) / span_weeks,
        "flow_efficiency": _ratio(summary["active"] or 0, summary["cycle_total"]),
        "bounce_rate": _ratio(summary["bounces"] or 0, summary["handoffs"]),
        "weeks": weeks,
        "points": points[:10],
        "longest": sorted(points, key=lambda p: -p["cycle_seconds"])[:10],
        "points_shown": len(points),
        "scatter_limited": len(points) >= SCATTER_LIMIT,
        "stages": stages,
        "handoffs": handoffs,
        "wip_count": wip_count,
        "aging": aging,
        "aging_over": sum(1 for a in aging if a["over"]),
        "stalled_now": stalled_now(limit=STALLED_LIMIT),
        "charts": {
            "trend": _trend_chart(weeks),
            "scatter": _scatter_chart(points, summary, period),
            "stages": _stage_chart(stages, with_workflow=workflow is None),
            "aging": _aging_chart(aging),
        },
    }
