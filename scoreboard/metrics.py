"""Metrics in PostgreSQL: the event log → per-item facts, and window aggregates over the facts.

Deriving facts (where an item's time went) reads the event log once per delivered item
with window functions: each event opens an interval that ends at the next event
(LEAD), and the interval is labelled with the stage the item was in and what it was
doing. Running counts (COUNT … FILTER … OVER) track open blocks and open decisions;
"the last event that set the stage / base state" is found by numbering groups with a
running count and taking FIRST_VALUE inside each group.

    blocked            a block or bounce is open (until `unblocked`)
    decision           a red decision is pending (until approved or denied)
    waiting            handed off, not yet accepted or bounced
    working            otherwise (in an `active` stage it counts for flow efficiency)

Percentiles use `percentile_cont`, which interpolates linearly between the two nearest
ranks: the same as numpy.percentile's default method ('linear', Hyndman–Fan type 7).
The median is percentile_cont(0.5): the midpoint of the two middle values when the
count is even.
"""

import datetime

from django.db import connection

from opshub.lib.worktime_sql import between_sql, cte
from scoreboard.worktime import MARGIN_DAYS, delivering_calendars, sql_params

# Advisory lock keys (pg_advisory_xact_lock(int4, int4) space): one namespace for the
# whole snapshot, one for single items.
LOCK_NAMESPACE = 0x5C0E
LOCK_ALL = 0
LOCK_ITEMS = 0x5C0F
MAX_ITEM_LOCKS = 500


# Events of delivered items up to their delivery, with running state per item, cut
# into labelled intervals. Materialised once per rebuild in a temporary table.
_INTERVALS = """
CREATE TEMPORARY TABLE scoreboard_intervals ON COMMIT DROP AS
WITH ev AS (
    SELECT e.item_id, e.id, e.kind, e.at, e.to_stage_id, i.delivered_at,
           COUNT(*) FILTER (WHERE e.kind IN ('created', 'handoff_submitted', 'handoff_bounced'))
               OVER w AS stage_grp,
           COUNT(*) FILTER (WHERE e.kind IN ('created', 'handoff_submitted',
                                             'handoff_accepted', 'handoff_bounced'))
               OVER w AS base_grp,
           COUNT(*) FILTER (WHERE e.kind IN ('blocked', 'handoff_bounced')) OVER w
             - COUNT(*) FILTER (WHERE e.kind = 'unblocked') OVER w AS open_blocks,
           COUNT(*) FILTER (WHERE e.kind = 'decision_requested') OVER w
             - COUNT(*) FILTER (WHERE e.kind IN ('decision_approved', 'decision_denied'))
               OVER w AS open_decisions,
           LEAD(e.at) OVER w AS next_at
    FROM handoffs_event e
    JOIN handoffs_workitem i ON i.id = e.item_id
    WHERE i.state = 'done' AND e.at <= i.delivered_at {scope}
    WINDOW w AS (PARTITION BY e.item_id ORDER BY e.at, e.id)
),
st AS (
    SELECT ev.*,
           FIRST_VALUE(to_stage_id) OVER (PARTITION BY item_id, stage_grp ORDER BY at, id)
               AS stage_id,
           FIRST_VALUE(kind) OVER (PARTITION BY item_id, base_grp ORDER BY at, id) AS base_kind
    FROM ev
)
SELECT item_id, stage_id,
       EXTRACT(EPOCH FROM LEAST(next_at, delivered_at) - at)::float8 AS seconds,
       CASE WHEN open_blocks > 0 THEN 'blocked'
            WHEN open_decisions > 0 THEN 'decision'
            WHEN base_kind = 'handoff_submitted' THEN 'waiting'
            ELSE 'working' END AS category
FROM st
WHERE next_at IS NOT NULL AND stage_id IS NOT NULL
  -- The final delivery ends the item; one taken back (delivery_undone) starts a stretch.
  AND (kind <> 'delivered' OR at < delivered_at)
"""

