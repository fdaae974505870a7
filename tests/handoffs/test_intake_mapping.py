"""map_payload: every way a source's mapping meets a payload, as one table of exact results."""

import datetime

import pytest

from handoffs.integrations.intake import Mapped, map_payload

UTC = datetime.UTC
DEAL = {
    "deal": {"name": "ACME", "id": 7, "won": True, "ref": "D-7", "closed": "2026-01-05T09:00"},
    "po": "PO-1",
    "amount": 12.5,
    "lines": [{"sku": "A"}],
    "empty": "",
    "nothing": None,
    "meta": {"id": "evt_1", "n": 99},
}
TITLE = {"title": "deal.name"}

# (mapping, payload, event id path, the Mapped result)
CASES = [
    (
        {"title": "deal.name"},
        [1, 2],
        "",
        Mapped(errors={"payload": "The body must be a JSON object."}),
    ),
    (
        {"title": "deal.name"},
        "text",
        "meta.id",
        Mapped(errors={"payload": "The body must be a JSON object."}),
    ),
    ({}, DEAL, "", Mapped(errors={"title": "The source maps no title."})),
    ({"title": "  "}, DEAL, "", Mapped(errors={"title": "The source maps no title."})),
    (
        {"external_ref": "deal.ref"},
        DEAL,
        "",
        Mapped(external_ref="D-7", errors={"title": "The source maps no title."}),
    ),
    (TITLE, DEAL, "", Mapped(title="ACME")),
    ({"title": " deal.name "}, DEAL, "", Mapped(title="ACME")),
    ({"title": "deal.id"}, DEAL, "", Mapped(title="7")),
    ({"title": "deal.won"}, DEAL, "", Mapped(title="true")),
    ({"title": "lines.0"}, DEAL, "", Mapped(title='{"sku": "A"}')),
    ({"title": "Deal {deal.name} ({deal.id})"}, DEAL, "", Mapped(title="Deal ACME (7)")),
    ({"title": "  {deal.name}  "}, DEAL, "", Mapped(title="ACME")),
    ({"title": "deal.nope"}, DEAL, "", Mapped(missing=["title (deal.nope)"])),
    ({"title": "empty"}, DEAL, "", Mapped(missing=["title (empty)"])),
    ({"title": "nothing"}, DEAL, "", Mapped(missing=["title (nothing)"])),
    ({"title": "{a} and { b }"}, DEAL, "", Mapped(missing=["title (a, b)"])),
    (
        {"title": "deal.name", "external_ref": "deal.gone", "requested_at": "x.y"},
        DEAL,
        "",
        Mapped(title="ACME", missing=["external_ref (deal.gone)", "requested_at (x.y)"]),
    ),
    (
        {"title": "long"},
        {"long": "t" * 201},
        "",
        Mapped(title="t" * 200, errors={"title": "Longer than 200 characters."}),
    ),
    ({"title": "long"}, {"long": "t" * 200}, "", Mapped(title="t" * 200)),
    (
        {**TITLE, "external_ref": "ref"},
        {**DEAL, "ref": "r" * 121},
        "",
        Mapped(
            title="ACME",
            external_ref="r" * 120,
            errors={"external_ref": "Longer than 120 characters."},
        ),
    ),
    (
        {**TITLE, "external_ref": "deal.ref", "requested_at": ""},
        DEAL,
        "",
        Mapped(title="ACME", external_ref="D-7"),
    ),
    (
        {**TITLE, "requested_at": "deal.closed"},
        DEAL,
        "",
        Mapped(title="ACME", requested_at=datetime.datetime(2026, 1, 5, 9, tzinfo=UTC)),
    ),
    (
        {**TITLE, "requested_at": "at"},
        {**DEAL, "at": "2026-01-05T10:00:00+01:00"},
        "",
        Mapped(title="ACME", requested_at=datetime.datetime(2026, 1, 5, 9, tzinfo=UTC)),
    ),
    (
        {**TITLE, "requested_at": "at"},
        {**DEAL, "at": 1767603600},
        "",
        Mapped(title="ACME", requested_at=datetime.datetime(2026, 1, 5, 9, tzinfo=UTC)),
    ),
    (
        {**TITLE, "requested_at": "at"},
        {**DEAL, "at": "yesterday"},
        "",
        Mapped(title="ACME", errors={"requested_at": "“yesterday” is not a date-time."}),
    ),
    (
        {**TITLE, "requested_at": "deal.won"},
        DEAL,
        "",
        Mapped(title="ACME", errors={"requested_at": "“true” is not a date-time."}),
    ),
    (
        {**TITLE, "requested_at": "at"},
        {**DEAL, "at": "y" * 50},
        "",
        Mapped(title="ACME", errors={"requested_at": f"“{'y' * 40}” is not a date-time."}),
    ),
    (
        {
            **TITLE,
            "fields": {"po_number": "po", "amount": "amount", "rush": "deal.won", "n": "deal.id"},
        },
        DEAL,
        "",
        Mapped(title="ACME", fields={"po_number": "PO-1", "amount": 12.5, "rush": True, "n": 7}),
    ),
    (
        {**TITLE, "fields": {"po_number": "PO {po}", "gone": "not.there", "blank": "empty"}},
        DEAL,
        "",
        Mapped(title="ACME", fields={"po_number": "PO PO-1"}),
    ),
    (
        {**TITLE, "fields": {"lines": "lines", "deal": "deal"}},
        DEAL,
        "",
        Mapped(
            title="ACME",
            fields={"lines": None, "deal": None},
            errors={
                "fields.lines": "Must be a single value, not a list or object.",
                "fields.deal": "Must be a single value, not a list or object.",
            },
        ),
    ),
    ({**TITLE, "fields": None}, DEAL, "", Mapped(title="ACME")),
    (TITLE, DEAL, "meta.id", Mapped(title="ACME", event_id="evt_1")),
    (TITLE, DEAL, "meta.n", Mapped(title="ACME", event_id="99")),
    (
        TITLE,
        {**DEAL, "meta": {"id": "e" * 300}},
        "meta.id",
        Mapped(title="ACME", event_id="e" * 200),
    ),
    (TITLE, DEAL, "meta.gone", Mapped(title="ACME", missing=["event id (meta.gone)"])),
    (
        {"title": "deal.gone"},
        DEAL,
        "meta.gone",
        Mapped(missing=["title (deal.gone)", "event id (meta.gone)"]),
    ),
]


@pytest.mark.parametrize(("mapping", "payload", "event_id_path", "expected"), CASES)
def test_a_mapping_applied_to_a_payload_gives_exactly_this(
    mapping, payload, event_id_path, expected
):
    assert map_payload(mapping, payload, event_id_path=event_id_path) == expected


@pytest.mark.parametrize(
    ("value", "due", "error"),
    [
        ("2026-12-24", datetime.date(2026, 12, 24), None),
        ("2026-12-24T17:00:00+01:00", datetime.date(2026, 12, 24), None),
        ("soon", None, "“soon” is not a date."),
        (20261224, None, "“20261224” is not a date."),
        ("9999-01-01", datetime.date(9999, 1, 1), "The due date must be between"),
    ],
)
def test_a_mapped_due_date_is_read_as_a_date(value, due, error):
    mapped = map_payload(
        {"title": "deal.name", "due_date": "deal.due"}, {"deal": {"name": "A", "due": value}}
    )
    assert mapped.due_date == due
    if error:
        assert mapped.errors["due_date"].startswith(error)
    else:
        assert "due_date" not in mapped.errors
