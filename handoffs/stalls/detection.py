"""Stall detection: open an episode when an item waits past its target, resolve it when it moves.

Every pass is one set-based statement per kind, bounded by BATCH rows, and safe to run in
two schedulers at once: new episodes go in with INSERT … ON CONFLICT DO NOTHING against the
"one open episode per item and kind" constraint, and resolution locks rows with SKIP LOCKED.
The time is always passed in from Python (never the database's now()) so tests can travel.
"""

import datetime
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from handoffs.stalls import escalation
from handoffs.stalls.alerts import queue_due_emails
from handoffs.stalls.models import StallEpisode
from handoffs.work.models import Event
from handoffs.workflows.models import TeamCalendar
from opshub.lib.worktime_sql import between_sql, deadline_sql
from opshub.mail.models import Notification
from opshub.scheduler.models import Heartbeat

logger = logging.getLogger(__name__)

BATCH = 500
# A red decision has no target of its own; one working day is what approvers promise.
DECISION_TARGET = datetime.timedelta(hours=24)
# A stage without a target falls back to its own 85th percentile of time-in-stage, once
# it has this many past visits in the window (fewer would make the percentile noise).
# Only workflows with such a stage read their history for it: at 100,000 items the
# percentile over every workflow's 180 days was 0.4 s of each scan (`make bench`).
P85_MIN_SAMPLES = 5
P85_WINDOW = datetime.timedelta(days=180)

Kind = StallEpisode.Kind

# Working seconds a wait has lasted on its team's calendar, and when twice its target (its
# escalation) falls in working time: NULL when the team has no calendar, and calendar time
# counts (docs/calendars.md). `c` is the team's row of the scan's `worktime` CTE.
_WAITED_SINCE_HANDOFF = between_sql("c", "i.state_changed_at", "%(now)s")
_ESCALATE_AFTER_HANDOFF = deadline_sql(
    "c",
    "i.state_changed_at",
    "EXTRACT(EPOCH FROM COALESCE(i.escalation_delay, i.acceptance_target * 2))",
)
_WAITED_IN_STAGE = between_sql("c", "i.stage_entered_at", "%(now)s")
_ESCALATE_IN_STAGE = deadline_sql(
    "c", "i.stage_entered_at", "EXTRACT(EPOCH FROM COALESCE(s.target, p.target) * 2)"
)

# An open item (`i`) whose stored 85% date (`f`) falls after its due date, which has not
# passed yet: the due_at_risk rule, for detection and resolution alike.
_AT_RISK = """i.due_date IS NOT NULL AND i.state NOT IN ('done', 'cancelled')
          AND i.due_date >= (%(now)s AT TIME ZONE %(site_tz)s)::date
          AND (f.p85_at AT TIME ZONE %(site_tz)s)::date > i.due_date"""

