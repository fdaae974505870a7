"""Spreadsheet import of current work, and CSV export in the same columns.

Upload (CSV or XLSX, at most 5 MB and 10,000 rows) → map columns to item attributes and
pick the date order (remembered per workflow) → preview and dry run naming every bad cell
by line and column → commit, all rows or none, in one transaction; the commit validates
through the very same path as the dry run, so it refuses nothing the dry run passed.
Exported items re-import cleanly: the export's columns are the import's targets, and the
mapping guesses them by name.
"""

import datetime
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from handoffs.signals import items_delivered
from handoffs.work.models import Event, ImportBatch, ImportMapping, WorkItem
from handoffs.work.services import workflow_field_definitions
from handoffs.work.sheets import parse
from handoffs.workflows.fields import clean_value
from opshub.lib.dates import due_date_problem, requested_at_problem

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
DateOrder = ImportMapping.DateOrder


# --- Mapping -------------------------------------------------------------------------------------


def targets(workflow):
    """[(target, label)]: the item attributes and the workflow's protocol fields."""
    fields = workflow_field_definitions(workflow)
    return ITEM_COLUMNS + [
        (f"fields.{key}", defn.get("label") or key) for key, defn in fields.items()
    ]


def _norm(text):
    return "".join(ch for ch in text.lower() if ch.isalnum())


def remembered(workflow):
    """The workflow's saved ImportMapping, or an unsaved empty one (ISO dates)."""
    saved = ImportMapping.objects.filter(workflow=workflow).first()
    return saved or ImportMapping(workflow=workflow)


def guess_mapping(headers, workflow, saved=None):
    """The remembered mapping where it knows a header, else a match by name or label."""
    remembered_columns = (saved or remembered(workflow)).columns
    by_name = {}
    for target, label in targets(workflow):
        for name in (target, target.removeprefix("fields."), label):
            by_name.setdefault(_norm(name), target)
    return {h: remembered_columns.get(h, by_name.get(_norm(h), "")) for h in headers}


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


def remember_mapping(workflow, mapping, by, date_order=DateOrder.ISO):
    ImportMapping.objects.update_or_create(
        workflow=workflow,
        defaults={"columns": mapping, "date_order": date_order, "updated_by": by},
    )


# --- Validating ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be imported; column is “E “Amount”” or "" for the row."""

    column: str
    message: str

    def __str__(self):
        return f"column {self.column}: {self.message}" if self.column else self.message


@dataclass
class Plan:
    items: list = field(default_factory=list)  # [(line, dict of values)]
    errors: list = field(default_factory=list)  # [(line, [Problem])], by line

    @property
    def error_count(self):
        return len(self.errors)

    def messages(self):
        """One text per bad row: “Line 3, column E “Amount”: … ”."""
        return [
            f"Line {line}, " + "; ".join(str(p) for p in problems)
            if problems[0].column
            else f"Line {line}: " + "; ".join(str(p) for p in problems)
            for line, problems in self.errors
        ]


_NUMERIC_DATE = re.compile(
    r"(?P<a>[0-9]{1,2})(?P<sep>[/.-])(?P<b>[0-9]{1,2})(?P=sep)(?P<year>[0-9]{4})"
    r"(?:[ T](?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?)?"
)


def _parse_numeric_date(text, order):
    """31/12/2026 [14:30[:00]] (also with . or -) in the chosen order; None when it is not
    one, or names no real day. ISO order reads none: 05/01/2026 means two different days."""
    match = _NUMERIC_DATE.fullmatch(text)
    if match is None or order == DateOrder.ISO:
        return None
    day, month = (
        (match["a"], match["b"]) if order == DateOrder.DAY_FIRST else (match["b"], match["a"])
    )
    try:
        return datetime.datetime(
            int(match["year"]),
            int(month),
            int(day),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
        )
    except ValueError:
        return None


def _parse_moment(text, order=DateOrder.ISO):
    """An aware date-time (UTC when none is given) or None: impossible dates such as
    2026-02-30 are None too, never an exception."""
    try:
        value = parse_datetime(text)
        if value is None:
            day = parse_date(text)
            value = datetime.datetime.combine(day, datetime.time()) if day else None
    except ValueError:  # the shape of a date, but no such day (2026-13-40)
        value = None
    if value is None:
        value = _parse_numeric_date(text, order)
    if value is None:
        return None
    return value if timezone.is_aware(value) else value.replace(tzinfo=datetime.UTC)


