"""Baseline import: an event-log CSV becomes a workflow with work items and their full history.

Columns: case_id, activity, timestamp[, resource, group]. Activities become stages
(owned by the team named in `group`, else the team "Imported"); each case becomes a
delivered work item: its first event is the request, its last event the delivery.
Timestamps are ISO-8601; their UTC offsets are respected (a timestamp without one is
read as UTC). Events of a case are ordered by timestamp, ties by line number, so a
re-import gives the same history. The log's rows go into a temporary staging table with
one COPY; the work items and their events are then written from it by two set-based
statements, so no history row is formatted in Python. One transaction: an error anywhere
leaves nothing behind.
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
from scoreboard import board_cache, metrics

REQUIRED_COLUMNS = ("case_id", "activity", "timestamp")
OPTIONAL_COLUMNS = ("resource", "group")
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


def parse_event_log(stream):
    """Reads a CSV (text stream); every bad row is reported with its line number."""
    parsed = ParsedLog()
    reader = csv.reader(stream)
    header = _read_header(next(reader, None), parsed)
    if header is None:
        return parsed
    index = {
        name: header.index(name) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if name in header
    }
    for number, values in enumerate(reader, start=2):
        if values and any(v.strip() for v in values):
            _read_row(parsed, number, values, index, width=len(header))
    if not parsed.rows and not parsed.errors:
        parsed.errors.append((2, "The file has a header but no events."))
    return parsed


def _read_header(cells, parsed):
    """The column names, lower-cased; None (and the reason in parsed.errors) when unusable."""
    if cells is None:
        parsed.errors.append((1, "The file is empty."))
        return None
    header = [h.strip().lstrip("\ufeff").lower() for h in cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        parsed.errors.append(
            (1, f"Missing column(s): {', '.join(missing)}. Expected {','.join(REQUIRED_COLUMNS)}.")
        )
        return None
    return header


def _read_row(parsed, number, values, index, *, width):
    """Adds the row to parsed.rows, or its problems (one message) to parsed.errors."""
    if len(values) != width:
        _error(parsed, number, f"Expected {width} columns, found {len(values)}.")
        return
    case_id = values[index["case_id"]].strip()
    activity = values[index["activity"]].strip()
    problems = [
        p
        for p in (_text_problem("case_id", case_id, 120), _text_problem("activity", activity, 100))
        if p
    ]
    try:
        at, naive = _parse_timestamp(values[index["timestamp"]])
    except ValueError:
        problems.append(f"timestamp “{values[index['timestamp']]}” is not ISO-8601")
    else:
        # A case's first event becomes its requested at: the bounds every entry point shares.
        if problem := requested_at_problem(at, label="timestamp"):
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
            group=_optional(values, index, "group"),
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
def event_log_import(*, parsed, workflow_name, by=None):
    """Creates the workflow, its stages, one delivered work item per case and its events."""
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
    history_import(workflow=workflow, rows=parsed.rows, stages=stages, by=by)
    return workflow


def history_import(*, workflow, rows, stages, by=None):
    """Writes each case of `rows` as a delivered work item of `workflow` with its history
    (`stages`: {activity: Stage}), then its scoreboard facts. Call inside a transaction."""
    source = f"import:{workflow.pk}"
    with connection.cursor() as cursor:
        cursor.execute(_STAGING)
        with cursor.connection.cursor().copy(
            "COPY scoreboard_import_row (line, case_id, activity, at, resource, stage_id) "
            "FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(
                    (row.line, row.case_id, row.activity, row.at, row.resource,
                     stages[row.activity].pk)
                )  # fmt: skip
        cursor.execute("ANALYZE scoreboard_import_row")
        params = {
            "workflow": workflow.pk,
            "source": source,
            "by": by.pk if by else None,
            "done": WorkItem.State.DONE,
            "normal": WorkItem.Priority.NORMAL,
        }
        cursor.execute(_INSERT_ITEMS, params)
        cursor.execute(_INSERT_EVENTS, {**params, **_EVENT_KINDS})
        cursor.execute("SELECT id FROM handoffs_workitem WHERE source = %s", [source])
        item_ids = [pk for (pk,) in cursor.fetchall()]
        # Fresh statistics, or the planner takes the just-filled tables for tiny ones and
        # the fact queries below pick nested loops over the whole log (measured: 10×).
        cursor.execute("ANALYZE handoffs_workitem")
        cursor.execute("ANALYZE handoffs_event")
        cursor.execute("DROP TABLE scoreboard_import_row")
    metrics.rebuild_item_facts(item_ids)
    board_cache.invalidate_on_commit()
    return len(item_ids)


_STAGING = """
CREATE TEMPORARY TABLE scoreboard_import_row (
    line integer NOT NULL,
    case_id text NOT NULL,
    activity text NOT NULL,
    at timestamptz NOT NULL,
    resource text NOT NULL,
    stage_id bigint NOT NULL
) ON COMMIT DROP
"""

# One delivered item per case, in the order cases first appear in the file; it sits in the
# stage of its last event (ties on time: the later line).
_INSERT_ITEMS = """
INSERT INTO handoffs_workitem (workflow_id, stage_id, state, title, priority, source,
    external_ref, requested_at, delivered_at, fields, resume_state, stage_entered_at,
    state_changed_at, created_at, updated_at, created_by_id)
