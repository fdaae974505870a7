"""Baseline import: an event-log CSV becomes a workflow with work items and their full history.

Columns: case_id, activity, timestamp[, resource, group, lifecycle] by default; other names
through `Columns` (the same options as discovery, matched ignoring case). Activities become
stages (owned by the team named in the team column, else the team "Imported"). With a
lifecycle column, `complete` events (and those without a transition) are kept, as
discovery keeps them; `start` and other transitions are counted and left out. Each case
becomes a
delivered work item: its first event is the request, its last event the delivery.
Timestamps are ISO-8601; their UTC offsets are respected (a timestamp without one is
read as UTC). Events of a case are ordered by timestamp, ties by line number, so a
re-import gives the same history. The items and the log's rows go in with one COPY each
(the rows into a temporary table), with primary keys reserved up front; the events and the
scoreboard facts are then written from that table by set-based statements, so no history
row is formatted in Python and the event log is not read back. One transaction: an error
anywhere leaves nothing behind.
"""

import csv
import datetime
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.text import slugify

from handoffs.models import Event, Stage, Team, Workflow, WorkItem
from opshub.lib.dates import requested_at_problem
from scoreboard import board_cache
from scoreboard.discovery.readers import KEPT_TRANSITIONS, Columns
from scoreboard.metrics import LOCK_ALL, LOCK_NAMESPACE

REQUIRED_FIELDS = ("case", "activity", "timestamp")
OPTIONAL_FIELDS = ("resource", "team", "lifecycle")
IMPORTED_TEAM = "Imported"
MAX_ERRORS = 200


@dataclass
class Row:
    line: int
    case_id: str
    activity: str
    at: datetime.datetime
    resource: str = ""
    group: str = ""


@dataclass
class ParsedLog:
    rows: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # [(line number, message)]
    naive_timestamps: int = 0
    dropped: Counter = field(default_factory=Counter)  # left-out transitions: {name: count}

    @property
    def is_valid(self):
        return bool(self.rows) and not self.errors

    def cases(self):
        """{case_id: [rows ordered by timestamp, then line]} in first-seen order."""
        cases = defaultdict(list)
        for row in self.rows:
            cases[row.case_id].append(row)
        for rows in cases.values():
            rows.sort(key=lambda r: (r.at, r.line))
        return cases

    def activities(self, cases=None):
        """Activities in a stable flow order: by their mean relative position in cases."""
        cases = cases or self.cases()
        position, first_line = defaultdict(list), {}
        for rows in cases.values():
            last = max(len(rows) - 1, 1)
            for index, row in enumerate(rows):
                position[row.activity].append(index / last)
                first_line.setdefault(row.activity, row.line)
        return sorted(
            position, key=lambda a: (sum(position[a]) / len(position[a]), first_line[a], a)
        )

    def preview(self):
        cases = self.cases()
        durations = sorted((rows[-1].at - rows[0].at).total_seconds() for rows in cases.values())
        return {
            "events": len(self.rows),
            "cases": len(cases),
            "activities": self.activities(cases),
            "first_at": min((r.at for r in self.rows), default=None),
            "last_at": max((r.at for r in self.rows), default=None),
            "average_seconds": sum(durations) / len(durations) if durations else None,
            "sample": self.rows[:10],
            "naive_timestamps": self.naive_timestamps,
        }


def _parse_timestamp(text):
    value = datetime.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC), True
    return value, False


def parse_event_log(stream, columns=None):
    """Reads a CSV (text stream); every bad row is reported with its line number."""
    columns = columns or Columns()
    parsed = ParsedLog()
    reader = csv.reader(stream)
    header = _read_header(next(reader, None), parsed, columns)
    if header is None:
        return parsed
    index = {
        key: header.index(getattr(columns, key).lower())
        for key in REQUIRED_FIELDS + OPTIONAL_FIELDS
        if getattr(columns, key).lower() in header
    }
    for number, values in enumerate(reader, start=2):
        if values and any(v.strip() for v in values):
            _read_row(parsed, number, values, index, width=len(header), columns=columns)
    if not parsed.rows and not parsed.errors:
        parsed.errors.append((2, "The file has a header but no events."))
    return parsed


