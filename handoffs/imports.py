"""Spreadsheet import of current work, and CSV export in the same columns.

Upload (CSV or XLSX, at most 5 MB and 10,000 rows) → map columns to item attributes
(remembered per workflow) → preview and dry run with every bad row named → commit, all
rows or none, in one transaction. Exported items re-import cleanly: the export's columns
are the import's targets, and the mapping guesses them by name.
"""

import csv
import datetime
import io
import zipfile
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from handoffs.fields import clean_value
from handoffs.models import Event, ImportMapping, WorkItem
from handoffs.services import workflow_field_definitions
from opshub.lib.dates import due_date_problem, requested_at_problem
from opshub.lib.tasks import enqueue_on_commit

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_ERRORS_SHOWN = 500
IMPORT_SOURCE = "import"
ITEM_COLUMNS = [
    ("title", "Title"),
    ("external_ref", "External reference"),
    ("requested_at", "Requested at"),
    ("stage", "Stage"),
    ("priority", "Priority"),
    ("due_date", "Due date"),
    ("delivered_at", "Delivered at"),
]
EVENT_COLUMNS = ["case_id", "activity", "timestamp", "resource", "group"]


class ImportProblem(Exception):
    """The file as a whole cannot be read (size, format, header, row count)."""


# --- Reading ------------------------------------------------------------------------------------


@dataclass
class Sheet:
    headers: list
    rows: list  # [(line number, [cell text, …])]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_safe(text):
    """Text a spreadsheet will not run as a formula: a leading ' (undone on import)."""
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _unescape(text):
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _unescape(str(value).strip())


def _check_header(headers):
    headers = [h.strip() for h in headers]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise ImportProblem("The first row must name the columns.")
    blank = [str(i + 1) for i, h in enumerate(headers) if not h]
    if blank:
        raise ImportProblem(f"Column {', '.join(blank)} has no name in the first row.")
    seen = set()
    for header in headers:
        if header.lower() in seen:
            raise ImportProblem(f"Two columns are called “{header}”.")
        seen.add(header.lower())
    return headers


def _collect(header_row, data_rows):
    headers = _check_header([_cell_text(h) for h in header_row])
    rows = []
    for line, cells in data_rows:
        cells = [_cell_text(c) for c in cells]
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportProblem(f"The file has more than {MAX_ROWS:,} rows; split it.")
        cells = (cells + [""] * len(headers))[: max(len(headers), len(cells))]
        rows.append((line, cells))
    return Sheet(headers=headers, rows=rows)


def _delimiter(text):
    """Comma, semicolon (European Excel) or tab: whichever splits the header row most.

    Only the header is read: cells may hold any punctuation, column names rarely do.
    """
    first = text.splitlines()[0] if text else ""
    counts = {}
    for delimiter in ",;\t":
        try:
            counts[delimiter] = len(next(csv.reader([first], delimiter=delimiter), []))
        except csv.Error:
            counts[delimiter] = 0
    return max(counts, key=lambda d: (counts[d], d == ","))


def parse_csv(content):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportProblem("The file is empty.")
        return _collect(header, ((reader.line_num, row) for row in reader))
    except csv.Error as exc:
        raise ImportProblem(f"Line {reader.line_num}: not valid CSV ({exc}).") from None


def parse_xlsx(content):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportProblem(f"Not a readable XLSX workbook ({exc}).") from None
    try:
        rows = workbook.active.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ImportProblem("The first sheet is empty.")
        return _collect(header, ((line, row) for line, row in enumerate(rows, start=2)))
    finally:
        workbook.close()