def _parse_day(text, order=DateOrder.ISO):
    """A date, from a date or a date-time at midnight, or None."""
    value = _parse_moment(text, order)
    if value is None or value.timetz().replace(tzinfo=None) != datetime.time():
        return None
    return value.date()


# PostgreSQL stores neither NUL nor a lone surrogate, in text or in JSON.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _row_values(cells, headers, mapping):
    values = {}
    for index, header in enumerate(headers):
        target = mapping.get(header)
        if target:
            values[target] = cells[index].strip() if index < len(cells) else ""
    return values


def _validate_row(values, context):
    """(item values, [Problem]) for one row: each reader fills in its columns and says what
    is wrong with them, in column order. A cell that cannot be stored is named alone."""
    unstorable = [
        Problem(
            context["columns"][target],
            "holds a character that cannot be stored (NUL or a broken one); remove it.",
        )
        for target, text in values.items()
        if _UNSTORABLE.search(text)
    ]
    if unstorable:
        return {"external_ref": ""}, unstorable
    out, errors = {}, []
    for read in _ROW_READERS:
        for target, message in read(values, context, out):
            errors.append(Problem(context["columns"].get(target, ""), message))
    return out, errors


def _read_texts(values, context, out):
    out["title"] = values.get("title", "")
    out["external_ref"] = values.get("external_ref", "")
    errors = []
    if not out["title"]:
        errors.append(("title", "Title is empty."))
    elif len(out["title"]) > 200:
        errors.append(("title", "Title is longer than 200 characters."))
    if len(out["external_ref"]) > 120:
        errors.append(("external_ref", "External reference is longer than 120 characters."))
    return errors


def _read_moments(values, context, out):
    """Requested at (now when empty) and delivered at."""
    errors, now = [], context["now"]
    for name in ("requested_at", "delivered_at"):
        text, label = values.get(name, ""), dict(ITEM_COLUMNS)[name]
        out[name] = _parse_moment(text, context["date_order"]) if text else None
        if text and out[name] is None:
            errors.append((name, f"{label} “{text}” is not a date or date-time{context['hint']}."))
        elif out[name] and (problem := _moment_problem(name, out[name], now, label)):
            errors.append((name, problem))
    out["requested_at"] = out["requested_at"] or now
    if out["delivered_at"] and out["delivered_at"] < out["requested_at"]:
        errors.append(("delivered_at", "Delivered at is before requested at."))
    return errors


def _moment_problem(name, moment, now, label):
    if name == "requested_at":  # the bounds every entry point shares (opshub/lib/dates.py)
        return requested_at_problem(moment, now=now, label=label)
    return f"{label} is in the future." if moment > now + datetime.timedelta(minutes=5) else None


def _read_stage(values, context, out):
    name = values.get("stage", "")
    out["stage"] = context["stages"].get(name.lower()) if name else context["first"]
    return [("stage", f"No stage “{name}” in this workflow.")] if out["stage"] is None else []


def _read_priority(values, context, out):
    text = values.get("priority", "")
    out["priority"] = context["priorities"].get(text.lower(), None if text else "normal")
    if out["priority"] is None:
        return [("priority", f"Priority “{text}” is not one of: low, normal, high, urgent.")]
    return []


def _read_due_date(values, context, out):
    text = values.get("due_date", "")
    out["due_date"] = _parse_day(text, context["date_order"]) if text else None
    if text and out["due_date"] is None:
        return [("due_date", f"Due date “{text}” is not a date{context['hint']}.")]
    problem = out["due_date"] and due_date_problem(out["due_date"], label="Due date")
    return [("due_date", problem)] if problem else []