def _read_header(cells, parsed, columns):
    """The column names, lower-cased; None (and the reason in parsed.errors) when unusable."""
    if cells is None:
        parsed.errors.append((1, "The file is empty."))
        return None
    header = [h.strip().lstrip("\ufeff").lower() for h in cells]
    required = [getattr(columns, key) for key in REQUIRED_FIELDS]
    missing = [name for name in required if name.lower() not in header]
    if missing:
        parsed.errors.append(
            (1, f"Missing column(s): {', '.join(missing)}. Expected {','.join(required)}.")
        )
        return None
    return header


def _read_row(parsed, number, values, index, *, width, columns):
    """Adds the row to parsed.rows, or its problems (one message) to parsed.errors."""
    if len(values) != width:
        _error(parsed, number, f"Expected {width} columns, found {len(values)}.")
        return
    transition = _optional(values, index, "lifecycle").lower()
    if transition not in KEPT_TRANSITIONS:
        parsed.dropped[transition] += 1
        return
    case_id = values[index["case"]].strip()
    activity = values[index["activity"]].strip()
    problems = [
        p
        for p in (
            _text_problem(columns.case, case_id, 120),
            _text_problem(columns.activity, activity, 100),
        )
        if p
    ]
    stamp = values[index["timestamp"]]
    try:
        at, naive = _parse_timestamp(stamp)
    except ValueError:
        problems.append(f"{columns.timestamp} “{stamp}” is not ISO-8601")
    else:
        # A case's first event becomes its requested at: the bounds every entry point shares.
        if problem := requested_at_problem(at, label=columns.timestamp):
            problems.append(problem.rstrip("."))
    if problems:
        message = "; ".join(problems)
        _error(parsed, number, message[0].upper() + message[1:] + ".")
        return
    parsed.naive_timestamps += naive
    parsed.rows.append(
        Row(
            line=number,
            case_id=case_id,
            activity=activity,
            at=at,
            resource=_optional(values, index, "resource"),
            group=_optional(values, index, "team"),
        )
    )


def _text_problem(column, value, limit):
    if not value:
        return f"{column} is empty"
    if len(value) > limit:
        return f"{column} is longer than {limit} characters"
    return None


def _optional(values, index, column):
    return values[index[column]].strip() if column in index else ""


def _error(parsed, line, message):
    if len(parsed.errors) < MAX_ERRORS:
        parsed.errors.append((line, message))


def read_upload(uploaded):
    """A Django UploadedFile as a text stream (UTF-8, with or without BOM)."""
    return io.TextIOWrapper(uploaded.file, encoding="utf-8-sig", newline="")


def validate_workflow_name(name):
    name = (name or "").strip()
    if not name:
        raise ValidationError({"workflow": "Name the workflow the log becomes."})
    if len(name) > 120:
        raise ValidationError({"workflow": "Keep the name under 120 characters."})
    if Workflow.objects.filter(name__iexact=name).exists():
        raise ValidationError(
            {"workflow": f"A workflow named “{name}” already exists; pick another name."}
        )
    if Workflow.objects.filter(slug=slugify(name)[:120]).exists():
        raise ValidationError({"workflow": "A workflow with a very similar name already exists."})
    return name


@transaction.atomic
def event_log_import(*, parsed, workflow_name, by=None, report=None):
    """Creates the workflow, its stages, one delivered work item per case and its events.
    `report(fraction)` is told how far the writing got (scoreboard/progress.py)."""
    if by is not None and not by.can_create_workflows:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only leads and admins import event logs.")
    if parsed.errors:
        raise ValidationError(
            {"file": [f"Line {line}: {message}" for line, message in parsed.errors]}
        )
    if not parsed.rows:
        raise ValidationError({"file": "The file has no events."})
    name = validate_workflow_name(workflow_name)
    cases = parsed.cases()
    workflow = Workflow.objects.create(
        name=name, created_by=by, description="Imported from an event log (baseline)."
    )
    stages = _create_stages(workflow, parsed, cases)
    history_import(workflow=workflow, rows=parsed.rows, stages=stages, by=by, report=report)
    return workflow


