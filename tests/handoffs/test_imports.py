"""Spreadsheet import: all rows or none, every bad row named; export → import round trip."""

import csv
import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from handoffs.models import Event, ImportBatch, ImportMapping, Stage, Workflow, WorkItem
from handoffs.work import exports, imports, services, sheets, transitions

HEADER = "Deal,Ref,Requested,PO,Amount\n"


def make_batch(workflow, user, text, filename="orders.csv"):
    content = text.encode() if isinstance(text, str) else text
    sheet = sheets.parse(content, filename)
    return ImportBatch.objects.create(
        workflow=workflow,
        filename=filename,
        content=content,
        uploaded_by=user,
        row_count=len(sheet.rows),
    )


MAPPING = {
    "Deal": "title",
    "Ref": "external_ref",
    "Requested": "requested_at",
    "PO": "fields.po_number",
    "Amount": "fields.amount",
}


def test_headers_map_themselves_by_name_label_or_the_remembered_mapping(workflow, lead):
    guessed = imports.guess_mapping(["Title", "PO number", "amount", "Mystery"], workflow)
    assert guessed == {
        "Title": "title",
        "PO number": "fields.po_number",
        "amount": "fields.amount",
        "Mystery": "",
    }
    imports.remember_mapping(workflow, {"Mystery": "external_ref"}, lead)
    assert imports.guess_mapping(["Mystery"], workflow) == {"Mystery": "external_ref"}


def test_a_dry_run_names_every_bad_row(workflow):
    text = (
        HEADER
        + "Good,R1,2026-01-05,PO-1,100\n"
        + ",R2,2026-01-05,PO-2,100\n"
        + "Bad date,R3,yesterday,PO-3,100\n"
        + "Bad amount,R4,2026-01-05,PO-4,lots\n"
        + "Dup,R1,2026-01-05,PO-5,1\n"
    )
    plan = imports.validate(sheets.parse(text.encode(), "x.csv"), MAPPING, workflow)

    assert [line for line, _ in plan.errors] == [3, 4, 5, 6]
    problems = dict(plan.errors)
    assert problems[3] == [imports.Problem("A “Deal”", "Title is empty.")]
    assert "not a date" in problems[4][0].message and problems[4][0].column == "C “Requested”"
    assert problems[5] == [imports.Problem("E “Amount”", "Amount must be a number.")]
    assert "also on line 2" in problems[6][0].message
    assert len(plan.items) == 1


def test_an_import_with_a_bad_row_changes_nothing(workflow, lead):
    text = HEADER + "One,R1,2026-01-05,PO-1,100\n" + "Two,R2,2026-01-05,PO-2,-5\n"
    batch = make_batch(workflow, lead, text)

    with pytest.raises(ValidationError) as error:
        imports.import_commit(batch=batch, mapping=MAPPING, by=lead)

    assert error.value.messages == ["Line 3, column E “Amount”: Amount must be at least 0."]
    assert not WorkItem.objects.exists() and not Event.objects.exists()
    batch.refresh_from_db()
    assert batch.committed_at is None


def test_a_commit_creates_items_and_their_history_once(workflow, lead):
    text = (
        "title,external_ref,requested_at,stage,priority,delivered_at,po_number,amount\n"
        "Open order,R1,2026-01-05T09:00:00+01:00,Ship,high,,PO-1,100\n"
        "Shipped order,R2,2026-01-02,ship,Normal,2026-01-04T12:00:00Z,PO-2,20.5\n"
    )
    batch = make_batch(workflow, lead, text)
    mapping = imports.clean_mapping(
        imports.guess_mapping(sheets.parse(text.encode(), "x.csv").headers, workflow),
        sheets.parse(text.encode(), "x.csv").headers,
        workflow,
    )

    items = imports.import_commit(batch=batch, mapping=mapping, by=lead)

    assert len(items) == 2
    open_item = WorkItem.objects.get(external_ref="R1")
    assert (open_item.stage.name, open_item.state, open_item.priority) == (
        "Ship",
        "in_progress",
        "high",
    )
    assert open_item.requested_at == datetime.datetime(2026, 1, 5, 8, tzinfo=datetime.UTC)
    assert open_item.fields == {"po_number": "PO-1", "amount": "100.00"}
    shipped = WorkItem.objects.get(external_ref="R2")
    assert shipped.state == "done" and shipped.cycle_time == datetime.timedelta(days=2, hours=12)
    assert shipped.replayed_state() == (
        shipped.stage_id,
        "done",
        None,
        shipped.delivered_at,
    )
    assert ImportMapping.objects.get(workflow=workflow).columns == mapping
    with pytest.raises(ValidationError):
        imports.import_commit(batch=batch, mapping=mapping, by=lead)
    again = make_batch(workflow, lead, text)
    with pytest.raises(ValidationError) as error:
        imports.import_commit(batch=again, mapping=mapping, by=lead)
    assert "was imported before" in error.value.messages[0]
    assert WorkItem.objects.count() == 2