_INSERT_STAGES = """
INSERT INTO scoreboard_stagetimefact
    (item_id, stage_id, workflow_id, delivered_at, total_seconds, working_seconds,
     waiting_seconds, blocked_seconds, decision_seconds)
SELECT iv.item_id, iv.stage_id, i.workflow_id, i.delivered_at, SUM(seconds),
       COALESCE(SUM(seconds) FILTER (WHERE category = 'working'), 0),
       COALESCE(SUM(seconds) FILTER (WHERE category = 'waiting'), 0),
       COALESCE(SUM(seconds) FILTER (WHERE category = 'blocked'), 0),
       COALESCE(SUM(seconds) FILTER (WHERE category = 'decision'), 0)
FROM scoreboard_intervals iv JOIN handoffs_workitem i ON i.id = iv.item_id
GROUP BY iv.item_id, iv.stage_id, i.workflow_id, i.delivered_at
"""

# A submission's wait ends at the item's next accept or bounce.
_INSERT_HANDOFFS = """
WITH hv AS (
    SELECT e.item_id, e.id, e.kind, e.at, e.from_stage_id, e.to_stage_id,
           i.workflow_id, i.delivered_at,
           LEAD(e.kind) OVER w AS next_kind,
           LEAD(e.at) OVER w AS next_at
    FROM handoffs_event e
    JOIN handoffs_workitem i ON i.id = e.item_id
    WHERE i.state = 'done' AND e.at <= i.delivered_at
      AND e.kind IN ('handoff_submitted', 'handoff_accepted', 'handoff_bounced') {scope}
    WINDOW w AS (PARTITION BY e.item_id ORDER BY e.at, e.id)
),
sub AS (
    SELECT hv.*,
           ROW_NUMBER() OVER (PARTITION BY item_id, from_stage_id, to_stage_id
                              ORDER BY at, id) AS attempt
    FROM hv WHERE kind = 'handoff_submitted' AND from_stage_id IS NOT NULL
)
INSERT INTO scoreboard_handofffact
    (item_id, from_stage_id, to_stage_id, workflow_id, delivered_at, submissions, bounces,
     wait_seconds, first_pass)
SELECT item_id, from_stage_id, to_stage_id, workflow_id, delivered_at, COUNT(*),
       COUNT(*) FILTER (WHERE next_kind = 'handoff_bounced'),
       COALESCE(SUM(EXTRACT(EPOCH FROM next_at - at)::float8)
                FILTER (WHERE next_kind IN ('handoff_accepted', 'handoff_bounced')), 0),
       COALESCE(BOOL_OR(attempt = 1 AND next_kind = 'handoff_accepted'), FALSE)
FROM sub
GROUP BY item_id, from_stage_id, to_stage_id, workflow_id, delivered_at
"""

_INSERT_ITEMS = """
WITH per_item AS (
    SELECT iv.item_id,
           SUM(seconds) FILTER (WHERE category = 'working') AS working,
           SUM(seconds) FILTER (WHERE category = 'working' AND s.kind = 'active') AS active,
           SUM(seconds) FILTER (WHERE category = 'waiting') AS waiting,
           SUM(seconds) FILTER (WHERE category = 'blocked') AS blocked,
           SUM(seconds) FILTER (WHERE category = 'decision') AS decision
    FROM scoreboard_intervals iv JOIN handoffs_stage s ON s.id = iv.stage_id
    GROUP BY iv.item_id
),
counts AS (
    SELECT item_id, SUM(submissions) AS handoffs, SUM(bounces) AS bounces
    FROM scoreboard_handofffact h WHERE TRUE {scope_facts}
    GROUP BY item_id
),
fingerprint AS (
    {fingerprint}
),
{delivering},
{worktime}
INSERT INTO scoreboard_delivereditemfact
    (item_id, workflow_id, requested_at, delivered_at, delivered_on, cycle_seconds,
     cycle_working_seconds, worktime_stamp,
     working_seconds, active_seconds, waiting_seconds, blocked_seconds, decision_seconds,
     handoffs, bounces, computed_at, event_count, last_event_id)
SELECT i.id, i.workflow_id, i.requested_at, i.delivered_at,
       (i.delivered_at AT TIME ZONE 'UTC')::date,
       EXTRACT(EPOCH FROM i.delivered_at - i.requested_at)::float8,
       -- Working time on the delivering team's calendar; calendar time without one. A
       -- calendar with no working day in the table's window has no row: 0 working seconds.
       CASE WHEN d.team_id IS NULL
            THEN EXTRACT(EPOCH FROM i.delivered_at - i.requested_at)::float8
            ELSE COALESCE({working_cycle}, 0) END,
       COALESCE(d.stamp, ''),
       COALESCE(p.working, 0), COALESCE(p.active, 0), COALESCE(p.waiting, 0),
       COALESCE(p.blocked, 0), COALESCE(p.decision, 0),
       COALESCE(c.handoffs, 0), COALESCE(c.bounces, 0), now(),
       COALESCE(f.events, 0), f.last_event_id
FROM handoffs_workitem i
LEFT JOIN per_item p ON p.item_id = i.id
LEFT JOIN counts c ON c.item_id = i.id
LEFT JOIN fingerprint f ON f.item_id = i.id
LEFT JOIN delivering d ON d.workflow_id = i.workflow_id
LEFT JOIN worktime wc ON wc.key = d.team_id
WHERE i.state = 'done' {scope_items}
"""

