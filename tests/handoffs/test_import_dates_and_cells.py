"""Spreadsheet import: the dry run finds everything the commit refuses (impossible dates, cells
PostgreSQL cannot store), by line and column; dates read in the order the user picks."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from handoffs.models import Event, ImportBatch, ImportMapping, WorkItem
from handoffs.work import imports, sheets

UTC = datetime.UTC
MAPPING = {
    "Title": "title",
    "Ref": "external_ref",
    "Requested": "requested_at",
    "Due": "due_date",
    "PO": "fields.po_number",
    "Amount": "fields.amount",
}
HEADER = "Title,Ref,Requested,Due,PO,Amount\n"
GOOD_ROW = "Good order,R1,2026-01-05,2026-02-01,PO-1,10\n"


def _batch(workflow, user, content, filename="orders.csv"):
    content = content.encode() if isinstance(content, str) else content
    return ImportBatch.objects.create(
        workflow=workflow, filename=filename, content=content, uploaded_by=user, row_count=2
    )


def _xlsx(*rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _dry_run_then_commit(workflow, lead, content, filename, date_order=imports.DateOrder.ISO):
    """The dry run's problems and the commit's refusal, for the same stored file."""
    batch = _batch(workflow, lead, content, filename)
    plan = imports.validate(
        sheets.parse(bytes(batch.content), filename), MAPPING, workflow, date_order
    )
    with pytest.raises(ValidationError) as refusal:
        imports.import_commit(batch=batch, mapping=MAPPING, by=lead, date_order=date_order)
    assert not WorkItem.objects.exists() and not Event.objects.exists()
    return plan, refusal.value.messages


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("Null\x00title,R2,2026-01-05,,PO-2,10\n", "A “Title”"),
        ("NUL ref,R\x002,2026-01-05,,PO-2,10\n", "B “Ref”"),
        ("NUL field,R2,2026-01-05,,PO\x00-2,10\n", "E “PO”"),
    ],
    ids=["title", "external-ref", "protocol-field"],
)
def test_a_nul_cell_fails_the_dry_run_and_the_commit_alike(workflow, lead, row, column):
    plan, refusal = _dry_run_then_commit(workflow, lead, HEADER + GOOD_ROW + row, "orders.csv")

    message = "holds a character that cannot be stored (NUL or a broken one); remove it."
    assert plan.errors == [(3, [imports.Problem(column, message)])]
    assert refusal == [f"Line 3, column {column}: {message}"]


@pytest.mark.parametrize("text", ["2026-13-40", "2026-02-30", "2026-02-30T10:00:00Z"])
@pytest.mark.parametrize(
    ("column", "cells"),
    [
        ("C “Requested”", lambda text: ["Order", "R2", text, "", "PO-2", 10]),
        ("D “Due”", lambda text: ["Order", "R2", "2026-01-05", text, "PO-2", 10]),
    ],
    ids=["requested-at", "due-date"],
)
@pytest.mark.parametrize("filename", ["orders.csv", "orders.xlsx"])
def test_an_impossible_date_is_a_problem_in_its_cell_not_an_error(
    workflow, lead, text, column, cells, filename
):
    rows = [list(MAPPING), ["Good order", "R1", "2026-01-05", "", "PO-1", 10], cells(text)]
    if filename.endswith(".csv"):
        content = "".join(",".join(map(str, row)) + "\n" for row in rows)
    else:
        content = _xlsx(*rows)

    plan, refusal = _dry_run_then_commit(workflow, lead, content, filename)

    [(line, [problem])] = plan.errors
    assert (line, problem.column) == (3, column)
    assert f"“{text}” is not a date" in problem.message
    assert refusal == [f"Line 3, column {column}: {problem.message}"]


@pytest.mark.parametrize(
    ("order", "requested", "due", "expected_requested", "expected_due"),
    [
        (
            imports.DateOrder.DAY_FIRST,
            "05/01/2026 14:30",
            "31.12.2026",
            datetime.datetime(2026, 1, 5, 14, 30, tzinfo=UTC),
            datetime.date(2026, 12, 31),
        ),
        (
            imports.DateOrder.DAY_FIRST,
            "5.1.2026",
            "31/12/2026",
            datetime.datetime(2026, 1, 5, tzinfo=UTC),
            datetime.date(2026, 12, 31),
        ),
        (
            imports.DateOrder.MONTH_FIRST,
            "05/01/2026 14:30:15",
            "12/31/2026",
            datetime.datetime(2026, 5, 1, 14, 30, 15, tzinfo=UTC),
            datetime.date(2026, 12, 31),
        ),
        (
            imports.DateOrder.MONTH_FIRST,
            "2026-01-05T10:00:00+01:00",
            "2026-12-31",
            datetime.datetime(2026, 1, 5, 9, tzinfo=UTC),
            datetime.date(2026, 12, 31),
        ),
    ],
)
def test_dates_read_in_the_chosen_order_and_commit_as_dry_run(
    workflow, lead, order, requested, due, expected_requested, expected_due
):
    content = HEADER + f"Order,R1,{requested},{due},PO-1,10\n"
    batch = _batch(workflow, lead, content)

    plan = imports.validate(sheets.parse(content.encode(), "x.csv"), MAPPING, workflow, order)
    imports.import_commit(batch=batch, mapping=MAPPING, by=lead, date_order=order)

    assert plan.errors == []
    item = WorkItem.objects.get()
    assert (item.requested_at, item.due_date) == (expected_requested, expected_due)
    assert ImportMapping.objects.get(workflow=workflow).date_order == order


@pytest.mark.parametrize(
    ("order", "text", "hint"),
    [
        (imports.DateOrder.ISO, "31/12/2026", "pick the date order day first"),
        (imports.DateOrder.DAY_FIRST, "12/31/2026", "day first: 31/12/2026"),
        (imports.DateOrder.MONTH_FIRST, "31/12/2026", "month first: 12/31/2026"),
        (imports.DateOrder.DAY_FIRST, "31/12/26", "day first: 31/12/2026"),
    ],
)
def test_a_date_that_does_not_fit_the_chosen_order_is_refused_with_a_hint(
    workflow, lead, order, text, hint
):
    content = HEADER + f"Order,R1,2026-01-05,{text},PO-1,10\n"

    plan, refusal = _dry_run_then_commit(workflow, lead, content, "orders.csv", order)

    [(line, [problem])] = plan.errors
    assert (line, problem.column) == (2, "D “Due”")
    assert (
        problem.message.startswith(f"Due date “{text}” is not a date") and hint in problem.message
    )
    assert refusal == [f"Line 2, column D “Due”: {problem.message}"]


def test_xlsx_text_dates_follow_the_order_and_date_cells_read_the_same_in_any(workflow, lead):
    content = _xlsx(
        list(MAPPING),
        ["Text dates", "R1", "05/01/2026", "31/12/2026", "PO-1", 10],
        [
            "Date cells",
            "R2",
            datetime.datetime(2026, 1, 6, 8),
            datetime.date(2026, 3, 1),
            "PO-2",
            5,
        ],
    )
    batch = _batch(workflow, lead, content, "orders.xlsx")

    imports.import_commit(
        batch=batch, mapping=MAPPING, by=lead, date_order=imports.DateOrder.DAY_FIRST
    )

    text, cells = WorkItem.objects.order_by("external_ref")
    assert (text.requested_at, text.due_date) == (
        datetime.datetime(2026, 1, 5, tzinfo=UTC),
        datetime.date(2026, 12, 31),
    )
    assert (cells.requested_at, cells.due_date) == (
        datetime.datetime(2026, 1, 6, 8, tzinfo=UTC),
        datetime.date(2026, 3, 1),
    )


# --- Through the pages ---------------------------------------------------------------------------


COLUMNS = {f"col_{i}": target for i, target in enumerate(MAPPING.values())}


def test_the_pages_show_a_nul_cell_in_the_dry_run_and_the_commit_creates_nothing(
    client, workflow, lead
):
    client.force_login(lead)
    batch = _batch(workflow, lead, HEADER + GOOD_ROW + "Bad\x00,R2,31/02/2026,,PO-2,1\n")

    dry = client.post(batch.get_absolute_url(), {**COLUMNS, "date_order": "day_first"})
    commit = client.post(
        batch.get_absolute_url(), {**COLUMNS, "date_order": "day_first", "action": "commit"}
    )

    assert dry.status_code == 200 and commit.status_code == 200
    assert "1 row with problems" in dry.content.decode()
    assert "A “Title”" in dry.content.decode()
    assert "Line 3, column A “Title”: holds a character" in commit.content.decode()
    assert not WorkItem.objects.exists()


def test_the_chosen_date_order_is_remembered_with_the_mapping(client, workflow, lead):
    client.force_login(lead)
    content = HEADER + "Order,R1,31/12/2025,31.12.2026,PO-1,10\n"
    batch = _batch(workflow, lead, content)

    dry = client.post(batch.get_absolute_url(), {**COLUMNS, "date_order": "day_first"})
    assert "all 1 rows are ready" in dry.content.decode()
    assert ImportMapping.objects.get(workflow=workflow).date_order == "day_first"

    again = _batch(workflow, lead, content)
    page = client.get(again.get_absolute_url()).content.decode()
    assert '<option value="day_first" selected>' in page
    done = client.post(
        again.get_absolute_url(), {**COLUMNS, "date_order": "day_first", "action": "commit"}
    )
    assert done.status_code == 302
    assert WorkItem.objects.get().due_date == datetime.date(2026, 12, 31)


def test_a_date_field_reads_in_the_chosen_order_too(workflow, lead):
    version = workflow.handoffs.get().published()
    version.pk, version.number = None, version.number + 1  # a newer published version
    version.fields = [*version.fields, {"key": "ship_by", "label": "Ship by", "type": "date"}]
    version.save()
    content = HEADER.replace("\n", ",Ship by\n") + GOOD_ROW.replace("\n", ",31.12.2026\n")
    mapping = {**MAPPING, "Ship by": "fields.ship_by"}
    sheet = sheets.parse(content.encode(), "orders.csv")

    day_first = imports.validate(sheet, mapping, workflow, imports.DateOrder.DAY_FIRST)
    iso = imports.validate(sheet, mapping, workflow, imports.DateOrder.ISO)

    assert day_first.errors == [] and day_first.items[0][1]["fields"]["ship_by"] == "2026-12-31"
    assert iso.errors == [
        (2, [imports.Problem("G “Ship by”", "Ship by must be a date (YYYY-MM-DD).")])
    ]
