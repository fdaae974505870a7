"""Flow views of one workflow, each one SQL query (PostgreSQL does the counting):
lead time against cycle time from the commitment point, the cumulative flow diagram,
weekly throughput, the handoff pain ranking and the service-level bands of aging items.
"""

import datetime

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from handoffs.models import Handoff, WorkItem
from scoreboard.models import CommitmentPoint, DeliveredItemFact

DAY = 86400.0
RANKING_LIMIT = 10

# Per delivered item in the window: delivery minus its first entry into the commitment
# stage or any later one (an item that skipped it starts at the next stage it entered).
_CYCLE_FROM_COMMITMENT = """
SELECT COUNT(*), AVG(s), percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
       percentile_cont(0.85) WITHIN GROUP (ORDER BY s),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY s)
FROM (
    SELECT EXTRACT(EPOCH FROM f.delivered_at - c.committed_at)::float8 AS s
    FROM scoreboard_delivereditemfact f
    CROSS JOIN LATERAL (
        SELECT MIN(e.at) AS committed_at FROM handoffs_event e
        JOIN handoffs_stage st ON st.id = e.to_stage_id
        WHERE e.item_id = f.item_id AND e.kind IN ('created', 'handoff_submitted')
          AND st.position >= %(position)s AND e.at <= f.delivered_at
    ) c
    WHERE f.workflow_id = %(workflow)s AND f.delivered_at >= %(since)s
      AND f.delivered_at < %(until)s AND c.committed_at IS NOT NULL
) t
"""


def commitment_of(workflow):
    return CommitmentPoint.objects.filter(workflow=workflow).select_related("stage").first()


def lead_and_cycle(workflow, since, until):
    """{lead: stats, cycle: stats, commitment: label}: lead time is request → delivery;
    cycle time starts at the commitment point (the request when none is set)."""
    lead = (
        DeliveredItemFact.objects.counted()
        .for_workflow(workflow)
        .delivered_between(since, until)
        .summary()
    )
    lead = {k: lead[k] for k in ("count", "average", "p50", "p85", "p95")}
    point = commitment_of(workflow)
    if point is None or point.stage is None:
        return {"lead": lead, "cycle": lead, "commitment": "from the request", "stage": None}
    with connection.cursor() as cursor:
        cursor.execute(
            _CYCLE_FROM_COMMITMENT,
            {"position": point.stage.position, "workflow": workflow.pk, "since": since,
             "until": until},
        )  # fmt: skip
        row = cursor.fetchone()
    cycle = dict(zip(("count", "average", "p50", "p85", "p95"), row, strict=True))
    return {"lead": lead, "cycle": cycle, "commitment": point.label, "stage": point.stage}


# Items per stage at the end of each day k (since + k days): each stage visit of an item
# alive in the window counts from its first day to its last, as +1 on the first and -1 the
# day after, and a running sum per stage over the window's days adds them up (visits plus
# days × stages rows; spanning each visit's days was visits × days, and its estimate, a
# thousand days per visit, put the plan over the JIT thresholds: 1.5 s of compiling for
# 0.1 s of work at 100,000 items); deliveries per day summed up the same way.
_CFD = """
WITH alive AS (
    SELECT id FROM handoffs_workitem
    WHERE workflow_id = %(workflow)s AND requested_at <= %(until)s
      AND (delivered_at IS NULL OR delivered_at >= %(since)s)
      AND NOT (state = 'cancelled' AND state_changed_at < %(since)s)
),
ev AS (
    SELECT e.kind, e.to_stage_id, EXTRACT(EPOCH FROM e.at - %(since)s) / 86400.0 AS x,
           EXTRACT(EPOCH FROM LEAD(e.at) OVER (PARTITION BY e.item_id ORDER BY e.at, e.id)
                              - %(since)s) / 86400.0 AS next_x
    FROM handoffs_event e JOIN alive a ON a.id = e.item_id
    WHERE e.kind IN ('created', 'handoff_submitted', 'handoff_bounced', 'delivered', 'cancelled')
),
span AS (SELECT FLOOR(EXTRACT(EPOCH FROM %(until)s - %(since)s) / 86400.0)::int AS last_day),
visits AS (
    SELECT ev.to_stage_id AS stage_id, GREATEST(0, CEIL(ev.x))::int AS first_day,
           LEAST(COALESCE(CEIL(ev.next_x)::int - 1, span.last_day), span.last_day) AS last_day
    FROM ev CROSS JOIN span
    WHERE ev.kind IN ('created', 'handoff_submitted', 'handoff_bounced')
),
steps AS (
    SELECT k, stage_id, SUM(d) AS d FROM (
        SELECT first_day AS k, stage_id, 1 AS d FROM visits WHERE first_day <= last_day
        UNION ALL
        SELECT last_day + 1, stage_id, -1 FROM visits WHERE first_day <= last_day
    ) s
    GROUP BY k, stage_id
)
SELECT k, st.stage_id, (SUM(COALESCE(steps.d, 0)) OVER (PARTITION BY st.stage_id ORDER BY k))::int
FROM span CROSS JOIN LATERAL generate_series(0, span.last_day) k
CROSS JOIN (SELECT id AS stage_id FROM handoffs_stage WHERE workflow_id = %(workflow)s) st
LEFT JOIN steps USING (k, stage_id)
UNION ALL
SELECT k, NULL, SUM(COALESCE(n, 0)) OVER (ORDER BY k)
FROM span CROSS JOIN LATERAL generate_series(0, span.last_day) k
LEFT JOIN (
    SELECT CEIL(EXTRACT(EPOCH FROM delivered_at - %(since)s) / 86400.0)::int AS day, COUNT(*) AS n
    FROM handoffs_workitem
    WHERE workflow_id = %(workflow)s AND state = 'done' AND delivered_at >= %(since)s
      AND delivered_at <= %(until)s
    GROUP BY 1
) d ON d.day = k
ORDER BY 1
"""