def history_import(*, workflow, rows, stages, by=None, report=None):
    """Writes each case of `rows` as a delivered work item of `workflow` with its history
    (`stages`: {activity: Stage}), then its scoreboard facts. Call inside a transaction.

    The primary keys are reserved from the tables' sequences up front, so the items go in
    with one COPY and the log's rows with another (into a temporary table, each row with
    its item, its place in the case and the ids of the events it becomes); the events and
    the three fact tables are then written from that table by set-based statements that
    read it once each. The facts are what `rebuild_item_facts` derives from these events
    (an imported history has no blocks, bounces, decisions or handoff waits), without
    reading the event log back. `report(fraction)`, if given, hears how far it got; the
    weights are the steps' shares of the time on bpic2012 (docs/benchmarks.md)."""
    report = report or (lambda fraction: None)
    cases = _cases_in_order(rows)
    with connection.cursor() as cursor:
        # A full recompute must not interleave with the new facts (as in rebuild_item_facts);
        # the new items are invisible to everyone else, so they need no lock of their own.
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [LOCK_NAMESPACE, LOCK_ALL])
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SELECT now()")
        (now,) = cursor.fetchone()
        item_ids = _reserve_ids(cursor, "handoffs_workitem", len(cases))
        event_ids = iter(_reserve_ids(cursor, "handoffs_event", 2 * len(rows)))
        raw = cursor.connection.cursor()
        source = f"import:{workflow.pk}"
        with raw.copy(f"COPY handoffs_workitem ({_ITEM_COLUMNS}) FROM STDIN") as copy:
            for item_id, case in zip(item_ids, cases, strict=True):
                first, last = case[0], case[-1]
                copy.write_row(
                    (item_id, workflow.pk, stages[last.activity].pk, WorkItem.State.DONE,
                     first.case_id[:200], WorkItem.Priority.NORMAL, source, first.case_id,
                     first.at, last.at, "{}", "", last.at, last.at, now, now,
                     by.pk if by else None)
                )  # fmt: skip
        report(0.1)
        cursor.execute(_STAGING)
        with raw.copy(f"COPY scoreboard_import_row ({_STAGING_COLUMNS}) FROM STDIN") as copy:
            for item_id, case in zip(item_ids, cases, strict=True):
                first, last = case[0], case[-1]
                previous = None
                for n, row in enumerate(case, start=1):
                    stage = stages[row.activity].pk
                    copy.write_row(
                        (item_id, n, row.at, case[n].at if n < len(case) else None,
                         first.at, last.at, stage, previous, row.activity, row.resource,
                         row.case_id if n == 1 else None, next(event_ids),
                         next(event_ids) if n > 1 else None,
                         next(event_ids) if n == len(case) else None)
                    )  # fmt: skip
                    previous = stage
        report(0.25)
        params = {"workflow": workflow.pk, "by": by.pk if by else None, **_EVENT_KINDS}
        cursor.execute(_INSERT_EVENTS, params)
        report(0.45)
        cursor.execute(_INSERT_STAGE_FACTS, params)
        cursor.execute(_INSERT_HANDOFF_FACTS, params)
        cursor.execute(_INSERT_ITEM_FACTS, params)
        cursor.execute("DROP TABLE scoreboard_import_row")
        report(0.6)
        # The deferred foreign-key checks of these rows, run now rather than at the commit,
        # so the progress bar can count them: they are the longest step.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        _analyze_grown(cursor, {"handoffs_workitem": len(cases), "handoffs_event": len(rows)})
        report(1)
    board_cache.invalidate_on_commit()
    return len(item_ids)


# A load that grows a table by more than this share leaves the planner's statistics
# describing the table before it, until autovacuum analyzes it after the commit: the
# backtest's history query over a just-imported bpic2012 (329,012 events into a new
# database) planned nested loops and ran for minutes instead of seconds.
ANALYZE_ABOVE = 0.1