def test_five_thousand_rows_import_in_one_go(workflow, lead, django_assert_max_num_queries):
    rows = "".join(f"Order {n},R{n},2026-01-05,PO-{n},{n}\n" for n in range(5000))
    batch = make_batch(workflow, lead, HEADER + rows)

    with django_assert_max_num_queries(40):
        items = imports.import_commit(batch=batch, mapping=MAPPING, by=lead)

    assert len(items) == 5000
    assert WorkItem.objects.count() == 5000 and Event.objects.count() == 5000


def test_xlsx_is_read_like_csv(workflow, lead):
    book = Workbook()
    sheet = book.active
    sheet.append(["Deal", "Ref", "Requested", "PO", "Amount"])
    sheet.append(["From Excel", "X1", datetime.datetime(2026, 1, 5, 10, 30), "PO-9", 12.0])
    sheet.append([None, None, None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = make_batch(workflow, lead, buffer.getvalue(), filename="orders.xlsx")

    imports.import_commit(batch=batch, mapping=MAPPING, by=lead)

    item = WorkItem.objects.get()
    assert (item.title, item.fields["amount"]) == ("From Excel", "12.00")
    assert item.requested_at == datetime.datetime(2026, 1, 5, 10, 30, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"a,,c\n1,2,3\n", "Column 2 has no name"),
        (b"Title,title\nx,y\n", "Two columns"),
        (b"PK\x03\x04not a zip", "Not a readable XLSX"),
        (b"x" * (sheets.MAX_BYTES + 1), "larger than 5 MB"),
        (b"Title\n" + b"row\n" * (sheets.MAX_ROWS + 1), "more than 10,000 rows"),
    ],
)
def test_unreadable_files_are_refused_whole(content, message):
    with pytest.raises(sheets.ImportProblem, match=message):
        sheets.parse(content, "upload.csv")


def test_export_then_import_round_trips(workflow, seller, lead, admin_user):
    item = services.work_item_create(
        workflow=workflow,
        title='=HYPERLINK("x") "quoted", with comma',
        by=seller,
        external_ref="CRM-1",
        fields={"po_number": "PO-1", "amount": "-0"},
        priority="urgent",
        due_date=datetime.date(2026, 2, 1),
        requested_at=datetime.datetime(2026, 1, 3, 9, tzinfo=datetime.UTC),
    )
    item = transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"amount": "99.5"}
    )
    item = transitions.handoff_accept(item=item, by=lead)
    transitions.item_deliver(item=item, by=lead)
    services.work_item_create(workflow=workflow, title="Still open\nsecond line", by=seller)
    exported = "".join(exports.export_items_rows(workflow))
    assert "'=HYPERLINK" in exported  # a spreadsheet shows it as text, never runs it

    copy = Workflow.objects.create(name="Copy")
    for stage in workflow.stages.all():
        Stage.objects.create(
            workflow=copy, name=stage.name, position=stage.position, team=stage.team
        )
    copy_protocol = workflow.handoffs.get().published()
    copy_protocol.pk, copy_protocol.handoff = (
        None,
        copy.handoffs.create(from_stage=copy.stages.get(position=1)),
    )
    copy_protocol.save()
    batch = make_batch(copy, admin_user, exported)
    headers = sheets.parse(exported.encode(), "x.csv").headers
    mapping = imports.clean_mapping(imports.guess_mapping(headers, copy), headers, copy)
    assert set(mapping.values()) == {t for t, _ in imports.targets(copy)}

    imports.import_commit(batch=batch, mapping=mapping, by=admin_user)

    assert "".join(exports.export_items_rows(copy)) == exported
    events = list(csv.reader(io.StringIO("".join(exports.export_events_rows(workflow)))))
    assert events[0] == imports.EVENT_COLUMNS
    assert [(row[0], row[1], row[4]) for row in events[1:]] == [
        ("CRM-1", "Qualify", "Sales"),
        ("CRM-1", "Ship", "Fulfilment"),
        ("CRM-1", "Ship", "Fulfilment"),
    ]