def cumulative_flow(workflow, since, until):
    """{days: [date], stages: [(stage, [count per day])], delivered: [cumulative]}."""
    end = min(until, timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_CFD, {"workflow": workflow.pk, "since": since, "until": end})
        rows = cursor.fetchall()
    days = max((k for k, _, _ in rows), default=-1) + 1
    stages = list(workflow.stages.order_by("position"))
    per_stage = {s.pk: [0] * days for s in stages}
    delivered = [0] * days
    for day, stage_id, count in rows:
        if stage_id is None:
            delivered[day] = int(count)
        elif stage_id in per_stage:
            per_stage[stage_id][day] = count
    dates = [(since + datetime.timedelta(days=k)).date() for k in range(days)]
    return {
        "days": dates,
        "stages": [(s, per_stage[s.pk]) for s in stages],
        "delivered": delivered,
        "rows": [
            (day, [per_stage[s.pk][i] for s in stages], delivered[i]) for i, day in enumerate(dates)
        ],
    }


_WEEKLY = """
SELECT w, COALESCE(n, 0) FROM generate_series(
    date_trunc('week', %(since)s::timestamptz), %(until)s::timestamptz, interval '1 week') w
LEFT JOIN (
    SELECT date_trunc('week', delivered_at) AS week, COUNT(*) AS n
    FROM scoreboard_delivereditemfact
    WHERE workflow_id = %(workflow)s AND delivered_at >= date_trunc('week', %(since)s::timestamptz)
      AND delivered_at < %(until)s
    GROUP BY 1
) t ON t.week = w
ORDER BY w
"""


def weekly_throughput(workflow, since, until):
    """[(week start, delivered)] for every week of the window from the first delivery on,
    empty weeks included (weeks before the workflow delivered anything would drag the
    median down)."""
    with connection.cursor() as cursor:
        cursor.execute(_WEEKLY, {"workflow": workflow.pk, "since": since, "until": until})
        weeks = [(week.date(), count) for week, count in cursor.fetchall()]
    first = next((i for i, (_, count) in enumerate(weeks) if count), len(weeks))
    return weeks[first:]