# Each query yields: item_id, owner_id, escalate_to_id, started_at, target, target_source,
# escalation_delay, recovery_id and due_date (NULL but for due_at_risk). Sandbox workflows
# are for safe mistakes: they never stall.
_CANDIDATES = {
    # The waiting items first, on their state index: joined directly, the planner chose a
    # merge join along pending_version_id, which every accepted item keeps too, so it read
    # all 100,000 items for ≈2,200 waiting ones (45 ms against 12 ms, `make bench`). The
    # team owning the wait is settled there too: joined on COALESCE(…) afterwards, each
    # waiting item met every team in a nested loop and the working-time arithmetic ran
    # for every pair (10,000 evaluations for 1,500 items).
    Kind.HANDOFF_UNACCEPTED: f"""
        WITH waiting AS MATERIALIZED (
            SELECT id, workflow_id, stage_id, pending_version_id, assignee_id, state_changed_at
            FROM handoffs_workitem WHERE state = 'waiting_acceptance'
        ), owned AS MATERIALIZED (
            SELECT i.id, i.assignee_id, i.state_changed_at, v.acceptance_target,
                   v.escalation_delay, COALESCE(v.receiving_team_id, s.team_id) AS team_id
            FROM waiting i
            JOIN handoffs_workflow w ON w.id = i.workflow_id AND NOT w.is_sandbox
            JOIN handoffs_protocolversion v ON v.id = i.pending_version_id
            JOIN handoffs_stage s ON s.id = i.stage_id
            WHERE i.state_changed_at + v.acceptance_target <= %(now)s
        )
        SELECT i.id, COALESCE(i.assignee_id, t.lead_id), t.lead_id, i.state_changed_at,
               i.acceptance_target, 'protocol',
               COALESCE({_ESCALATE_AFTER_HANDOFF} - i.state_changed_at,
                        i.escalation_delay, i.acceptance_target * 2), NULL::bigint, NULL::date
        FROM owned i
        JOIN handoffs_team t ON t.id = i.team_id
        LEFT JOIN worktime c ON c.key = t.id
        WHERE COALESCE({_WAITED_SINCE_HANDOFF}, EXTRACT(EPOCH FROM i.acceptance_target))
              >= EXTRACT(EPOCH FROM i.acceptance_target)
    """,  # noqa: S608 - only the fixed SQL above is formatted in
    Kind.STAGE_OVER_TARGET: f"""
        WITH moves AS (
            SELECT e.to_stage_id AS stage_id, e.at,
                   LEAD(e.at) OVER (PARTITION BY e.item_id ORDER BY e.at, e.id) AS left_at
            FROM handoffs_event e
            JOIN handoffs_workitem wi ON wi.id = e.item_id
            WHERE e.kind IN ('created', 'handoff_submitted', 'handoff_bounced',
                             'delivered', 'cancelled')
              AND e.at >= %(history_since)s
              AND wi.workflow_id IN (SELECT workflow_id FROM handoffs_stage
                                     WHERE target IS NULL)
              -- Checked once, before any event is read.
              AND EXISTS (SELECT 1 FROM handoffs_stage WHERE target IS NULL)
        ), p85 AS (
            SELECT stage_id,
                   percentile_cont(0.85) WITHIN GROUP (ORDER BY left_at - at) AS target
            FROM moves
            WHERE stage_id IS NOT NULL AND left_at IS NOT NULL
            GROUP BY stage_id
            HAVING count(*) >= %(min_samples)s
        )
        SELECT i.id, COALESCE(i.assignee_id, t.lead_id), t.lead_id, i.stage_entered_at,
               COALESCE(s.target, p.target),
               CASE WHEN s.target IS NULL THEN 'p85' ELSE 'stage' END,
               COALESCE({_ESCALATE_IN_STAGE} - i.stage_entered_at,
                        COALESCE(s.target, p.target) * 2), NULL::bigint, NULL::date
        FROM handoffs_workitem i
        JOIN handoffs_workflow w ON w.id = i.workflow_id AND NOT w.is_sandbox
        JOIN handoffs_stage s ON s.id = i.stage_id
        JOIN handoffs_team t ON t.id = s.team_id
        LEFT JOIN p85 p ON p.stage_id = s.id AND s.target IS NULL
        LEFT JOIN worktime c ON c.key = t.id
        WHERE i.state = 'in_progress'
          AND COALESCE(s.target, p.target) > interval '0'
          AND i.stage_entered_at + COALESCE(s.target, p.target) <= %(now)s
          AND COALESCE({_WAITED_IN_STAGE}, EXTRACT(EPOCH FROM COALESCE(s.target, p.target)))
              >= EXTRACT(EPOCH FROM COALESCE(s.target, p.target))
    """,  # noqa: S608 - only the fixed SQL above is formatted in
    Kind.RECOVERY_OVERDUE: """
        SELECT i.id, COALESCE(r.owner_id, t.lead_id), t.lead_id, r.opened_at,
               r.next_check_at - r.opened_at, 'recovery',
               (r.next_check_at - r.opened_at) * 2, r.id, NULL::date
        FROM handoffs_recovery r
        JOIN handoffs_workitem i ON i.id = r.item_id
        JOIN handoffs_workflow w ON w.id = i.workflow_id AND NOT w.is_sandbox
        JOIN handoffs_stage s ON s.id = i.stage_id
        JOIN handoffs_team t ON t.id = s.team_id
        WHERE r.closed_at IS NULL AND r.next_check_at <= %(now)s
    """,
    Kind.DECISION_UNANSWERED: """
        SELECT i.id, COALESCE(d.approver_id, t.lead_id), t.lead_id, d.requested_at,
               %(decision_target)s, 'decision', %(decision_target)s * 2, NULL::bigint,
               NULL::date
        FROM handoffs_decision d
        JOIN handoffs_workitem i ON i.id = d.item_id
        JOIN handoffs_workflow w ON w.id = i.workflow_id AND NOT w.is_sandbox
        JOIN handoffs_stage s ON s.id = i.stage_id
        JOIN handoffs_team t ON t.id = s.team_id
        WHERE d.status = 'pending' AND i.state = 'awaiting_decision'
          AND d.requested_at + %(decision_target)s <= %(now)s
    """,
    # The promise is kept through the due date: it is missed at the midnight after it, in
    # the site's time zone. On the item_open_due_date partial index.
    Kind.DUE_MISSED: """
        SELECT i.id, COALESCE(i.assignee_id, t.lead_id),
               t.lead_id,
               (i.due_date + 1)::timestamp AT TIME ZONE %(site_tz)s, interval '0', 'due_date',
               interval '1 day', NULL::bigint, NULL::date
        FROM handoffs_workitem i
        JOIN handoffs_workflow w ON w.id = i.workflow_id AND NOT w.is_sandbox
        JOIN handoffs_stage s ON s.id = i.stage_id
        JOIN handoffs_team t ON t.id = s.team_id
        WHERE i.due_date IS NOT NULL AND i.state NOT IN ('done', 'cancelled')
          AND i.due_date < (%(now)s AT TIME ZONE %(site_tz)s)::date
    """,
    # The stored 85% date (handoffs_dueforecast, written by the scoreboard's forecast task)
    # falls after the due date, which has not passed yet (then it is due_missed). One join
    # on the table's primary key: never a forecast per item here.
    Kind.DUE_AT_RISK: f"""
        SELECT i.id, COALESCE(i.assignee_id, t.lead_id), t.lead_id, %(now)s::timestamptz,
               interval '0', f.method, interval '1 day', NULL::bigint, i.due_date
        FROM handoffs_dueforecast f
        JOIN handoffs_workitem i ON i.id = f.item_id
        JOIN handoffs_workflow w ON w.id = i.workflow_id AND NOT w.is_sandbox
        JOIN handoffs_stage s ON s.id = i.stage_id
        JOIN handoffs_team t ON t.id = s.team_id
        WHERE {_AT_RISK}
    """,  # noqa: S608 - only the fixed SQL above is formatted in
}