def _analyze_grown(cursor, added):
    """ANALYZE each table ({table: rows added}) that this load grew by over ANALYZE_ABOVE."""
    for table, rows in added.items():
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        (known,) = cursor.fetchone()  # -1: never analyzed
        if rows > max(known, 0) * ANALYZE_ABOVE:
            cursor.execute(f"ANALYZE {table}")  # a table name of the dict above


def _cases_in_order(rows):
    """[[rows of a case, by timestamp then line]], cases in the order they first appear."""
    cases = defaultdict(list)
    for row in rows:
        cases[row.case_id].append(row)
    ordered = sorted(cases.values(), key=lambda case: min(row.line for row in case))
    for case in ordered:
        case.sort(key=lambda row: (row.at, row.line))
    return ordered


def _reserve_ids(cursor, table, count):
    """`count` primary keys from the table's identity sequence (ascending, maybe with gaps
    where another writer took one meanwhile)."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    )
    return [pk for (pk,) in cursor.fetchall()]


_ITEM_COLUMNS = (
    "id, workflow_id, stage_id, state, title, priority, source, external_ref, requested_at, "
    "delivered_at, fields, resume_state, stage_entered_at, state_changed_at, created_at, "
    "updated_at, created_by_id"
)

# One row per log row: its item, its place in the case (n), when the case moves on
# (next_at: NULL on the case's last row), the stage it came from, and the ids of the events
# it becomes (created or submitted; accepted; delivered).
_STAGING = """
CREATE TEMPORARY TABLE scoreboard_import_row (
    item_id bigint NOT NULL,
    n integer NOT NULL,
    at timestamptz NOT NULL,
    next_at timestamptz,
    first_at timestamptz NOT NULL,
    delivered_at timestamptz NOT NULL,
    stage_id bigint NOT NULL,
    previous_stage_id bigint,
    activity text NOT NULL,
    resource text NOT NULL,
    title text,
    event_id bigint NOT NULL,
    accepted_id bigint,
    delivered_id bigint
) ON COMMIT DROP
"""
_STAGING_COLUMNS = (
    "item_id, n, at, next_at, first_at, delivered_at, stage_id, previous_stage_id, activity, "
    "resource, title, event_id, accepted_id, delivered_id"
)

# Per case: created → (handoff submitted + accepted at the same instant) per later row →
# delivered. Submitted and accepted share the row's timestamp because the log does not say
# how long the item waited: the import claims no handoff wait it cannot know. Event ids
# follow the history (reserved in that order), as `at` ties do; the rows go in id order.
_INSERT_EVENTS = """
INSERT INTO handoffs_event (id, item_id, kind, at, actor_id, from_stage_id, to_stage_id, payload)
SELECT e.* FROM scoreboard_import_row r CROSS JOIN LATERAL (
    SELECT r.event_id, r.item_id, %(created)s, r.at, %(by)s::bigint, NULL::bigint, r.stage_id,
           jsonb_build_object('imported', true, 'activity', r.activity,
                              'resource', r.resource, 'title', r.title)
    WHERE r.n = 1
    UNION ALL
    SELECT r.event_id, r.item_id, %(submitted)s, r.at, %(by)s, r.previous_stage_id, r.stage_id,
           jsonb_build_object('imported', true, 'activity', r.activity, 'resource', r.resource)
    WHERE r.n > 1
    UNION ALL
    SELECT r.accepted_id, r.item_id, %(accepted)s, r.at, %(by)s, NULL, r.stage_id,
           jsonb_build_object('imported', true, 'activity', r.activity, 'resource', r.resource)
    WHERE r.n > 1
    UNION ALL
    SELECT r.delivered_id, r.item_id, %(delivered)s, r.at, %(by)s, r.stage_id, NULL,
           jsonb_build_object('imported', true,
                              'cycle_seconds', EXTRACT(EPOCH FROM r.at - r.first_at)::float8)
    WHERE r.next_at IS NULL
) e
"""

# The facts `rebuild_item_facts` derives from those events (scoreboard/metrics.py): each
# row's stage holds the item from the row's time to the next row's (working time: the
# submitted → accepted step takes no time), every later row is one first-pass handoff
# without wait, and the item's events are all up to its delivery.
_INSERT_STAGE_FACTS = """
INSERT INTO scoreboard_stagetimefact
    (item_id, stage_id, workflow_id, delivered_at, total_seconds, working_seconds,
     waiting_seconds, blocked_seconds, decision_seconds)