def _read_fields(values, context, out):
    """Protocol fields, cleaned by their type; empty ones are left out."""
    out["fields"], errors = {}, []
    for target, raw in values.items():
        if not target.startswith("fields."):
            continue
        defn = context["fields"][target.removeprefix("fields.")]
        if defn.get("type") == "date" and raw:
            # Date fields read in the chosen order too; clean_value takes ISO.
            day = _parse_day(raw, context["date_order"])
            raw = day.isoformat() if day else raw
        try:
            value = clean_value(defn, raw)
        except ValidationError as exc:
            errors.extend((target, message) for message in exc.messages)
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


_DATE_HINTS = {
    DateOrder.ISO: " (YYYY-MM-DD; for 31/12/2026 pick the date order day first)",
    DateOrder.DAY_FIRST: " (day first: 31/12/2026, or YYYY-MM-DD)",
    DateOrder.MONTH_FIRST: " (month first: 12/31/2026, or YYYY-MM-DD)",
}


def _column_names(headers, mapping):
    """{target: “E “Amount””}: where a value came from, as the spreadsheet shows it."""
    from openpyxl.utils import get_column_letter

    return {
        mapping[header]: f"{get_column_letter(index + 1)} “{header}”"
        for index, header in enumerate(headers)
        if mapping.get(header)
    }


def validate(sheet, mapping, workflow, date_order=DateOrder.ISO):
    """Checks every row, exactly as the commit will (the commit calls this): the plan
    carries the cleaned items and every row's problems, by line and column."""
    stages = list(workflow.stages.order_by("position"))
    date_order = DateOrder(date_order)
    context = {
        "date_order": date_order,
        "hint": _DATE_HINTS[date_order],
        "columns": _column_names(sheet.headers, mapping),
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
        plan.errors.append((1, [Problem("", "This workflow has no stages yet.")]))
        return plan
    seen_refs = {}
    for line, cells in sheet.rows:
        values, errors = _validate_row(_row_values(cells, sheet.headers, mapping), context)
        ref = values["external_ref"]
        if ref and ref in seen_refs:
            column = context["columns"]["external_ref"]
            errors.append(
                Problem(column, f"External reference “{ref}” is also on line {seen_refs[ref]}.")
            )
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
            column = context["columns"]["external_ref"]
            message = f"“{values['external_ref']}” was imported before."
            plan.errors.append((line, [Problem(column, message)]))
    plan.errors.sort(key=lambda error: error[0])
    return plan


def preview(sheet, mapping, workflow, date_order=DateOrder.ISO):
    """The first rows as they will be read: mapped columns only, each row's problems."""
    labels = dict(targets(workflow))
    columns = [(h, labels[mapping[h]]) for h in sheet.headers if h in mapping]
    problems = dict(validate(sheet, mapping, workflow, date_order).errors)
    rows = []
    for line, cells in sheet.rows:
        values = _row_values(cells, sheet.headers, mapping)
        shown = [values.get(mapping[h], "") for h, _ in columns]
        rows.append({"line": line, "cells": shown, "errors": problems.get(line, [])})
    return {"columns": columns, "rows": rows}


# --- Committing ----------------------------------------------------------------------------------


@transaction.atomic
def import_commit(*, batch, mapping, by, date_order=DateOrder.ISO):
    """Creates every row's item and events, or nothing: raises ValidationError naming rows
    (the dry run's own messages: both come from validate())."""
    if not batch.workflow.can_edit(by):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only the workflow's leads and admins import into it.")
    sheet = parse(bytes(batch.content), batch.filename)
    plan = validate(sheet, mapping, batch.workflow, date_order)
    if plan.errors:
        raise ValidationError(plan.messages())
    # One lock per batch: a double-click commits once.
    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.committed_at:
        raise ValidationError("This file was imported already.")
    now = timezone.now()
    try:
        with transaction.atomic():
            items = WorkItem.objects.bulk_create(
                [_item(values, batch.workflow, by) for _, values in plan.items], batch_size=1000
            )
    except IntegrityError:
        # Another file with one of these references was imported while this one was checked.
        raise ValidationError(
            "Another import took one of these external references meanwhile; run the dry run again."
        ) from None
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
    remember_mapping(batch.workflow, mapping, by, date_order)
    delivered = [item.pk for item in items if item.delivered_at]
    if delivered:
        items_delivered.send(sender=WorkItem, item_ids=delivered)
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
