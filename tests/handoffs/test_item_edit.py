"""Editing a work item's details: the service, the item page's panel and PATCH in the API."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from handoffs.decisions import rules as rights
from handoffs.models import DecisionLevel, DecisionRight, DecisionRole, Event, WorkItem
from handoffs.work import services, timeline, transitions
from tests.handoffs.test_race import _at_once

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DUE = datetime.date(2026, 12, 24)


def _edit(item, by, **changes):
    return services.work_item_update(item=item, by=by, **changes)


def _form(item, **overrides):
    """What the panel posts when nothing is touched, with the overrides applied."""
    data = {
        "updated_at": item.updated_at.isoformat(),
        "title": item.title,
        "priority": item.priority,
        "due_date": item.due_date.isoformat() if item.due_date else "",
        "assignee": item.assignee_id or "",
        "external_ref": item.external_ref,
        "fields.po_number": item.fields.get("po_number", ""),
        "fields.amount": item.fields.get("amount", ""),
        "fields.notes": item.fields.get("notes", ""),
    }
    return {**data, **overrides}


def _snapshot(item):
    item.refresh_from_db()
    return (
        item.title,
        item.priority,
        item.due_date,
        item.assignee_id,
        item.fields,
        item.updated_at,
    )


# --- The service -----------------------------------------------------------------------------


def test_it_changes_the_details_and_logs_one_event_with_old_and_new(item, seller, member):
    _edit(
        item,
        seller,
        title="ACME order #1 (rush)",
        priority="urgent",
        due_date=DUE,
        assignee=member,
        external_ref="D-77",
        fields={"po_number": "PO-9", "amount": "1200"},
    )
    item.refresh_from_db()
    assert (item.title, item.priority, item.due_date) == ("ACME order #1 (rush)", "urgent", DUE)
    assert item.assignee == member and item.external_ref == "D-77"
    assert item.fields == {"po_number": "PO-9", "amount": "1200.00"}
    event = item.events.get(kind=Event.Kind.DETAILS_EDITED)
    assert event.actor == seller and event.payload["assignee_id"] == member.pk
    assert event.payload["changes"] == [
        {"field": "title", "old": "ACME order #1", "new": "ACME order #1 (rush)"},
        {"field": "priority", "old": "normal", "new": "urgent"},
        {"field": "due_date", "old": None, "new": "2026-12-24"},
        {"field": "assignee", "old": None, "new": member.pk},
        {"field": "external_ref", "old": "", "new": "D-77"},
        {"field": "fields.po_number", "old": None, "new": "PO-9"},
        {"field": "fields.amount", "old": None, "new": "1200.00"},
    ]
    assert item.events.count() == 2
    assert item.replayed_state() == (item.stage_id, item.state, member.pk, None)


def test_the_timeline_tells_the_edit_old_to_new(item, seller, member):
    _edit(item, seller, title="Rush order", priority="high", assignee=member, fields={"amount": 5})
    _edit(item, seller, assignee=None, fields={"amount": ""})
    labels = {"amount": "Amount"}
    entries = timeline.story(item.events.order_by("at", "pk"), labels)
    first, second = entries[1], entries[2]
    assert first["title"] == "Details edited" and first["line"] == "by Seller"
    assert first["body"] == [
        "Title: “ACME order #1” → “Rush order”",
        "Priority: Normal → High",
        "Owner: (empty) → Member",
        "Amount: (empty) → 5.00",
    ]
    assert second["body"] == ["Owner: Member → (empty)", "Amount: 5.00 → (empty)"]


def test_an_edit_without_a_new_owner_carries_no_owner_for_the_replay(item, seller, member):
    item.assignee = member
    item.save(update_fields=["assignee"])
    _edit(item, seller, priority="low")
    event = item.events.latest("pk")
    assert event.kind == Event.Kind.DETAILS_EDITED and "assignee_id" not in event.payload


def test_saving_what_is_there_writes_no_event(item, seller):
    before = _snapshot(item)
    _edit(item, seller, title=item.title, priority=item.priority, fields={}, external_ref="")
    assert _snapshot(item) == before and item.events.count() == 1


def test_clearing_a_field_removes_its_value(item, seller):
    _edit(item, seller, fields={"po_number": "PO-1", "notes": "Call first"})
    _edit(item, seller, fields={"notes": ""})
    item.refresh_from_db()
    assert item.fields == {"po_number": "PO-1"}


def test_an_edit_made_meanwhile_is_a_conflict_and_nothing_changes(item, seller):
    seen = item.updated_at
    _edit(item, seller, title="Changed by someone else", expected_updated_at=seen)
    before = _snapshot(item)
    with pytest.raises(services.StateConflict, match="while you were editing"):
        _edit(item, seller, title="My title", priority="urgent", expected_updated_at=seen)
    assert _snapshot(item) == before and item.events.count() == 2


@pytest.mark.parametrize("close", ["deliver", "cancel"])
def test_done_and_cancelled_items_are_not_edited(close, workflow, lead, seller):
    item = services.work_item_create(
        workflow=workflow, title="One stage later", by=lead, stage=workflow.stages.last()
    )
    if close == "deliver":
        transitions.item_deliver(item=item, by=lead)
    else:
        transitions.item_cancel(item=item, by=lead, reason="Not wanted")
    before = _snapshot(item)
    with pytest.raises(services.StateConflict, match="can no longer change"):
        _edit(item, lead, title="Too late")
    assert _snapshot(item) == before


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
def test_viewers_and_outsiders_cannot_edit(persona, item, request):
    with pytest.raises(PermissionDenied):
        _edit(item, request.getfixturevalue(persona), title="Mine now")
    assert _snapshot(item)[0] == "ACME order #1" and item.events.count() == 1


BAD_VALUES = [
    ({"title": "  "}, "title", "Give the work item a title."),
    ({"title": "x" * 201}, "title", "Keep the title under 200 characters."),
    ({"priority": "whenever"}, "priority", "Pick one of: low, normal, high, urgent."),
    ({"due_date": "soon"}, "due_date", "Give a date, like 2026-05-31."),
    ({"external_ref": "r" * 121}, "external_ref", "Keep the reference under 120 characters."),
    ({"fields": {"amount": "lots"}}, "fields.amount", "Amount must be a number."),
    ({"fields": {"amount": "-5"}}, "fields.amount", "Amount must be at least 0."),
    ({"fields": {"colour": "red"}}, "fields.colour", "This workflow has no such field."),
    ({"fields": {"notes": "a\x00b"}}, "fields.notes", "Notes cannot contain a null character"),
    ({"fields": {"notes": "a\ud800b"}}, "fields.notes", "Notes cannot contain a lone surrogate"),
    ({"fields": {"notes": {"a": 1}}}, "fields.notes", "Notes must be a single value, not a"),
    ({"fields": {"amount": "1e400"}}, "fields.amount", "Amount must have at most 15 digits"),
    ({"fields": ["po_number"]}, "fields", "Give the fields as an object of key: value."),
]


@pytest.mark.parametrize(("changes", "key", "message"), BAD_VALUES)
def test_a_bad_value_gets_its_message_and_nothing_changes(changes, key, message, item, seller):
    before = _snapshot(item)
    with pytest.raises(ValidationError) as caught:
        _edit(item, seller, **{"priority": "high", **changes})
    assert message in " ".join(caught.value.message_dict[key])
    assert _snapshot(item) == before and item.events.count() == 1


def test_every_bad_field_is_named_at_once(item, seller):
    with pytest.raises(ValidationError) as caught:
        _edit(item, seller, title="", fields={"amount": "x", "po_number": "y" * 501})
    assert set(caught.value.message_dict) == {"title", "fields.amount", "fields.po_number"}


def test_an_inactive_user_cannot_become_the_owner(item, seller, member):
    member.is_active = False
    member.save()
    with pytest.raises(ValidationError) as caught:
        _edit(item, seller, assignee=member)
    assert caught.value.message_dict == {"assignee": ["Pick an active user."]}


def test_a_reference_another_item_has_is_refused(item, workflow, seller):
    services.work_item_create(workflow=workflow, title="Other", by=seller, external_ref="D-1")
    with pytest.raises(ValidationError) as caught:
        _edit(item, seller, external_ref="D-1")
    assert caught.value.message_dict == {"external_ref": [services.DUPLICATE_EXTERNAL_REF]}


def test_the_reference_of_an_item_from_an_integration_stays(workflow, seller):
    item = services.work_item_create(
        workflow=workflow, title="From the CRM", by=seller, source="crm", external_ref="D-5"
    )
    with pytest.raises(ValidationError) as caught:
        _edit(item, seller, external_ref="D-6")
    assert (
        "replays and re-imports are matched on it" in caught.value.message_dict["external_ref"][0]
    )
    _edit(item, seller, external_ref="D-5", title="Still from the CRM")  # unchanged: fine


def test_a_value_stored_under_an_older_rule_is_not_checked_again(item, seller):
    WorkItem.objects.filter(pk=item.pk).update(fields={"amount": "-3.00"})  # before min: 0
    item.refresh_from_db()
    _edit(item, seller, title="Renamed", fields={"amount": "-3.00"})
    item.refresh_from_db()
    assert item.title == "Renamed" and item.fields == {"amount": "-3.00"}


def test_a_first_due_date_is_set_but_changing_it_follows_the_decision_rights(item, seller):
    _edit(item, seller, due_date=DUE)
    with pytest.raises(ValidationError) as caught:
        _edit(item, seller, due_date=DUE + datetime.timedelta(days=7))
    assert caught.value.message_dict["due_date"] == [
        "Changing the due date is a yellow decision for you on this item: record a "
        "“Change the requested delivery date” decision instead."
    ]
    change = next(t for t in rights.types_for(item.workflow) if t.key == rights.CHANGE_DUE_DATE)
    DecisionRight.objects.create(
        decision_type=change, role=DecisionRole.MEMBER, level=DecisionLevel.GREEN
    )
    _edit(item, seller, due_date=None)
    item.refresh_from_db()
    assert item.due_date is None


# --- The item page ---------------------------------------------------------------------------


def _url(item):
    return reverse("handoffs:item-edit", args=[item.pk])


def test_the_panel_opens_with_the_current_details(client, item, seller):
    item = _edit(item, seller, fields={"po_number": "PO-3"})
    client.force_login(seller)
    client.get(item.get_absolute_url())
    with CaptureQueriesContext(connection) as plain:
        client.get(item.get_absolute_url())
    with CaptureQueriesContext(connection) as panel:
        page = client.get(f"{item.get_absolute_url()}?panel=edit")
    # The panel costs its field definitions and the owner choices, whatever the item's size.
    assert len(panel) - len(plain) <= 2, [q["sql"] for q in panel.captured_queries]
    html = page.content.decode()
    assert page.status_code == 200 and "Edit details" in html
    assert f'action="{_url(item)}"' in html and f'hx-post="{_url(item)}"' in html
    assert 'name="fields.po_number"' in html and 'value="PO-3"' in html
    assert f'value="{item.updated_at.isoformat()}"' in html
    partial = client.get(f"{item.get_absolute_url()}?panel=edit", **HTMX)
    assert b"<html" not in partial.content and b'name="fields.amount"' in partial.content


def test_viewers_do_not_get_the_panel_and_cannot_post_it(client, item, viewer, outsider):
    client.force_login(viewer)
    page = client.get(f"{item.get_absolute_url()}?panel=edit")
    assert page.status_code == 200 and b"Save details" not in page.content
    assert b'href="?panel=edit"' not in page.content
    assert client.post(_url(item), _form(item, title="Viewer was here")).status_code == 403
    client.force_login(outsider)
    assert client.post(_url(item), _form(item, title="Outsider was here")).status_code == 403
    assert _snapshot(item)[0] == "ACME order #1" and item.events.count() == 1


def test_saving_with_htmx_answers_the_item_region(client, item, seller, member):
    client.force_login(seller)
    data = _form(item, title="Rush order", priority="high", assignee=member.pk)
    response = client.post(_url(item), {**data, "fields.po_number": "PO-8"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Details saved." in html and "Details edited" in html and "Save details" not in html
    item.refresh_from_db()
    assert (item.title, item.priority, item.assignee) == ("Rush order", "high", member)
    assert item.fields == {"po_number": "PO-8"}


def test_saving_without_javascript_redirects_to_the_item(client, item, seller):
    client.force_login(seller)
    response = client.post(_url(item), _form(item, title="Rush order"))
    assert response.status_code == 302 and response.url == item.get_absolute_url()
    assert client.get(response.url).content.count(b"Rush order") >= 2


def test_bad_values_show_on_their_fields_and_save_nothing(client, item, seller):
    client.force_login(seller)
    before = _snapshot(item)
    data = _form(item, title="", **{"fields.amount": "lots", "fields.po_number": "PO-1"})
    page = client.post(_url(item), data)
    html = page.content.decode()
    assert page.status_code == 400
    assert 'href="#id_title">Title: Give the work item a title.' in html
    assert "Amount: Amount must be a number." in html
    assert 'value="lots"' in html  # what was typed stays in the form
    assert _snapshot(item) == before and item.events.count() == 1
    partial = client.post(_url(item), data, **HTMX)
    assert partial.status_code == 400 and b"Amount must be a number." in partial.content


def test_a_concurrent_edit_says_so_and_shows_the_current_details(client, item, seller, member):
    client.force_login(seller)
    stale = _form(item, title="Mine")
    services.work_item_update(item=item, by=seller, priority="urgent")
    before = _snapshot(item)
    response = client.post(_url(item), stale, **HTMX)
    html = response.content.decode()
    assert "Someone changed this item while you were editing it" in html
    assert 'value="urgent" selected' in html and "Save details" in html  # fresh form
    assert _snapshot(item) == before
    response = client.post(_url(item), stale)
    assert response.status_code == 302 and response.url.endswith("?panel=edit")
    assert _snapshot(item) == before


def test_an_edited_closed_item_is_refused(client, workflow, lead):
    item = services.work_item_create(
        workflow=workflow, title="Shipped", by=lead, stage=workflow.stages.last()
    )
    transitions.item_deliver(item=item, by=lead)
    client.force_login(lead)
    assert b'href="?panel=edit"' not in client.get(item.get_absolute_url()).content
    response = client.post(_url(item), _form(item, title="Reopened?"), **HTMX)
    assert b"its details can no longer change" in response.content
    assert _snapshot(item)[0] == "Shipped"


def test_the_item_page_only_reads(client, item, seller):
    client.force_login(seller)
    assert client.post(item.get_absolute_url(), {"title": "x"}).status_code == 405
    assert client.head(item.get_absolute_url()).status_code == 200


# --- PATCH /api/v1/work-items/<id>/ ----------------------------------------------------------


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _patch(user, item, body):
    return _api(user).patch(f"/api/v1/work-items/{item.pk}/", body, format="json")


def test_patch_edits_only_what_is_sent(item, seller, member):
    read = _api(seller).get(f"/api/v1/work-items/{item.pk}/").json()
    body = {
        "title": "Rush order",
        "assignee": member.pk,
        "due_date": "2026-12-24",
        "fields": {"amount": "99.5"},
        "updated_at": read["updated_at"],
    }
    response = _patch(seller, item, body)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["title"] == "Rush order" and data["assignee"] == member.pk
    assert data["due_date"] == "2026-12-24" and data["fields"] == {"amount": "99.50"}
    assert data["priority"] == "normal" and data["updated_at"] != read["updated_at"]
    events = _api(seller).get(f"/api/v1/work-items/{item.pk}/events/").json()["results"]
    assert [c["field"] for c in events[-1]["payload"]["changes"]] == [
        "title",
        "due_date",
        "assignee",
        "fields.amount",
    ]


def test_patch_names_every_bad_field_and_changes_nothing(item, seller):
    before = _snapshot(item)
    response = _patch(
        seller, item, {"title": "", "fields": {"amount": "lots", "colour": "red"}, "priority": "x"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["priority"] == ['"x" is not a valid choice.']
    response = _patch(seller, item, {"title": "", "fields": {"amount": "lots", "colour": "red"}})
    body = response.json()
    assert response.status_code == 400 and body["detail"] == "The request has invalid fields."
    assert body["errors"] == {
        "title": ["Give the work item a title."],
        "fields.amount": ["Amount must be a number."],
        "fields.colour": ["This workflow has no such field."],
    }
    assert _snapshot(item) == before and item.events.count() == 1


def test_patch_by_a_viewer_or_an_outsider_is_403(item, viewer, outsider):
    for user in (viewer, outsider):
        response = _patch(user, item, {"title": "Mine"})
        assert response.status_code == 403, (user, response.json())
    assert _snapshot(item)[0] == "ACME order #1"


def test_patch_with_an_old_updated_at_is_409(item, seller):
    read = _api(seller).get(f"/api/v1/work-items/{item.pk}/").json()
    _edit(item, seller, priority="high")
    before = _snapshot(item)
    response = _patch(seller, item, {"title": "Mine", "updated_at": read["updated_at"]})
    assert response.status_code == 409
    assert "while you were editing" in response.json()["detail"]
    assert _snapshot(item) == before


def test_patch_on_a_delivered_item_is_409_and_put_is_not_allowed(workflow, lead):
    item = services.work_item_create(
        workflow=workflow, title="Shipped", by=lead, stage=workflow.stages.last()
    )
    transitions.item_deliver(item=item, by=lead)
    assert _patch(lead, item, {"title": "Reopened?"}).status_code == 409
    put = _api(lead).put(f"/api/v1/work-items/{item.pk}/", {"title": "x"}, format="json")
    assert put.status_code == 405


# --- Two editors at once, each on their own connection ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_edits_from_the_same_version_one_saves_and_one_conflicts(item, seller, teams):
    sales_lead = teams["sales"].lead
    seen = item.updated_at
    results = _at_once(
        lambda: _edit(item, seller, title="Seller's title", expected_updated_at=seen),
        lambda: _edit(item, sales_lead, priority="urgent", expected_updated_at=seen),
    )
    winners = [r for r in results if isinstance(r, WorkItem)]
    losers = [r for r in results if isinstance(r, services.StateConflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    item.refresh_from_db()
    assert (item.title == "Seller's title") != (item.priority == "urgent")  # only one landed
    assert item.events.exclude(kind=Event.Kind.CREATED).count() == 1


def test_patch_by_an_outsider_is_403_before_the_body_is_read(item, outsider):
    response = _patch(outsider, item, {"title": 7, "fields": "nope", "updated_at": "soon"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the team working on this item can edit it."}


def test_patch_clears_a_field_sent_as_null(item, seller):
    _edit(item, seller, fields={"po_number": "PO-1", "notes": "Call first"})
    response = _patch(seller, item, {"fields": {"notes": None}})
    assert response.status_code == 200 and response.json()["fields"] == {"po_number": "PO-1"}