SELECT %(workflow)s, c.stage_id, %(done)s, left(c.case_id, 200), %(normal)s, %(source)s,
       c.case_id, c.first_at, c.at, '{}', '', c.at, c.at, now(), now(), %(by)s
FROM (
    SELECT DISTINCT ON (case_id) case_id, stage_id, at,
           MIN(at) OVER (PARTITION BY case_id) AS first_at,
           MIN(line) OVER (PARTITION BY case_id) AS first_line
    FROM scoreboard_import_row
    ORDER BY case_id, at DESC, line DESC
) c
ORDER BY c.first_line
"""

# Per case: created → (handoff submitted + accepted at the same instant) per later row →
# delivered. Submitted and accepted share the row's timestamp because the log does not say
# how long the item waited: the import claims no handoff wait it cannot know. Rows are
# inserted in item, then history order, so event ids follow the history as `at` ties do.
_INSERT_EVENTS = """
WITH ordered AS (
    SELECT i.id AS item_id, r.case_id, r.activity, r.at, r.resource, r.stage_id,
           ROW_NUMBER() OVER w AS n,
           COUNT(*) OVER (PARTITION BY r.case_id) AS total,
           LAG(r.stage_id) OVER w AS previous_stage,
           FIRST_VALUE(r.at) OVER w AS first_at
    FROM scoreboard_import_row r
    JOIN handoffs_workitem i ON i.source = %(source)s AND i.external_ref = r.case_id
    WINDOW w AS (PARTITION BY r.case_id ORDER BY r.at, r.line)
)
INSERT INTO handoffs_event (item_id, kind, at, actor_id, from_stage_id, to_stage_id, payload)
SELECT item_id, kind, at, %(by)s, from_stage, to_stage, payload FROM (
    SELECT item_id, n, 0 AS step, %(created)s AS kind, at, NULL::bigint AS from_stage,
           stage_id AS to_stage,
           jsonb_build_object('imported', true, 'activity', activity, 'resource', resource,
                              'title', case_id) AS payload
    FROM ordered WHERE n = 1
    UNION ALL
    SELECT item_id, n, step.number, step.kind, at,
           CASE WHEN step.number = 1 THEN previous_stage END, stage_id,
           jsonb_build_object('imported', true, 'activity', activity, 'resource', resource)
    FROM ordered
    CROSS JOIN (VALUES (1, %(submitted)s), (2, %(accepted)s)) AS step (number, kind)
    WHERE n > 1
    UNION ALL
    SELECT item_id, n, 3, %(delivered)s, at, stage_id, NULL,
           jsonb_build_object('imported', true,
                              'cycle_seconds', EXTRACT(EPOCH FROM at - first_at)::float8)
    FROM ordered WHERE n = total
) history
ORDER BY item_id, n, step
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
