"""The timeline tells every event kind as a story: title, tone, one line, body lines.

One row per case, so a new event kind is one new row (the last test fails until it has one).
"""

import pytest

from handoffs.models import Event, ProtocolVersion
from handoffs.work.timeline import story

LABELS = {"po_number": "PO number", "amount": "Amount"}
K = Event.Kind

# (kind, payload, who acts, line, body); stages are Qualify (Sales) → Ship (Fulfilment),
# the actor is Seller under protocol v1, "member" and "seller" in a payload are user ids.
CASES = [
    (K.CREATED, {}, "seller", "by Seller in Ship (Fulfilment)", []),
    (
        K.CREATED,
        {
            "source": "crm",
            "external_ref": "R-1",
            "fields": {"po_number": "PO-1", "amount": "", "rush": True, "gift": False},
        },
        "seller",
        "by Seller in Ship (Fulfilment), from crm",
        ["Reference R-1.", "PO number: PO-1; rush: yes; gift: no"],
    ),
    (K.CREATED, {"fields": {"amount": None}}, None, "by the system in Ship (Fulfilment)", []),
    (K.FIELDS_UPDATED, {"fields": {"amount": "10.00"}}, "seller", "by Seller", ["Amount: 10.00"]),
    (K.FIELDS_UPDATED, {}, "seller", "by Seller", []),
    (
        K.DETAILS_EDITED,
        {
            "changes": [
                {"field": "title", "old": "A", "new": "B"},
                {"field": "fields.amount", "old": None, "new": "5.00"},
                {"field": "priority", "old": "normal", "new": "high"},
                {"field": "due_date", "old": None, "new": "2026-12-24"},
                {"field": "fields.rush", "old": True, "new": False},
            ]
        },
        "seller",
        "by Seller",
        [
            "Title: “A” → “B”",
            "Amount: (empty) → 5.00",
            "Priority: Normal → High",
            "Due date: (empty) → 24 Dec 2026",
            "rush: yes → no",
        ],
    ),
    (
        K.HANDOFF_SUBMITTED,
        {},
        "seller",
        "Qualify (Sales) → Ship (Fulfilment) by Seller under protocol v1",
        ["0 checklist items ticked."],
    ),
    (
        K.HANDOFF_SUBMITTED,
        {
            "checklist": ["signed"],
            "fields": {"po_number": "PO-1"},
            "overridden": ["missing_fields", "missing_checklist"],
            "assignee_id": "member",
        },
        "seller",
        "Qualify (Sales) → Ship (Fulfilment) by Seller under protocol v1",
        [
            "1 checklist item ticked.",
            "PO number: PO-1",
            "Let through by an approved decision: missing_fields, missing_checklist.",
            "Assigned to Member on arrival.",
        ],
    ),
    (
        K.HANDOFF_SUBMITTED,
        {"checklist": ["signed", "intro"], "assignee_id": 0},
        "seller",
        "Qualify (Sales) → Ship (Fulfilment) by Seller under protocol v1",
        ["2 checklist items ticked."],
    ),
    (
        K.HANDOFF_ACCEPTED,
        {"wait_seconds": 5400},
        "member",
        "by Member in Ship (Fulfilment) under protocol v1",
        ["Waited 1h 30m for acceptance."],
    ),
    (
        K.HANDOFF_ACCEPTED,
        {"wait_seconds": 0},
        "member",
        "by Member in Ship (Fulfilment) under protocol v1",
        ["Waited 0m for acceptance."],
    ),
    (K.HANDOFF_ACCEPTED, {}, "member", "by Member in Ship (Fulfilment) under protocol v1", []),
    (
        K.HANDOFF_BOUNCED,
        {
            "missing_input": "PO number",
            "owner_id": "seller",
            "next_check_at": "2026-01-05T09:30:00+00:00",
        },
        "member",
        "back to Ship (Fulfilment) by Member under protocol v1",
        ["Missing input: PO number. Owner Seller, next check 5 Jan 09:30."],
    ),
    (
        K.HANDOFF_BOUNCED,
        {},
        "member",
        "back to Ship (Fulfilment) by Member under protocol v1",
        ["Missing input: ?. Owner nobody, next check ."],
    ),
    (
        K.BLOCKED,
        {"missing_input": "Address", "owner_id": "member"},
        "member",
        "in Qualify (Sales) by Member",
        ["Missing input: Address. Owner Member, next check ."],
    ),
    (
        K.UNBLOCKED,
        {"cause": "tool", "blocked_seconds": 93600},
        "member",
        "by Member",
        ["Cause: tool. Blocked for 1d 2h."],
    ),
    (K.UNBLOCKED, {}, "member", "by Member", ["Cause: ?. Blocked for ."]),
    (K.ASSIGNED, {"assignee_id": "member"}, "seller", "to Member by Seller", []),
    (K.ASSIGNED, {}, "seller", "to nobody by Seller", []),
    (K.COMMENTED, {"body": "Chasing them"}, "seller", "by Seller", ["Chasing them"]),
    (
        K.DECISION_RECORDED,
        {"summary": "Discount: green", "note": "fine"},
        "seller",
        "by Seller",
        ["Discount: green", "fine"],
    ),
    (K.DECISION_REQUESTED, {"summary": "Discount: red"}, "seller", "by Seller", ["Discount: red"]),
    (K.DECISION_APPROVED, {"summary": "Approved"}, "member", "by Member", ["Approved"]),
    (K.DECISION_DENIED, {}, "member", "by Member", []),
    (K.STALL_STARTED, {"summary": "Over target"}, None, "by the system", ["Over target"]),
    (K.STALL_RESOLVED, {"summary": "Moved on"}, None, "by the system", ["Moved on"]),
    (
        K.DELIVERED,
        {"cycle_seconds": 180000, "note": "Signed for"},
        "member",
        "from Qualify (Sales) by Member",
        ["Cycle time 2d 2h.", "Signed for"],
    ),
    (K.DELIVERED, {}, "member", "from Qualify (Sales) by Member", []),
    (K.CANCELLED, {"reason": "Duplicate"}, "seller", "by Seller", ["Reason: Duplicate"]),
    (K.CANCELLED, {}, "seller", "by Seller", ["Reason: "]),
]

