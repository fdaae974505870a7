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
re-import gives the same history. The log's rows go into a temporary table with one COPY:
of the CSV file itself, checked and converted there (`event_log_import_csv`, for files it
can take exactly as `parse_event_log` would), or of the rows `parse_event_log` read. Items,
events and scoreboard facts are then written from that table by set-based statements, their
ids taken from the sequences in history order, so no history row is formatted in Python and
the event log is not read back. One transaction: an error anywhere leaves nothing behind.
"""

import csv
import datetime
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import psycopg
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from handoffs.models import Event, Stage, Team, Workflow, WorkItem
from opshub.lib.dates import EARLIEST, FUTURE_SLACK, requested_at_problem
from scoreboard import board_cache
from scoreboard.discovery.readers import KEPT_TRANSITIONS, Columns
from scoreboard.metrics import LOCK_ALL, LOCK_NAMESPACE

REQUIRED_FIELDS = ("case", "activity", "timestamp")
OPTIONAL_FIELDS = ("resource", "team", "lifecycle")
IMPORTED_TEAM = "Imported"
MAX_ERRORS = 200
_EARLIEST_MOMENT = datetime.datetime.combine(EARLIEST, datetime.time(), tzinfo=datetime.UTC)


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
    index = _column_index(header, columns)
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
    _check_permission(by)
    if parsed.errors:
        raise ValidationError(
            {"file": [f"Line {line}: {message}" for line, message in parsed.errors]}
        )
    if not parsed.rows:
        raise ValidationError({"file": "The file has no events."})
    name = validate_workflow_name(workflow_name)
    workflow = Workflow.objects.create(
        name=name, created_by=by, description="Imported from an event log (baseline)."
    )
    groups = defaultdict(Counter)
    for row in parsed.rows:
        groups[row.activity][row.group] += 1
    stages = _create_stages(workflow, parsed.activities(), groups)
    history_import(workflow=workflow, rows=parsed.rows, stages=stages, by=by, report=report)
    return workflow


def _check_permission(by):
    if by is not None and not by.can_create_workflows:
        raise PermissionDenied("Only leads and admins import event logs.")


class _Declined(Exception):
    """The CSV needs the careful parse: nothing of it was written."""


@dataclass
class CsvImport:
    workflow: Workflow
    events: int
    naive_timestamps: int
    dropped: Counter


def event_log_import_csv(*, data, workflow_name, columns=None, by=None, report=None):
    """`event_log_import` of a CSV file's bytes, parsed, checked and converted inside
    PostgreSQL: the file goes into a temporary table with one COPY. Only files it can take
    exactly as `parse_event_log` would are taken: no quoted fields, every row plainly valid
    (the timestamps in the usual ISO-8601 forms). For any other file it returns None and
    has written nothing: `parse_event_log` then finds the per-line problems (or the forms
    only it reads) and `event_log_import` writes it."""
    columns = columns or Columns()
    layout = _csv_layout(data, columns)
    if layout is None:
        return None
    try:
        return _import_csv_isolated(
            data[layout.start :], layout, workflow_name=workflow_name, by=by,
            report=report or (lambda fraction: None),
        )  # fmt: skip
    except (_Declined, DataError, psycopg.errors.DataError):
        return None


def _import_csv_isolated(rows, layout, **options):
    """_import_csv in a transaction of its own at REPEATABLE READ when it is not inside one
    already; in READ COMMITTED again if that one fails to serialize.

    The foreign-key checks of the new rows (a query per row and key that is set, a million
    for bpic2012) then reuse the transaction's snapshot instead of taking one each, which costs
    more the more other sessions commit meanwhile. The import only inserts; its checks lock
    the rows they find FOR KEY SHARE, which an edit of other columns does not disturb. A row
    whose unique columns change or that goes meanwhile (a team its stages name, renamed or
    deleted) fails the first attempt with a serialization error: the second reads the teams
    afresh, as an import started after that edit would (test_import_isolation.py)."""
    if connection.in_atomic_block or not connection.get_autocommit():
        with transaction.atomic():
            return _import_csv(rows, layout, **options)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return _import_csv(rows, layout, **options)
    except OperationalError as exc:
        if not isinstance(exc.__cause__, psycopg.errors.SerializationFailure):
            raise
    with transaction.atomic():
        return _import_csv(rows, layout, **options)


@dataclass
class _Layout:
    start: int  # where the rows begin (after the header line)
    width: int
    index: dict  # {field: column index}


def _csv_layout(data, columns):
    """The header of a CSV the database may parse, or None (the careful parse reads it)."""
    if b'"' in data or b"\\." in data or b"\x00" in data:
        return None  # quoting or COPY's end marker: read the way Python's csv module does
    end = data.find(b"\n")
    line = data if end < 0 else data[:end]
    if line.endswith(b"\r"):
        line = line[:-1]
    if end < 0 or b"\r" in line:
        return None
    try:
        cells = next(csv.reader([line.decode("utf-8-sig")]), None)
    except (UnicodeDecodeError, csv.Error):
        return None
    header = _read_header(cells, ParsedLog(), columns)
    if header is None:
        return None
    return _Layout(start=end + 1, width=len(header), index=_column_index(header, columns))


def _column_index(header, columns):
    return {
        key: header.index(getattr(columns, key).lower())
        for key in REQUIRED_FIELDS + OPTIONAL_FIELDS
        if getattr(columns, key).lower() in header
    }


# The characters Python's str.strip() removes (c.isspace()), so the database trims cells
# as parse_event_log does; the first bytes of those beyond ASCII in UTF-8; and the bytes
# that put an ASCII space at a cell's edge. A file with none of them needs no trimming.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_RARE_SPACE_BYTES = b"\t\x0b\x0c\x1c\x1d\x1e\x1f\xc2\xe1\xe2\xe3"
_SPACE_AT_EDGE = (b", ", b" ,", b"\n ", b" \n", b" \r")


def _needs_trim(rows):
    return (
        len(rows.translate(None, _RARE_SPACE_BYTES)) != len(rows)
        or rows.startswith(b" ")
        or rows.endswith(b" ")
        or any(edge in rows for edge in _SPACE_AT_EDGE)
    )


# The ISO-8601 forms taken here, by shape (each digit a 9), each as datetime.fromisoformat
# reads it: a date, or a date and a time to the minute, second or microsecond, with a UTC
# offset (Z or ±hh:mm) or none. Other forms fromisoformat reads go to parse_event_log.
# PostgreSQL rejects what these shapes let through but fromisoformat does not (month 13,
# 31 April, minute 60…) except hour 24 and second 60, which the import checks itself.
_DATE = "9999-99-99"
_TIMES = [
    f"{separator}{time}"
    for separator in "T "
    for time in ["99:99", "99:99:99", *(f"99:99:99.{'9' * n}" for n in range(1, 7))]
]
_NAIVE_SHAPES = [_DATE, *(_DATE + time for time in _TIMES)]
_AWARE_SHAPES = [_DATE + time + offset for time in _TIMES for offset in ("Z", "+99:99", "-99:99")]


def _import_csv(rows, layout, *, workflow_name, by, report):
    _check_permission(by)
    cells = [f"c{n}" for n in range(layout.width)]
    trim = "btrim(coalesce({}, ''), %(ws)s)" if _needs_trim(rows) else "coalesce({}, '')"
    field = {key: trim.format(f"c{i}") for key, i in layout.index.items()}
    blank = " AND ".join(f"{trim.format(cell)} = ''" for cell in cells)
    with connection.cursor() as cursor:
        _begin_history(cursor)
        cursor.execute(
            f"CREATE TEMPORARY TABLE import_csv (line integer GENERATED ALWAYS AS IDENTITY "
            f"(START 2), {', '.join(f'{cell} text' for cell in cells)}) ON COMMIT DROP"
        )
        with cursor.connection.cursor().copy(
            f"COPY import_csv ({', '.join(cells)}) FROM STDIN (FORMAT csv)"
        ) as copy:
            copy.write(rows)
        report(0.05)
        params = {"ws": _WHITESPACE}
        transition = field.get("lifecycle", "''")
        cursor.execute(
            f"SELECT {transition}, count(*) FROM import_csv WHERE NOT ({blank}) GROUP BY 1",  # noqa: S608
            params,
        )
        transitions = cursor.fetchall()
        kept = [name for name, _ in transitions if name.lower() in KEPT_TRANSITIONS]
        dropped = Counter()
        for name, count in transitions:
            if name not in kept:
                dropped[name.lower()] += count
        cursor.execute(
            f"""INSERT INTO import_log (line, case_id, activity, at, resource, grp, naive)
            SELECT line, case_id, activity,
                   CASE WHEN substr(stamp, 12, 2) >= '24' OR substr(stamp, 18, 2) >= '60'
                        THEN NULL
                        WHEN shape = ANY(%(aware)s) THEN stamp::timestamptz
                        WHEN shape = ANY(%(naive)s) THEN stamp::timestamp AT TIME ZONE 'UTC'
                   END,
                   resource, grp, shape = ANY(%(naive)s)
            FROM (SELECT line, {field["case"]} AS case_id, {field["activity"]} AS activity,
                         {field["timestamp"]} AS stamp,
                         translate({field["timestamp"]}, '0123456789', '9999999999') AS shape,
                         {field.get("resource", "''")} AS resource,
                         {field.get("team", "''")} AS grp
                  FROM import_csv WHERE NOT ({blank}) AND {transition} = ANY(%(kept)s)
                  OFFSET 0) r""",  # noqa: S608
            {**params, "aware": _AWARE_SHAPES, "naive": _NAIVE_SHAPES, "kept": kept},
        )
        # The checks of _read_row; a row that fails any goes to parse_event_log for its message.
        cursor.execute(
            """SELECT count(*), count(*) FILTER (WHERE naive), coalesce(bool_or(
                   at IS NULL OR at < %(earliest)s OR at > %(latest)s
                   OR case_id = '' OR char_length(case_id) > 120
                   OR activity = '' OR char_length(activity) > 100), false)
            FROM import_log""",
            {"earliest": _EARLIEST_MOMENT, "latest": timezone.now() + FUTURE_SLACK},
        )
        events, naive, bad = cursor.fetchone()
        cursor.execute("DROP TABLE import_csv")
        if bad or not events:
            raise _Declined
        report(0.1)
        name = validate_workflow_name(workflow_name)
        workflow = Workflow.objects.create(
            name=name, created_by=by, description="Imported from an event log (baseline)."
        )
        _prepare_history(cursor)
        cursor.execute(_ACTIVITIES)
        order = [activity for activity, *_ in sorted(cursor.fetchall(), key=_flow_order)]
        cursor.execute("SELECT activity, grp, count(*) FROM import_row GROUP BY 1, 2")
        groups = defaultdict(Counter)
        for activity, group, count in cursor.fetchall():
            groups[activity][group] = count
        stages = _create_stages(workflow, order, groups)
        _write_history(cursor, workflow=workflow, stages=stages, by=by, report=report)
    return CsvImport(workflow=workflow, events=events, naive_timestamps=naive, dropped=dropped)


# ParsedLog.activities in SQL: each activity's mean relative position in its cases and the
# line it is first met on (cases in the order they appear, each in history order).
_ACTIVITIES = """
SELECT activity, sum((n - 1)::float8 / greatest(events - 1, 1)) / count(*),
       (min(ARRAY[item_id, n, line]))[3]
FROM import_row GROUP BY activity
"""


def _flow_order(activity):
    name, position, first_line = activity
    return (position, first_line, name)


def history_import(*, workflow, rows, stages, by=None, report=None):
    """Writes each case of `rows` as a delivered work item of `workflow` with its history
    (`stages`: {activity: Stage}), then its scoreboard facts. Call inside a transaction.

    The rows go into a temporary table with one COPY; everything after that is set-based
    SQL (`_write_history`). `report(fraction)`, if given, hears how far it got."""
    report = report or (lambda fraction: None)
    with connection.cursor() as cursor:
        _begin_history(cursor)
        with cursor.connection.cursor().copy(
            "COPY import_log (line, case_id, activity, at, resource, grp) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row((row.line, row.case_id, row.activity, row.at, row.resource, ""))
        report(0.1)
        _prepare_history(cursor)
        return _write_history(cursor, workflow=workflow, stages=stages, by=by, report=report)


def _begin_history(cursor):
    # A full recompute must not interleave with the new facts (as in rebuild_item_facts);
    # the new items are invisible to everyone else, so they need no lock of their own.
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [LOCK_NAMESPACE, LOCK_ALL])
    cursor.execute("SET LOCAL work_mem = '64MB'")
    # Each statement runs once over rows that are all new: compiling it would cost more.
    cursor.execute("SET LOCAL jit = off")
    cursor.execute(_LOG)


def _prepare_history(cursor):
    """import_log → import_case (one row per case, its item id reserved) and import_row
    (the log's rows in history order, each with the ids of the events it becomes)."""
    cursor.execute(
        "SELECT pg_get_serial_sequence('handoffs_workitem', 'id'), "
        "pg_get_serial_sequence('handoffs_event', 'id')"
    )
    items, events = cursor.fetchone()
    # Statistics of the temporary tables, so that the stages are looked up in a hash and the
    # rows go in in history order.
    cursor.execute("ANALYZE import_log")
    cursor.execute(_CASES, {"items": items})
    cursor.execute("ANALYZE import_case")
    cursor.execute(_ROWS, {"events": events})


def _write_history(cursor, *, workflow, stages, by, report):
    """Items, events and facts from import_case and import_row; returns the item count."""
    cursor.execute(
        "CREATE TEMPORARY TABLE import_stage ON COMMIT DROP AS "
        "SELECT * FROM unnest(%s::text[], %s::bigint[]) AS s (activity, stage_id)",
        [list(stages), [stage.pk for stage in stages.values()]],
    )
    cursor.execute("ANALYZE import_stage")
    params = {
        "workflow": workflow.pk,
        "by": by.pk if by else None,
        "source": f"import:{workflow.pk}",
        "done": WorkItem.State.DONE,
        "normal": WorkItem.Priority.NORMAL,
        **_EVENT_KINDS,
    }
    cursor.execute(_INSERT_ITEMS, params)
    items = cursor.rowcount
    report(0.25)
    cursor.execute(_INSERT_EVENTS, params)
    events = cursor.rowcount
    report(0.45)
    cursor.execute(_INSERT_STAGE_FACTS, params)
    cursor.execute(_INSERT_HANDOFF_FACTS, params)
    cursor.execute(_INSERT_ITEM_FACTS, params)
    cursor.execute("DROP TABLE import_row, import_case, import_stage, import_log")
    report(0.6)
    # The deferred foreign-key checks of these rows, run now rather than at the commit,
    # so the progress bar can count them: they are the longest step.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    _analyze_grown(cursor, {WorkItem: items, Event: events})
    report(1)
    board_cache.invalidate_on_commit()
    return items


# A load that grows a table by more than this share leaves the planner's statistics
# describing the table before it, until autovacuum analyzes it after the commit: the
# backtest's history query over a just-imported bpic2012 (329,012 events into a new
# database) planned nested loops and ran for minutes instead of seconds. An event's payload
# is left out: queries read it by key, expressions the planner keeps no statistics of, and
# sampling it was half of the event log's ANALYZE (0.12 s of bpic2012's import).
ANALYZE_ABOVE = 0.1


def _analyze_grown(cursor, added):
    """ANALYZE each table ({model: rows added}) that this load grew by over ANALYZE_ABOVE."""
    for model, rows in added.items():
        table = model._meta.db_table
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        (known,) = cursor.fetchone()  # -1: never analyzed
        if rows > max(known, 0) * ANALYZE_ABOVE:
            fields = model._meta.concrete_fields
            columns = ", ".join(f.column for f in fields if f.name != "payload")
            cursor.execute(f"ANALYZE {table} ({columns})")  # names of the models above


# The log's rows, from a COPY of parsed rows (history_import) or converted from a COPY of
# the CSV itself (event_log_import_csv). `naive`: the timestamp had no UTC offset.
_LOG = """
CREATE TEMPORARY TABLE import_log (
    line integer NOT NULL,
    case_id text NOT NULL,
    activity text NOT NULL,
    at timestamptz,
    resource text NOT NULL,
    grp text NOT NULL,
    naive boolean
) ON COMMIT DROP
"""

# One row per case, its item id taken from the items' sequence in the order the cases
# first appear in the file.
_CASES = """
CREATE TEMPORARY TABLE import_case ON COMMIT DROP AS
SELECT c.*, nextval(%(items)s::regclass) AS item_id
FROM (SELECT case_id, min(line) AS first_line, min(at) AS first_at, max(at) AS delivered_at,
             count(*) AS events
      FROM import_log GROUP BY case_id ORDER BY first_line) c
"""

# One row per log row, in history order (per case by timestamp, ties by line): its place
# in the case (n), when the case moves on (next_at: NULL on the case's last row), the
# activity it came from, and the ids of the events it becomes (created or submitted;
# accepted; delivered), taken from the events' sequence in that order, so event ids follow
# the history as the `at` ties do.
_ROWS = """
CREATE TEMPORARY TABLE import_row ON COMMIT DROP AS
SELECT r.*,
       nextval(%(events)s::regclass) AS event_id,
       CASE WHEN r.n > 1 THEN nextval(%(events)s::regclass) END AS accepted_id,
       CASE WHEN r.next_at IS NULL THEN nextval(%(events)s::regclass) END AS delivered_id
FROM (
    SELECT c.item_id, l.line, l.activity, l.resource, l.at, l.grp, c.first_at, c.delivered_at,
           c.events,
           row_number() OVER w AS n,
           lead(l.at) OVER w AS next_at,
           lag(l.activity) OVER w AS previous_activity,
           CASE WHEN row_number() OVER w = 1 THEN c.case_id END AS title
    FROM import_log l JOIN import_case c USING (case_id)
    WINDOW w AS (PARTITION BY c.item_id ORDER BY l.at, l.line)
    ORDER BY c.item_id, l.at, l.line
) r
"""

_INSERT_ITEMS = """
INSERT INTO handoffs_workitem (id, workflow_id, stage_id, state, title, priority, source,
    external_ref, requested_at, delivered_at, fields, resume_state, stage_entered_at,
    state_changed_at, created_at, updated_at, created_by_id)
SELECT c.item_id, %(workflow)s, s.stage_id, %(done)s, left(c.case_id, 200), %(normal)s,
       %(source)s, c.case_id, c.first_at, c.delivered_at, '{}', '', c.delivered_at,
       c.delivered_at, now(), now(), %(by)s
FROM import_case c
JOIN import_row r ON r.item_id = c.item_id AND r.next_at IS NULL
JOIN import_stage s ON s.activity = r.activity
ORDER BY c.item_id
"""

# Per case: created → (handoff submitted + accepted at the same instant) per later row →
# delivered. Submitted and accepted share the row's timestamp because the log does not say
# how long the item waited: the import claims no handoff wait it cannot know. They share
# their payload too, built once a row (`OFFSET 0` keeps the planner from copying the
# expression into both: building the payloads was a tenth of the statement).
_INSERT_EVENTS = """
INSERT INTO handoffs_event (id, item_id, kind, at, actor_id, from_stage_id, to_stage_id, payload)
SELECT e.* FROM import_row r
JOIN import_stage s ON s.activity = r.activity
LEFT JOIN import_stage p ON p.activity = r.previous_activity
CROSS JOIN LATERAL (
    SELECT CASE WHEN r.n > 1 THEN jsonb_build_object('imported', true, 'activity', r.activity,
                                                     'resource', r.resource) END AS payload
    OFFSET 0
) moved
CROSS JOIN LATERAL (
    SELECT r.event_id, r.item_id, %(created)s, r.at, %(by)s::bigint, NULL::bigint, s.stage_id,
           jsonb_build_object('imported', true, 'activity', r.activity,
                              'resource', r.resource, 'title', r.title)
    WHERE r.n = 1
    UNION ALL
    SELECT r.event_id, r.item_id, %(submitted)s, r.at, %(by)s, p.stage_id, s.stage_id,
           moved.payload
    WHERE r.n > 1
    UNION ALL
    SELECT r.accepted_id, r.item_id, %(accepted)s, r.at, %(by)s, NULL, s.stage_id, moved.payload
    WHERE r.n > 1
    UNION ALL
    SELECT r.delivered_id, r.item_id, %(delivered)s, r.at, %(by)s, s.stage_id, NULL,
           jsonb_build_object('imported', true,
                              'cycle_seconds', EXTRACT(EPOCH FROM r.at - r.first_at)::float8)
    WHERE r.next_at IS NULL
) e
"""

# The facts `rebuild_item_facts` derives from those events (scoreboard/metrics.py): each
# row's stage holds the item from the row's time to the next row's (working time: the
# submitted → accepted step takes no time), every later row is one first-pass handoff
# without wait, and the item's events are all up to its delivery. An imported history has
# no blocks, bounces, decisions or handoff waits.
_INSERT_STAGE_FACTS = """
INSERT INTO scoreboard_stagetimefact
    (item_id, stage_id, workflow_id, delivered_at, total_seconds, working_seconds,
     waiting_seconds, blocked_seconds, decision_seconds)
SELECT r.item_id, s.stage_id, %(workflow)s, r.delivered_at, SUM(r.seconds), SUM(r.seconds),
       0, 0, 0
FROM (SELECT r.*, EXTRACT(EPOCH FROM COALESCE(r.next_at, r.at) - r.at)::float8 AS seconds
      FROM import_row r) r
JOIN import_stage s ON s.activity = r.activity
GROUP BY r.item_id, s.stage_id, r.delivered_at
ORDER BY r.item_id
"""

_INSERT_HANDOFF_FACTS = """
INSERT INTO scoreboard_handofffact
    (item_id, from_stage_id, to_stage_id, workflow_id, delivered_at, submissions, bounces,
     wait_seconds, first_pass)
SELECT r.item_id, p.stage_id, s.stage_id, %(workflow)s, r.delivered_at, COUNT(*), 0, 0, TRUE
FROM import_row r
JOIN import_stage s ON s.activity = r.activity
JOIN import_stage p ON p.activity = r.previous_activity
WHERE r.n > 1
GROUP BY r.item_id, p.stage_id, s.stage_id, r.delivered_at
ORDER BY r.item_id
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
       SUM(r.seconds), COALESCE(SUM(r.seconds) FILTER (WHERE st.kind = 'active'), 0),
       0, 0, 0, COUNT(*) FILTER (WHERE r.n > 1), 0, now(), 2 * COUNT(*), MAX(r.delivered_id)
FROM (SELECT r.*, EXTRACT(EPOCH FROM COALESCE(r.next_at, r.at) - r.at)::float8 AS seconds
      FROM import_row r) r
JOIN import_stage s ON s.activity = r.activity
JOIN handoffs_stage st ON st.id = s.stage_id
GROUP BY r.item_id, r.first_at, r.delivered_at
ORDER BY r.item_id
"""

_EVENT_KINDS = {
    "created": Event.Kind.CREATED,
    "submitted": Event.Kind.HANDOFF_SUBMITTED,
    "accepted": Event.Kind.HANDOFF_ACCEPTED,
    "delivered": Event.Kind.DELIVERED,
}


def _create_stages(workflow, activities, groups):
    """A stage per activity (`activities` in flow order), owned by the team most of its
    events name (`groups`: {activity: Counter of team names}), else the team "Imported"."""
    teams = {}
    stages = {}
    for position, activity in enumerate(activities, start=1):
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