SELECT r.item_id, r.stage_id, %(workflow)s, r.delivered_at, SUM(r.seconds), SUM(r.seconds), 0, 0, 0
FROM (SELECT r.*, EXTRACT(EPOCH FROM COALESCE(r.next_at, r.at) - r.at)::float8 AS seconds
      FROM scoreboard_import_row r) r
GROUP BY r.item_id, r.stage_id, r.delivered_at
"""

_INSERT_HANDOFF_FACTS = """
INSERT INTO scoreboard_handofffact
    (item_id, from_stage_id, to_stage_id, workflow_id, delivered_at, submissions, bounces,
     wait_seconds, first_pass)
SELECT r.item_id, r.previous_stage_id, r.stage_id, %(workflow)s, r.delivered_at, COUNT(*), 0,
       0, TRUE
FROM scoreboard_import_row r
WHERE r.n > 1
GROUP BY r.item_id, r.previous_stage_id, r.stage_id, r.delivered_at
"""

_INSERT_ITEM_FACTS = """
INSERT INTO scoreboard_delivereditemfact
    (item_id, workflow_id, requested_at, delivered_at, delivered_on, cycle_seconds,
     cycle_working_seconds, worktime_stamp,
     working_seconds, active_seconds, waiting_seconds, blocked_seconds, decision_seconds,
     handoffs, bounces, computed_at, event_count, last_event_id)
SELECT r.item_id, %(workflow)s, r.first_at, r.delivered_at,
       (r.delivered_at AT TIME ZONE 'UTC')::date,
       EXTRACT(EPOCH FROM r.delivered_at - r.first_at)::float8,
       -- Counted on no calendar; if the delivering team has one, the next recompute finds
       -- the stamp stale and counts its working time.
       EXTRACT(EPOCH FROM r.delivered_at - r.first_at)::float8, '',
       SUM(r.seconds), COALESCE(SUM(r.seconds) FILTER (WHERE s.kind = 'active'), 0),
       0, 0, 0, COUNT(*) FILTER (WHERE r.n > 1), 0, now(), 2 * COUNT(*), MAX(r.delivered_id)
FROM (SELECT r.*, EXTRACT(EPOCH FROM COALESCE(r.next_at, r.at) - r.at)::float8 AS seconds
      FROM scoreboard_import_row r) r
JOIN handoffs_stage s ON s.id = r.stage_id
GROUP BY r.item_id, r.first_at, r.delivered_at
"""

_EVENT_KINDS = {
    "created": Event.Kind.CREATED,
    "submitted": Event.Kind.HANDOFF_SUBMITTED,
    "accepted": Event.Kind.HANDOFF_ACCEPTED,
    "delivered": Event.Kind.DELIVERED,
}


def _create_stages(workflow, parsed, cases):
    groups = defaultdict(Counter)
    for row in parsed.rows:
        groups[row.activity][row.group] += 1
    teams = {}
    stages = {}
    for position, activity in enumerate(parsed.activities(cases), start=1):
        group = max(groups[activity].items(), key=lambda kv: (kv[1], kv[0]))[0] or IMPORTED_TEAM
        if group not in teams:
            teams[group] = Team.objects.filter(name=group[:100]).first() or Team.objects.create(
                name=group[:100], slug=_free_team_slug(group)
            )
        stages[activity] = Stage(
            workflow=workflow, name=activity, position=position, team=teams[group]
        )
    Stage.objects.bulk_create(stages.values())
    return stages


def _free_team_slug(name):
    base = slugify(name)[:90] or "team"
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug
