"""Baseline import: an event-log CSV becomes a workflow with work items and their full history.

Columns: case_id, activity, timestamp[, resource, group]. Activities become stages
(owned by the team named in `group`, else the team "Imported"); each case becomes a
delivered work item: its first event is the request, its last event the delivery.
Timestamps are ISO-8601; their UTC offsets are respected (a timestamp without one is
read as UTC). Events of a case are ordered by timestamp, ties by line number, so a
re-import gives the same history. Rows go in with COPY in one transaction: an error
anywhere leaves nothing behind.
"""

import csv
import datetime
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
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
    source = f"import:{workflow.pk}"
    now = timezone.now()
    with connection.cursor() as cursor:
        with cursor.connection.cursor().copy(
            "COPY handoffs_workitem (workflow_id, stage_id, state, title, priority, source, "
            "external_ref, requested_at, delivered_at, fields, resume_state, stage_entered_at, "
            "state_changed_at, created_at, updated_at, created_by_id) FROM STDIN"
        ) as copy:
            for case_id, rows in cases.items():
                first, last = rows[0], rows[-1]
                copy.write_row(
                    (workflow.pk, stages[last.activity].pk, WorkItem.State.DONE, case_id[:200],
                     WorkItem.Priority.NORMAL, source, case_id, first.at, last.at, "{}", "",
                     last.at, last.at, now, now, by.pk if by else None)
                )  # fmt: skip
        cursor.execute("SELECT external_ref, id FROM handoffs_workitem WHERE source = %s", [source])
        item_ids = dict(cursor.fetchall())
        with cursor.connection.cursor().copy(
            "COPY handoffs_event (item_id, kind, at, actor_id, from_stage_id, to_stage_id, "
            "payload) FROM STDIN"
        ) as copy:
            for case_id, rows in cases.items():
                _write_case_events(copy, item_ids[case_id], rows, stages, by)
        # Fresh statistics, or the planner takes the just-copied tables for tiny ones and
        # the fact queries below pick nested loops over the whole log (measured: 10×).
        cursor.execute("ANALYZE handoffs_workitem")
        cursor.execute("ANALYZE handoffs_event")
    metrics.rebuild_item_facts(item_ids.values())
    board_cache.invalidate_on_commit()
    return workflow


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


def _write_case_events(copy, item_id, rows, stages, by):
    """created → (handoff submitted + accepted at the same instant) per later row → delivered.

    Submitted and accepted share the row's timestamp because the log does not say
    how long the item waited: the import claims no handoff wait it cannot know.
    """
    actor = by.pk if by else None
    first = rows[0]
    payload = {"imported": True, "activity": first.activity, "resource": first.resource}
    copy.write_row(
        (item_id, Event.Kind.CREATED, first.at, actor, None, stages[first.activity].pk,
         json.dumps({**payload, "title": str(first.case_id)}))
    )  # fmt: skip
    previous = first
    for row in rows[1:]:
        payload = json.dumps({"imported": True, "activity": row.activity, "resource": row.resource})
        from_id, to_id = stages[previous.activity].pk, stages[row.activity].pk
        copy.write_row(
            (item_id, Event.Kind.HANDOFF_SUBMITTED, row.at, actor, from_id, to_id, payload)
        )
        copy.write_row((item_id, Event.Kind.HANDOFF_ACCEPTED, row.at, actor, None, to_id, payload))
        previous = row
    last = rows[-1]
    copy.write_row(
        (item_id, Event.Kind.DELIVERED, last.at, actor, stages[last.activity].pk, None,
         json.dumps({"imported": True, "cycle_seconds": (last.at - first.at).total_seconds()}))
    )  # fmt: skip