# The kinds whose targets count the owning team's working time (docs/calendars.md).
_WORKING_TIME_KINDS = (Kind.HANDOFF_UNACCEPTED, Kind.STAGE_OVER_TARGET)

_OPEN_SQL = """
    WITH {worktime}candidates AS (
        SELECT * FROM ({candidates}) AS c(item_id, owner_id, escalate_to_id, started_at, target,
                                           target_source, escalation_delay, recovery_id,
                                           due_date)
        WHERE NOT EXISTS (
            SELECT 1 FROM handoffs_stallepisode e
            WHERE e.item_id = c.item_id AND e.kind = %(kind)s AND e.resolved_at IS NULL
        )
        AND (%(items)s::bigint[] IS NULL OR c.item_id = ANY(%(items)s::bigint[]))
        ORDER BY started_at
        LIMIT %(batch)s
    )
    INSERT INTO handoffs_stallepisode (
        item_id, kind, owner_id, escalate_to_id, started_at, target, target_source,
        escalation_delay, recovery_id, due_date, detected_at, snooze_reason, next_check_at
    )
    SELECT c.item_id, %(kind)s, c.owner_id,
           -- Until the escalation step (handoffs.stalls.escalation) applies the workflow's
           -- policy later in this scan: the default policy's next level, never the holder.
           COALESCE(NULLIF(c.escalate_to_id, c.owner_id), NULLIF(wf.created_by_id, c.owner_id),
                    (SELECT min(u.id) FROM accounts_user u WHERE u.role = 'admin'
                     AND u.is_active AND u.id IS DISTINCT FROM c.owner_id)),
           c.started_at, c.target, c.target_source, c.escalation_delay, c.recovery_id,
           c.due_date, %(now)s, '', %(now)s
    FROM candidates c
    JOIN handoffs_workitem wi ON wi.id = c.item_id
    JOIN handoffs_workflow wf ON wf.id = wi.workflow_id
    ON CONFLICT (item_id, kind) WHERE resolved_at IS NULL DO NOTHING
    RETURNING id, item_id, owner_id, target
"""

