"""Spreadsheet import: every row error's exact message, and what a good row becomes."""

import datetime

import pytest
from django.utils import timezone

from handoffs.work import imports, sheets

UTC = datetime.UTC
TOMORROW = (timezone.now() + datetime.timedelta(days=1)).isoformat()
IN_TWO_DAYS = (timezone.now() + datetime.timedelta(days=2)).isoformat()
MAPPING = {
    "Title": "title",
    "Ref": "external_ref",
    "Requested": "requested_at",
    "Delivered": "delivered_at",
    "Stage": "stage",
    "Priority": "priority",
    "Due": "due_date",
    "PO": "fields.po_number",
    "Amount": "fields.amount",
}
ISO = " (YYYY-MM-DD; for 31/12/2026 pick the date order day first)"
UNSTORABLE = "holds a character that cannot be stored (NUL or a broken one); remove it."
GOOD = {"Title": "Order", "Requested": "2026-01-05", "PO": "PO-1", "Amount": "10"}

# (cells that differ from GOOD, the row's messages in order)
ERRORS = [
    ({"Title": ""}, ["Title is empty."]),
    ({"Title": "   "}, ["Title is empty."]),
    ({"Title": "t" * 201}, ["Title is longer than 200 characters."]),
    ({"Ref": "r" * 121}, ["External reference is longer than 120 characters."]),
    ({"Requested": "yesterday"}, [f"Requested at “yesterday” is not a date or date-time{ISO}."]),
    ({"Delivered": "soon"}, [f"Delivered at “soon” is not a date or date-time{ISO}."]),
    ({"Requested": IN_TWO_DAYS}, ["Requested at cannot be more than a day in the future."]),
    ({"Requested": "0001-01-01"}, ["Requested at must be on or after 2000-01-01."]),
    ({"Requested": "1999-12-31T23:59:59Z"}, ["Requested at must be on or after 2000-01-01."]),
    ({"Due": "0001-01-01"}, ["Due date must be between 2000-01-01 and 2100-12-31."]),
    ({"Due": "2101-01-01"}, ["Due date must be between 2000-01-01 and 2100-12-31."]),
    ({"Delivered": TOMORROW}, ["Delivered at is in the future."]),
    ({"Delivered": "2026-01-04T23:59:00Z"}, ["Delivered at is before requested at."]),
    ({"Stage": "Nowhere"}, ["No stage “Nowhere” in this workflow."]),
    ({"Priority": "ASAP"}, ["Priority “ASAP” is not one of: low, normal, high, urgent."]),
    (
        {"Due": "5/1/2026"},
        [f"Due date “5/1/2026” is not a date{ISO}."],
    ),
    ({"Amount": "lots"}, ["Amount must be a number."]),
    ({"Amount": "-1"}, ["Amount must be at least 0."]),
    # PostgreSQL stores neither NUL nor a lone surrogate: the cell is named alone.
    ({"Title": "a\x00b", "Amount": "lots"}, [UNSTORABLE]),
    ({"PO": "PO-\ud800"}, [UNSTORABLE]),
    (
        {
            "Title": "",
            "Ref": "r" * 121,
            "Requested": "2026-01-05",
            "Delivered": "never",
            "Stage": "Nowhere",
            "Priority": "soon",
            "Due": "today",
            "Amount": "lots",
        },
        [
            "Title is empty.",
            "External reference is longer than 120 characters.",
            f"Delivered at “never” is not a date or date-time{ISO}.",
            "No stage “Nowhere” in this workflow.",
            "Priority “soon” is not one of: low, normal, high, urgent.",
            f"Due date “today” is not a date{ISO}.",
            "Amount must be a number.",
        ],
    ),
]


def _sheet(*rows):
    headers = list(MAPPING)
    return sheets.Sheet(
        headers=headers,
        rows=[(n, [row.get(h, "") for h in headers]) for n, row in enumerate(rows, start=2)],
    )


@pytest.mark.parametrize(("cells", "messages"), ERRORS)
def test_a_bad_row_gets_exactly_these_messages(workflow, cells, messages):
    plan = imports.validate(_sheet({**GOOD, **cells}), MAPPING, workflow)

    [(line, problems)] = plan.errors
    assert (line, [p.message for p in problems]) == (2, messages)
    assert plan.items == []


def test_a_good_row_becomes_these_item_values(workflow):
    _, ship = workflow.stages.order_by("position")
    row = {
        **GOOD,
        "Title": "t" * 200,
        "Ref": "r" * 120,
        "Requested": "2026-01-05T10:00:00+01:00",
        "Delivered": "2026-01-06",
        "Stage": "SHIP",
        "Priority": "High",
        "Due": "2026-02-01",
        "PO": "",
    }

    plan = imports.validate(_sheet(row), MAPPING, workflow)

    assert plan.errors == []
    assert plan.items == [
        (
            2,
            {
                "title": "t" * 200,
                "external_ref": "r" * 120,
                "requested_at": datetime.datetime(2026, 1, 5, 9, tzinfo=UTC),
                "delivered_at": datetime.datetime(2026, 1, 6, tzinfo=UTC),
                "stage": ship,
                "priority": "high",
                "due_date": datetime.date(2026, 2, 1),
                "fields": {"amount": "10.00"},
            },
        )
    ]


def test_a_row_with_only_a_title_gets_the_defaults(workflow):
    qualify = workflow.stages.order_by("position").first()
    before = timezone.now()

    plan = imports.validate(_sheet({"Title": "Order"}), {"Title": "title"}, workflow)

    [(line, values)] = plan.items
    assert before <= values.pop("requested_at") <= timezone.now()
    assert values == {
        "title": "Order",
        "external_ref": "",
        "delivered_at": None,
        "stage": qualify,
        "priority": "normal",
        "due_date": None,
        "fields": {},
    }


def test_a_short_row_reads_its_missing_cells_as_empty(workflow):
    sheet = sheets.Sheet(headers=["Title", "Priority"], rows=[(2, ["Order"])])

    plan = imports.validate(sheet, {"Title": "title", "Priority": "priority"}, workflow)

    assert plan.errors == [] and plan.items[0][1]["priority"] == "normal"