# Per handoff (its from-stage): waits and bounces of items delivered in the window (the
# snapshot's handoff facts), recoveries opened there and their duration, breakages
# logged there, and stalls: unaccepted-handoff stalls belong to the handoff the item was
# last submitted through, overdue recoveries to their recovery's handoff.
_PAIN = """
WITH h AS (
    SELECT ho.id AS handoff_id, ho.from_stage_id FROM handoffs_handoff ho
    WHERE ho.workflow_id = %(workflow)s
),
waits AS (
    SELECT from_stage_id, SUM(wait_seconds) AS wait, SUM(bounces) AS bounces,
           SUM(submissions) AS submissions
    FROM scoreboard_handofffact
    WHERE workflow_id = %(workflow)s AND delivered_at >= %(since)s AND delivered_at < %(until)s
    GROUP BY from_stage_id
),
recoveries AS (
    SELECT handoff_id, COUNT(*) AS n,
           SUM(EXTRACT(EPOCH FROM LEAST(COALESCE(closed_at, %(now)s), %(until)s)
                              - opened_at))::float8 AS seconds
    FROM handoffs_recovery
    WHERE kind = 'bounce' AND opened_at >= %(since)s AND opened_at < %(until)s
    GROUP BY handoff_id
),
breakages AS (
    SELECT handoff_id, COUNT(*) AS n FROM reviews_breakage
    WHERE occurred_at >= %(since)s AND occurred_at < %(until)s AND handoff_id IS NOT NULL
    GROUP BY handoff_id
),
stalls AS (
    SELECT COALESCE(r.handoff_id, sub.handoff_id) AS handoff_id, COUNT(*) AS n,
           SUM(EXTRACT(EPOCH FROM LEAST(COALESCE(s.resolved_at, %(now)s), %(until)s)
                              - s.started_at))::float8 AS seconds
    FROM handoffs_stallepisode s
    LEFT JOIN handoffs_recovery r ON r.id = s.recovery_id
    LEFT JOIN LATERAL (
        SELECT h.handoff_id FROM handoffs_event e JOIN h ON h.from_stage_id = e.from_stage_id
        WHERE e.item_id = s.item_id AND e.kind = 'handoff_submitted' AND e.at <= s.started_at
        ORDER BY e.at DESC, e.id DESC LIMIT 1
    ) sub ON s.kind = 'handoff_unaccepted'
    WHERE s.started_at >= %(since)s AND s.started_at < %(until)s
      AND s.kind IN ('handoff_unaccepted', 'recovery_overdue')
    GROUP BY 1
)
SELECT h.handoff_id, COALESCE(w.wait, 0), COALESCE(w.bounces, 0), COALESCE(w.submissions, 0),
       COALESCE(r.n, 0), COALESCE(r.seconds, 0), COALESCE(b.n, 0),
       COALESCE(s.n, 0), COALESCE(s.seconds, 0)
FROM h
LEFT JOIN waits w ON w.from_stage_id = h.from_stage_id
LEFT JOIN recoveries r ON r.handoff_id = h.handoff_id
LEFT JOIN breakages b ON b.handoff_id = h.handoff_id
LEFT JOIN stalls s ON s.handoff_id = h.handoff_id
"""


def pain_ranking(workflow, since, until, *, now=None):
    """Handoffs ranked by the days of delay they caused in the window: waiting to be
    accepted plus recovering from bounces. Stalls and breakages are shown beside it, not
    added (a stalled handoff's time is already in its wait or its recovery)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_PAIN, {"workflow": workflow.pk, "since": since, "until": until, "now": now})
        rows = cursor.fetchall()
    handoffs = Handoff.objects.select_related("from_stage").in_bulk([r[0] for r in rows])
    stages = list(workflow.stages.order_by("position"))
    for handoff in handoffs.values():
        # Each handoff's next stage from one list (Handoff.to_stage queries per handoff).
        handoff._to_stage = next(
            (s for s in stages if s.position > handoff.from_stage.position), None
        )
    ranking = []
    for pk, wait, bounces, submissions, rec_n, rec_s, breakages, stall_n, stall_s in rows:
        ranking.append(
            {
                "handoff": handoffs[pk],
                "wait_days": wait / DAY,
                "bounces": int(bounces),
                "submissions": int(submissions),
                "recoveries": int(rec_n),
                "recovery_days": rec_s / DAY,
                "breakages": int(breakages),
                "stalls": int(stall_n),
                "stall_days": stall_s / DAY,
                "delay_days": (wait + rec_s) / DAY,
            }
        )
    ranking.sort(key=lambda r: (-r["delay_days"], -r["breakages"], r["handoff"].pk))
    return [r for r in ranking if r["delay_days"] > 0 or r["breakages"] or r["stalls"]][
        :RANKING_LIMIT
    ]


def service_level_bands(workflow, lead, *, now=None):
    """Open items by where their age stands against delivered items' p50/p85/p95:
    Sustain (under p50), Observe (p50–p85), Act (over p85; over p95 is urgent)."""
    now = now or timezone.now()
    bands = {"sustain": 0, "observe": 0, "act": 0, "over_p95": 0}
    if lead["p85"] is None:
        return {**bands, "known": False}
    p50, p85, p95 = (now - datetime.timedelta(seconds=lead[k]) for k in ("p50", "p85", "p95"))
    counts = (
        WorkItem.objects.open()
        .filter(workflow=workflow)
        .aggregate(
            sustain=Count("pk", filter=Q(requested_at__gt=p50)),
            observe=Count("pk", filter=Q(requested_at__lte=p50, requested_at__gt=p85)),
            act=Count("pk", filter=Q(requested_at__lte=p85)),
            over_p95=Count("pk", filter=Q(requested_at__lte=p95)),
        )
    )
    return {**counts, "known": True}