# An episode ends when the wait it measured is over: the item left that state or stage,
# or (for recoveries) the recovery closed or its check time moved into the future; a
# due-date risk ends when the item is delivered, its due date moves or passes (due_missed
# takes over), or its 85% date comes back before the due date.
# One anti-join per kind against the rows that keep an episode open (each on its own
# partial index), so with 100,000 open episodes the check is a few hash joins, not a
# lookup per episode (`make bench`: 0.9 s → ≈0.1 s). One state per kind, so the items
# side is that state's items, not all 100,000 hashed (as seeded: 57 → ≈10 ms).
_RESOLVE_SQL = """
    UPDATE handoffs_stallepisode e SET resolved_at = %(now)s
    WHERE e.id IN (
        SELECT e2.id FROM handoffs_stallepisode e2
        WHERE e2.resolved_at IS NULL AND e2.id IN (
            SELECT s.id FROM handoffs_stallepisode s
            WHERE s.resolved_at IS NULL AND s.kind = 'handoff_unaccepted'
              AND (%(episodes)s::bigint[] IS NULL OR s.id = ANY(%(episodes)s::bigint[]))
              AND NOT EXISTS (
                SELECT 1 FROM handoffs_workitem i
                WHERE i.id = s.item_id AND i.state = 'waiting_acceptance'
                  AND i.state_changed_at = s.started_at)
            UNION ALL
            SELECT s.id FROM handoffs_stallepisode s
            WHERE s.resolved_at IS NULL AND s.kind = 'stage_over_target'
              AND (%(episodes)s::bigint[] IS NULL OR s.id = ANY(%(episodes)s::bigint[]))
              AND NOT EXISTS (
                SELECT 1 FROM handoffs_workitem i
                WHERE i.id = s.item_id AND i.state = 'in_progress'
                  AND i.stage_entered_at = s.started_at)
            UNION ALL
            SELECT s.id FROM handoffs_stallepisode s
            WHERE s.resolved_at IS NULL AND s.kind = 'recovery_overdue' AND NOT EXISTS (
                SELECT 1 FROM handoffs_recovery r
                WHERE r.id = s.recovery_id AND r.closed_at IS NULL
                  AND r.next_check_at <= %(now)s)
            UNION ALL
            SELECT s.id FROM handoffs_stallepisode s
            WHERE s.resolved_at IS NULL AND s.kind = 'decision_unanswered' AND NOT EXISTS (
                SELECT 1 FROM handoffs_workitem i
                JOIN handoffs_decision d ON d.item_id = i.id AND d.status = 'pending'
                WHERE i.id = s.item_id AND i.state = 'awaiting_decision'
                  AND d.requested_at = s.started_at)
            UNION ALL
            SELECT s.id FROM handoffs_stallepisode s
            WHERE s.resolved_at IS NULL AND s.kind = 'due_missed' AND NOT EXISTS (
                SELECT 1 FROM handoffs_workitem i
                WHERE i.id = s.item_id AND i.state NOT IN ('done', 'cancelled')
                  AND (i.due_date + 1)::timestamp AT TIME ZONE %(site_tz)s = s.started_at)
            UNION ALL
            SELECT s.id FROM handoffs_stallepisode s
            WHERE s.resolved_at IS NULL AND s.kind = 'due_at_risk' AND NOT EXISTS (
                SELECT 1 FROM handoffs_workitem i
                JOIN handoffs_dueforecast f ON f.item_id = i.id
                WHERE i.id = s.item_id AND i.due_date = s.due_date AND {at_risk})
        )
        ORDER BY e2.id
        LIMIT %(batch)s
        FOR UPDATE OF e2 SKIP LOCKED
    )
    RETURNING e.id, e.item_id, e.kind, e.started_at
""".replace("{at_risk}", _AT_RISK)