TONES = {
    K.CREATED: "is-info",
    K.HANDOFF_ACCEPTED: "is-success",
    K.HANDOFF_BOUNCED: "is-danger",
    K.BLOCKED: "is-danger",
    K.UNBLOCKED: "is-success",
    K.STALL_STARTED: "is-warning",
    K.DECISION_REQUESTED: "is-warning",
    K.DELIVERED: "is-success",
    K.CANCELLED: "is-danger",
}


def _event(workflow, kind, payload, actor):
    qualify, ship = workflow.stages.order_by("position")
    version = ProtocolVersion.objects.get(handoff__workflow=workflow)
    return Event(
        kind=kind,
        payload=payload,
        actor=actor,
        from_stage=qualify,
        to_stage=ship,
        protocol_version=version,
    )


@pytest.mark.parametrize(
    ("kind", "payload", "who", "line", "body"),
    CASES,
    ids=[f"{case[0]}-{n}" for n, case in enumerate(CASES)],
)
def test_each_event_kind_reads_as_its_story(
    workflow, seller, member, kind, payload, who, line, body
):
    people = {"seller": seller, "member": member}
    payload = {
        k: people[v].pk if k.endswith("_id") and v in people else v for k, v in payload.items()
    }
    event = _event(workflow, kind, payload, people.get(who))

    [entry] = story([event], LABELS)

    assert entry["event"] is event
    assert entry["title"] == Event.Kind(kind).label
    assert entry["tone"] == TONES.get(kind, "")
    assert entry["line"] == line
    assert entry["body"] == body


def test_an_event_without_stages_or_protocol_names_them_unknown(workflow, seller):
    event = Event(kind=K.HANDOFF_SUBMITTED, payload=None, actor=seller)

    [entry] = story([event], {})

    assert entry["line"] == "? → ? by Seller"
    assert entry["body"] == ["0 checklist items ticked."]


def test_every_event_kind_has_a_story_case():
    assert set(K.values) <= {kind for kind, *_ in CASES}