def parse(content, filename):
    if len(content) > MAX_BYTES:
        raise ImportProblem(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if filename.lower().endswith(".xlsx") or content[:4] == b"PK\x03\x04":
        return parse_xlsx(content)
    return parse_csv(content)


# --- Mapping -------------------------------------------------------------------------------------


def targets(workflow):
    """[(target, label)]: the item attributes and the workflow's protocol fields."""
    fields = workflow_field_definitions(workflow)
    return ITEM_COLUMNS + [
        (f"fields.{key}", defn.get("label") or key) for key, defn in fields.items()
    ]


def _norm(text):
    return "".join(ch for ch in text.lower() if ch.isalnum())


def guess_mapping(headers, workflow):
    """The remembered mapping where it knows a header, else a match by name or label."""
    remembered = ImportMapping.objects.filter(workflow=workflow).values_list("columns", flat=True)
    remembered = remembered.first() or {}
    by_name = {}
    for target, label in targets(workflow):
        for name in (target, target.removeprefix("fields."), label):
            by_name.setdefault(_norm(name), target)
    return {h: remembered.get(h, by_name.get(_norm(h), "")) for h in headers}


def clean_mapping(mapping, headers, workflow):
    """{header: target} with only known targets, each used once; raises ValidationError."""
    allowed = dict(targets(workflow))
    cleaned, used, errors = {}, {}, {}
    for header in headers:
        target = (mapping.get(header) or "").strip()
        if not target:
            continue
        if target not in allowed:
            errors[header] = f"“{target}” is not something an item has."
        elif target in used:
            errors[header] = f"“{used[target]}” is already mapped to {allowed[target]}."
        else:
            cleaned[header], used[target] = target, header
    if "title" not in used and not errors:
        errors["__all__"] = "Map one column to Title."
    if errors:
        raise ValidationError(errors)
    return cleaned


def remember_mapping(workflow, mapping, by):
    ImportMapping.objects.update_or_create(
        workflow=workflow, defaults={"columns": mapping, "updated_by": by}
    )


# --- Validating ----------------------------------------------------------------------------------


@dataclass
class Plan:
    items: list = field(default_factory=list)  # [(line, dict of values)]
    errors: list = field(default_factory=list)  # [(line, [messages])]

    @property
    def error_count(self):
        return len(self.errors)


def _parse_moment(text):
    value = parse_datetime(text)
    if value is None:
        day = parse_date(text)
        if day is None:
            return None
        value = datetime.datetime.combine(day, datetime.time())
    return value if timezone.is_aware(value) else value.replace(tzinfo=datetime.UTC)


def _row_values(cells, headers, mapping):
    values = {}
    for index, header in enumerate(headers):
        target = mapping.get(header)
        if target:
            values[target] = cells[index].strip() if index < len(cells) else ""
    return values


def _validate_row(values, context):
    """(item values, messages) for one row: each reader fills in its columns and says what
    is wrong with them, in column order."""
    out, errors = {}, []
    for read in _ROW_READERS:
        errors += read(values, context, out)
    return out, errors


def _read_texts(values, context, out):
    out["title"] = values.get("title", "")
    out["external_ref"] = values.get("external_ref", "")
    errors = []
    if not out["title"]:
        errors.append("Title is empty.")
    elif len(out["title"]) > 200:
        errors.append("Title is longer than 200 characters.")
    if len(out["external_ref"]) > 120:
        errors.append("External reference is longer than 120 characters.")
    return errors


def _read_moments(values, context, out):
    """Requested at (now when empty) and delivered at."""
    errors, now = [], context["now"]
    for name in ("requested_at", "delivered_at"):
        text, label = values.get(name, ""), dict(ITEM_COLUMNS)[name]
        out[name] = _parse_moment(text) if text else None
        if text and out[name] is None:
            errors.append(f"{label} “{text}” is not a date or date-time.")
        elif out[name] and (problem := _moment_problem(name, out[name], now, label)):
            errors.append(problem)
    out["requested_at"] = out["requested_at"] or now
    if out["delivered_at"] and out["delivered_at"] < out["requested_at"]:
        errors.append("Delivered at is before requested at.")
    return errors


def _moment_problem(name, moment, now, label):
    if name == "requested_at":  # the bounds every entry point shares (opshub/lib/dates.py)
        return requested_at_problem(moment, now=now, label=label)
    return f"{label} is in the future." if moment > now + datetime.timedelta(minutes=5) else None


def _read_stage(values, context, out):
    name = values.get("stage", "")
    out["stage"] = context["stages"].get(name.lower()) if name else context["first"]
    return [f"No stage “{name}” in this workflow."] if out["stage"] is None else []


def _read_priority(values, context, out):
    text = values.get("priority", "")
    out["priority"] = context["priorities"].get(text.lower(), None if text else "normal")
    if out["priority"] is None:
        return [f"Priority “{text}” is not one of: low, normal, high, urgent."]
    return []


def _read_due_date(values, context, out):
    text = values.get("due_date", "")
    out["due_date"] = parse_date(text) if text else None
    if text and out["due_date"] is None:
        return [f"Due date “{text}” is not a date (YYYY-MM-DD)."]
    problem = out["due_date"] and due_date_problem(out["due_date"], label="Due date")
    return [problem] if problem else []


def _read_fields(values, context, out):
    """Protocol fields, cleaned by their type; empty ones are left out."""
    out["fields"], errors = {}, []
    for target, raw in values.items():
        if not target.startswith("fields."):
            continue
        defn = context["fields"][target.removeprefix("fields.")]
        try:
            value = clean_value(defn, raw)
        except ValidationError as exc:
            errors.extend(exc.messages)
        else:
            if value is not None:
                out["fields"][defn["key"]] = value
    return errors


_ROW_READERS = (
    _read_texts,
    _read_moments,
    _read_stage,
    _read_priority,
    _read_due_date,
    _read_fields,
)


def validate(sheet, mapping, workflow):
    """Checks every row; the plan carries the cleaned items and every row's errors."""
    stages = list(workflow.stages.order_by("position"))
    context = {
        "now": timezone.now(),
        "stages": {s.name.lower(): s for s in stages},
        "first": stages[0] if stages else None,
        "priorities": {
            **{v: v for v in WorkItem.Priority.values},
            **{label.lower(): v for v, label in WorkItem.Priority.choices},
        },
        "fields": workflow_field_definitions(workflow),
    }
    plan = Plan()
    if not stages:
        plan.errors.append((1, ["This workflow has no stages yet."]))
        return plan
    seen_refs = {}
    for line, cells in sheet.rows:
        values, errors = _validate_row(_row_values(cells, sheet.headers, mapping), context)
        ref = values["external_ref"]
        if ref and ref in seen_refs:
            errors.append(f"External reference “{ref}” is also on line {seen_refs[ref]}.")
        elif ref:
            seen_refs[ref] = line
        if errors:
            plan.errors.append((line, errors))
        else:
            plan.items.append((line, values))
    taken = set(
        WorkItem.objects.filter(source=IMPORT_SOURCE, external_ref__in=list(seen_refs)).values_list(
            "external_ref", flat=True
        )
    )
    for line, values in plan.items:
        if values["external_ref"] in taken:
            plan.errors.append((line, [f"“{values['external_ref']}” was imported before."]))
    plan.errors.sort()
    return plan


def preview(sheet, mapping, workflow):
    """The first rows as they will be read: mapped columns only, each row's problems."""
    labels = dict(targets(workflow))
    columns = [(h, labels[mapping[h]]) for h in sheet.headers if h in mapping]
    problems = dict(validate(sheet, mapping, workflow).errors)
    rows = []
    for line, cells in sheet.rows:
        values = _row_values(cells, sheet.headers, mapping)
        shown = [values.get(mapping[h], "") for h, _ in columns]
        rows.append({"line": line, "cells": shown, "errors": problems.get(line, [])})
    return {"columns": columns, "rows": rows}


# --- Committing ----------------------------------------------------------------------------------


@transaction.atomic
def import_commit(*, batch, mapping, by):
    """Creates every row's item and events, or nothing: raises ValidationError naming rows."""
    if not batch.workflow.can_edit(by):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only the workflow's leads and admins import into it.")
    sheet = parse(bytes(batch.content), batch.filename)
    plan = validate(sheet, mapping, batch.workflow)
    if plan.errors:
        raise ValidationError(
            [f"Line {line}: {' '.join(messages)}" for line, messages in plan.errors]
        )
    # One lock per batch: a double-click commits once.
    from handoffs.models import ImportBatch

    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.committed_at:
        raise ValidationError("This file was imported already.")
    now = timezone.now()
    items = WorkItem.objects.bulk_create(
        [_item(values, batch.workflow, by) for _, values in plan.items], batch_size=1000
    )
    events = []
    for item in items:
        events.append(
            Event(
                item=item,
                kind=Event.Kind.CREATED,
                at=item.requested_at,
                actor=by,
                to_stage=item.stage,
                payload={
                    "title": item.title,
                    "source": item.source,
                    "external_ref": item.external_ref,
                    "assignee_id": None,
                    "fields": item.fields,
                    "import_batch": batch.pk,
                },
            )
        )
        if item.delivered_at:
            events.append(
                Event(
                    item=item,
                    kind=Event.Kind.DELIVERED,
                    at=item.delivered_at,
                    actor=by,
                    from_stage=item.stage,
                    payload={"import_batch": batch.pk},
                )
            )
    Event.objects.bulk_create(events, batch_size=2000)
    ImportBatch.objects.filter(pk=batch.pk).update(committed_at=now, item_count=len(items))
    remember_mapping(batch.workflow, mapping, by)
    delivered = [item.pk for item in items if item.delivered_at]
    if delivered:
        from scoreboard.tasks import snapshot_update_task

        enqueue_on_commit(snapshot_update_task, delivered)
    return items


def _item(values, workflow, by):
    done = values["delivered_at"] is not None
    return WorkItem(
        workflow=workflow,
        stage=values["stage"],
        state=WorkItem.State.DONE if done else WorkItem.State.IN_PROGRESS,
        title=values["title"],
        priority=values["priority"],
        due_date=values["due_date"],
        source=IMPORT_SOURCE,
        external_ref=values["external_ref"],
        requested_at=values["requested_at"],
        delivered_at=values["delivered_at"],
        fields=values["fields"],
        created_by=by,
        stage_entered_at=values["requested_at"],
        state_changed_at=values["delivered_at"] or values["requested_at"],
    )


# --- Exporting ----------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def export_items_rows(workflow):
    """CSV lines of the workflow's items in the import's own columns."""
    keys = list(workflow_field_definitions(workflow))
    writer = csv.writer(_Echo())
    yield writer.writerow([t for t, _ in ITEM_COLUMNS] + keys)
    items = (
        WorkItem.objects.filter(workflow=workflow)
        .exclude(state=WorkItem.State.CANCELLED)
        .select_related("stage")
        .order_by("requested_at", "pk")
    )
    for item in items.iterator(chunk_size=2000):
        row = [
            item.title,
            item.external_ref,
            item.requested_at.isoformat(),
            item.stage.name,
            item.priority,
            item.due_date.isoformat() if item.due_date else "",
            item.delivered_at.isoformat() if item.delivered_at else "",
        ] + [_export_value(item.fields.get(key)) for key in keys]
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])


def _export_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def export_events_rows(workflow):
    """The delivered items' stage history in `import_events` columns
    (case_id, activity, timestamp, resource, group): a baseline for another opshub."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EVENT_COLUMNS)
    moves = (
        Event.objects.filter(
            item__workflow=workflow,
            item__state=WorkItem.State.DONE,
            kind__in=[
                Event.Kind.CREATED,
                Event.Kind.HANDOFF_SUBMITTED,
                Event.Kind.HANDOFF_BOUNCED,
                Event.Kind.DELIVERED,
            ],
        )
        .select_related("item__stage__team", "actor", "to_stage__team", "from_stage__team")
        .order_by("item_id", "at", "pk")
    )
    for event in moves.iterator(chunk_size=2000):
        stage = event.to_stage or event.from_stage or event.item.stage
        row = [
            event.item.external_ref or f"item-{event.item_id}",
            stage.name,
            event.at.isoformat(),
            event.actor.email if event.actor_id else "",
            stage.team.name,
        ]
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])