# The item-state kinds matched against the items in one pass: open episodes whose item
# left that state (or re-entered it: another start) and items in such a state without
# an episode. Resolving and detecting then look only at these, not at every open item
# and episode twice (with 100,000 items open, two passes over both were most of a scan).
_UNMATCHED_SQL = """
    WITH current AS (
        SELECT id AS item_id,
               CASE state WHEN 'waiting_acceptance' THEN 'handoff_unaccepted'
                          ELSE 'stage_over_target' END AS kind,
               CASE state WHEN 'waiting_acceptance' THEN state_changed_at
                          ELSE stage_entered_at END AS started_at
        FROM handoffs_workitem WHERE state IN ('waiting_acceptance', 'in_progress')
    ), episodes AS (
        SELECT id, item_id, kind, started_at FROM handoffs_stallepisode
        WHERE resolved_at IS NULL AND kind IN ('handoff_unaccepted', 'stage_over_target')
    )
    SELECT e.id, c.item_id, c.kind
    FROM current c FULL JOIN episodes e
      ON e.item_id = c.item_id AND e.kind = c.kind AND e.started_at = c.started_at
    WHERE e.id IS NULL OR c.item_id IS NULL
"""

# JIT compilation costs ≈0.1 s per statement whose estimate looks big (the scan's do,
# over 100,000 open items) and never pays off in statements this short.
_NO_JIT = "SET LOCAL jit = off"


def _params(now, **extra):
    return {
        "now": now,
        "batch": BATCH,
        "history_since": now - P85_WINDOW,
        "min_samples": P85_MIN_SAMPLES,
        "decision_target": DECISION_TARGET,
        "site_tz": settings.TIME_ZONE,
        # None: every item and episode; a list: only those (from _UNMATCHED_SQL).
        "items": None,
        "episodes": None,
        **extra,
    }


def open_statement(kind, now, worktime, **params):
    """The INSERT that opens `kind`'s new episodes and its parameters; `worktime` is the
    scan's (cte, params) of the team calendars, carried by the working-time kinds only."""
    timed = kind in _WORKING_TIME_KINDS
    sql = _OPEN_SQL.format(
        candidates=_CANDIDATES[kind], worktime=f"{worktime[0]}, " if timed else ""
    )
    return sql, _params(now, kind=kind.value, **params) | (worktime[1] if timed else {})


@transaction.atomic
def open_episodes(*, now, items=None, worktime=None):
    """Opens an episode for every newly stalled item (at most BATCH per kind). Returns the count.

    `items`: {kind: item ids}, the only items that can be newly stalled in the item-state
    kinds (see unmatched()); `worktime`: TeamCalendar.scan_cte(now), built here when not given."""
    opened = []
    worktime = worktime or TeamCalendar.scan_cte(now)
    with connection.cursor() as cursor:
        cursor.execute(_NO_JIT)
        for kind in _CANDIDATES:
            scoped = None
            if items is not None and kind in _ITEM_STATE_KINDS:
                scoped = items.get(kind.value, [])
            cursor.execute(*open_statement(kind, now, worktime, items=scoped))
            opened += [(kind, *row) for row in cursor.fetchall()]
    if not opened:
        return 0
    link = reverse("handoffs:stall-list")
    Event.objects.bulk_create(
        Event(
            item_id=item_id,
            kind=Event.Kind.STALL_STARTED,
            at=now,
            payload={
                "episode_id": pk,
                "stall_kind": kind.value,
                "target_seconds": int(target.total_seconds()),
            },
        )
        for kind, pk, item_id, owner_id, target in opened
    )
    titles = dict(
        StallEpisode.objects.filter(pk__in=[row[1] for row in opened]).values_list(
            "pk", "item__title"
        )
    )
    Notification.objects.bulk_create(
        Notification(
            user_id=owner_id,
            item_id=item_id,
            message=f"Stalled: {titles[pk]} — {kind.label.lower()}"[:300],
            url=f"{link}{pk}/",
            created_at=now,
        )
        for kind, pk, item_id, owner_id, target in opened
        if owner_id is not None
    )
    return len(opened)