# The workflows whose delivering team has a calendar (scoreboard.worktime), as a table.
_DELIVERING = """delivering(workflow_id, team_id, stamp) AS (
    SELECT * FROM unnest(%(wt_workflows)s::bigint[], %(wt_teams)s::bigint[],
                         %(wt_stamps)s::text[])
)"""

# The time the working-time table must cover: the scope's delivered items in workflows
# with a calendar, request to delivery.
_WINDOW = """
SELECT MIN(i.requested_at), MAX(i.delivered_at)
FROM handoffs_workitem i
WHERE i.state = 'done' AND i.workflow_id = ANY(%(wt_workflows)s) {scope_items}
"""

# What an item's facts are derived from: its events up to delivery. One hash aggregate
# over the event log, the same shape as a bare cycle-time query.
_FINGERPRINT = """
    SELECT e.item_id, COUNT(*) AS events, MAX(e.id) AS last_event_id
    FROM handoffs_event e
    JOIN handoffs_workitem i ON i.id = e.item_id
    WHERE i.state = 'done' AND e.at <= i.delivered_at {scope}
    GROUP BY e.item_id
"""

# Items whose facts no longer match their inputs: delivered items without facts or whose
# events, dates, workflow or working calendar changed, or whose fingerprint was cleared (a
# stage of theirs changed kind: migration 0003's trigger); facts of items no longer
# delivered. The three fact tables of an item are always written together, and facts of
# deleted items go with them (ON DELETE CASCADE).
_STALE = """
WITH fingerprint AS ({fingerprint}),
{delivering}
SELECT i.id
FROM handoffs_workitem i
LEFT JOIN fingerprint fp ON fp.item_id = i.id
LEFT JOIN scoreboard_delivereditemfact f ON f.item_id = i.id
LEFT JOIN delivering d ON d.workflow_id = i.workflow_id
WHERE i.state = 'done' AND (
    f.item_id IS NULL
    -- Counted on another calendar (edited, or another delivering team) or on none.
    OR f.worktime_stamp <> COALESCE(d.stamp, '')
    OR f.event_count <> COALESCE(fp.events, 0)
    OR f.last_event_id IS DISTINCT FROM fp.last_event_id
    OR f.delivered_at <> i.delivered_at
    OR f.requested_at <> i.requested_at
    OR f.workflow_id <> i.workflow_id
)
UNION
SELECT f.item_id FROM scoreboard_delivereditemfact f
JOIN handoffs_workitem i ON i.id = f.item_id AND i.state <> 'done'
"""

_FACT_TABLES = (
    "scoreboard_delivereditemfact",
    "scoreboard_stagetimefact",
    "scoreboard_handofffact",
)


def _worktime(cursor, calendars, ids):
    """The working-time table for the scope's items and its named params; the window is
    read only when some workflow has a calendar (otherwise the table is empty)."""
    _, params = sql_params(calendars, None)
    window = None
    if params["wt_workflows"]:
        scope_items = "AND i.id = ANY(%(ids)s)" if ids is not None else ""
        cursor.execute(_WINDOW.format(scope_items=scope_items), {**params, "ids": ids})
        first, last = cursor.fetchone()
        if first is not None:
            margin = datetime.timedelta(days=MARGIN_DAYS)
            window = (min(first, last) - margin, max(first, last) + margin)
    table, params = sql_params(calendars, window)
    worktime, table_params = cte(table, "worktime")
    return worktime, {**params, **table_params}


