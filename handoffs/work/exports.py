"""Spreadsheet import of current work, and CSV export in the same columns.

Upload (CSV or XLSX, at most 5 MB and 10,000 rows) → map columns to item attributes and
pick the date order (remembered per workflow) → preview and dry run naming every bad cell
by line and column → commit, all rows or none, in one transaction; the commit validates
through the very same path as the dry run, so it refuses nothing the dry run passed.
Exported items re-import cleanly: the export's columns are the import's targets, and the
mapping guesses them by name.
"""

import csv

from handoffs.work.imports import EVENT_COLUMNS, ITEM_COLUMNS
from handoffs.work.models import Event, WorkItem
from handoffs.work.services import workflow_field_definitions
from handoffs.work.sheets import spreadsheet_safe

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