@transaction.atomic
def resolve_episodes(*, now, episodes=None):
    """Resolves the open episodes whose item has moved on (at most BATCH). Returns the count.

    `episodes`: only these can have ended in the item-state kinds (see unmatched())."""
    with connection.cursor() as cursor:
        cursor.execute(_NO_JIT)
        cursor.execute(_RESOLVE_SQL, _params(now, episodes=episodes))
        resolved = cursor.fetchall()
    Event.objects.bulk_create(
        Event(
            item_id=item_id,
            kind=Event.Kind.STALL_RESOLVED,
            at=now,
            payload={
                "episode_id": pk,
                "stall_kind": kind,
                "waited_seconds": int((now - started_at).total_seconds()),
            },
        )
        for pk, item_id, kind, started_at in resolved
    )
    return len(resolved)


_ITEM_STATE_KINDS = (Kind.HANDOFF_UNACCEPTED, Kind.STAGE_OVER_TARGET)


# Below this many open item-state episodes the scan skips the one-pass match: resolve's
# anti-join per episode and detect's candidate queries (each on its partial index) are
# cheaper than a pass over every open item. As seeded (≈5,000 open items, ≈2,300
# stalled) the match was a sequential scan of the items table, ≈35 ms of a ≈100 ms
# scan (`make bench`); with 100,000 items open it saves two passes over both.
MATCH_ABOVE = 10_000

# Bounded count of open item-state episodes: reads at most MATCH_ABOVE index entries.
_OPEN_EPISODES_SQL = """
    SELECT count(*) FROM (
        SELECT 1 FROM handoffs_stallepisode
        WHERE resolved_at IS NULL AND kind IN ('handoff_unaccepted', 'stage_over_target')
        LIMIT %(limit)s
    ) AS open_episodes
"""


def many_open_episodes():
    """True when enough item-state episodes are open for unmatched() to pay off."""
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_EPISODES_SQL, {"limit": MATCH_ABOVE})
        return cursor.fetchone()[0] >= MATCH_ABOVE


@transaction.atomic
def unmatched():
    """(episode ids that may have ended, {kind: item ids that may be newly stalled}) in the
    item-state kinds: one pass over open items and open episodes."""
    with connection.cursor() as cursor:
        cursor.execute(_NO_JIT)
        cursor.execute(_UNMATCHED_SQL)
        rows = cursor.fetchall()
    items = {}
    for _, item_id, kind in rows:
        if item_id is not None:
            items.setdefault(kind, []).append(item_id)
    return [episode_id for episode_id, _, _ in rows if episode_id is not None], items


def run_scan(*, now=None):
    """One scan: resolve, detect, queue the due emails, and beat the heartbeat.

    The Celery task and `manage.py scan_stalls` both call this.
    """
    now = now or timezone.now()
    # None: resolve and detect check every open episode and item themselves.
    ended, unstalled = unmatched() if many_open_episodes() else (None, None)
    worktime = TeamCalendar.scan_cte(now)
    result = {
        "resolved": resolve_episodes(now=now, episodes=ended),
        "opened": open_episodes(now=now, items=unstalled, worktime=worktime),
        "escalated": escalation.advance(now=now, worktime=worktime),
        "emails_queued": queue_due_emails(now=now),
    }
    Heartbeat.beat("scan_stalls", **result)
    if result["opened"] or result["resolved"]:
        logger.info("stall scan", extra=result)
    return result


def stalled_now(limit=10):
    """Open episodes, longest-stalled first, for the dashboard's stalled-now list."""
    return list(StallEpisode.objects.open().for_list().order_by("started_at", "pk")[:limit])


def open_counts_by_handoff(handoff_ids):
    """{handoff id: open stalls at that handoff}: unaccepted handoffs and overdue recoveries."""
    rows = (
        StallEpisode.objects.open()
        .filter(
            Q(kind=Kind.HANDOFF_UNACCEPTED, item__pending_version__handoff__in=handoff_ids)
            | Q(kind=Kind.RECOVERY_OVERDUE, recovery__handoff__in=handoff_ids)
        )
        .annotate(handoff_id=Coalesce("item__pending_version__handoff", "recovery__handoff"))
        .values("handoff_id")
        .annotate(n=Count("pk"))
    )
    return {row["handoff_id"]: row["n"] for row in rows}