def _run_inserts(cursor, ids=None, calendars=None):
    """The three fact tables from the event log, for the given items (None: all)."""
    # No user input reaches the SQL text: each scope is one of two fixed clauses.
    scoped = ids is not None
    params = {"ids": ids} if scoped else None
    scope = "AND e.item_id = ANY(%(ids)s)" if scoped else ""
    calendars = delivering_calendars() if calendars is None else calendars
    # Big sorts (a full rebuild sorts the whole event log) stay in memory.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute("DROP TABLE IF EXISTS scoreboard_intervals")
    cursor.execute(_INTERVALS.format(scope=scope), params)
    cursor.execute(_INSERT_STAGES)
    cursor.execute(_INSERT_HANDOFFS.format(scope=scope), params)
    worktime, worktime_params = _worktime(cursor, calendars, ids)
    cursor.execute(
        _INSERT_ITEMS.format(
            scope_facts="AND h.item_id = ANY(%(ids)s)" if scoped else "",
            scope_items="AND i.id = ANY(%(ids)s)" if scoped else "",
            fingerprint=_FINGERPRINT.format(scope=scope),
            delivering=_DELIVERING,
            worktime=worktime,
            working_cycle=between_sql("wc", "i.requested_at", "i.delivered_at"),
        ),
        {**(params or {}), **worktime_params},
    )


# Above this many stale items a recompute re-derives everything in one pass: cheaper than
# scoping every statement to a huge id list.
FULL_PASS_ABOVE = 20_000


def rebuild_all_facts(*, force=False):
    """The full recompute: every delivered item's facts checked against the event log.

    The facts of an item change only when its inputs do (its events up to delivery,
    its dates and workflow, the kinds of its stages), so one pass over the log finds
    the stale items (`_STALE`) and only they are re-derived, with the same SQL as the
    incremental update. `force` re-derives everything (after a change to a metric's
    definition in code). Returns the number of delivered items with facts.

    Takes the snapshot's exclusive advisory lock, so it never interleaves with an
    item update or another full recompute (two workers or two beat schedulers run
    one after the other, and both leave the same rows). Call inside a transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, LOCK_ALL])
        # A recompute can be redone from the log: losing its last commit on a crash is harmless.
        cursor.execute("SET LOCAL synchronous_commit = off")
        stale = None
        calendars = delivering_calendars()
        if not force:
            _, params = sql_params(calendars, None)
            cursor.execute(
                _STALE.format(fingerprint=_FINGERPRINT.format(scope=""), delivering=_DELIVERING),
                params,
            )
            stale = sorted(row[0] for row in cursor.fetchall())
        if stale is None or len(stale) > FULL_PASS_ABOVE:
            for table in _FACT_TABLES:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            _run_inserts(cursor, calendars=calendars)
        elif stale:
            for table in _FACT_TABLES:
                cursor.execute(f"DELETE FROM {table} WHERE item_id = ANY(%s)", [stale])  # noqa: S608
            _run_inserts(cursor, stale, calendars)
        cursor.execute("SELECT COUNT(*) FROM scoreboard_delivereditemfact")
        return cursor.fetchone()[0]


def rebuild_item_facts(item_ids):
    """The incremental update: the same SQL as the full recompute, limited to some items.

    Items that are no longer delivered lose their facts. Per-item advisory locks
    (taken in id order, so two workers cannot deadlock) make the delete-then-insert
    safe when two workers update the same item. Call inside a transaction.
    """
    ids = sorted({int(pk) for pk in item_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        if len(ids) > MAX_ITEM_LOCKS:
            # Thousands of item locks would exhaust the lock table: take the whole snapshot.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, LOCK_ALL])
        else:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, %s)", [LOCK_NAMESPACE, LOCK_ALL]
            )
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, (pk %% 2147483647)::int4) "
                "FROM unnest(%s::bigint[]) AS pk ORDER BY pk",
                [LOCK_ITEMS, ids],
            )
        for table in _FACT_TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE item_id = ANY(%s)", [ids])  # noqa: S608
        _run_inserts(cursor, ids)
        cursor.execute(
            "SELECT COUNT(*) FROM scoreboard_delivereditemfact WHERE item_id = ANY(%s)", [ids]
        )
        return cursor.fetchone()[0]
