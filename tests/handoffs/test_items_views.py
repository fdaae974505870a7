"""The work-item pages: list, board, inbox, detail and every action, with their permissions."""

import pytest
from django.urls import reverse

from handoffs.models import Event, Recovery, WorkItem
from handoffs.work import transitions

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
GOOD_GATE = {"checklist": ["signed"], "field_po_number": "PO-7", "field_amount": "1200"}


def _url(name, item):
    return reverse(f"handoffs:item-{name}", args=[item.pk])


def _handed_off(item, seller):
    return transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )


# --- Access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["item-list", "item-create", "inbox", "item-board"])
def test_pages_send_anonymous_visitors_to_log_in(client, name, item):
    response = client.get(reverse(f"handoffs:{name}"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_item_pages_and_actions_send_anonymous_visitors_to_log_in(client, item):
    assert "/accounts/login/" in client.get(item.get_absolute_url()).url
    response = client.post(_url("handoff", item), GOOD_GATE)
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert item.events.count() == 1


def test_viewers_read_but_change_nothing(client, item, viewer, workflow):
    client.force_login(viewer)
    page = client.get(item.get_absolute_url())
    assert page.status_code == 200 and b"Hand off to" not in page.content
    assert client.get(reverse("handoffs:item-create")).status_code == 403
    for name, data in [
        ("handoff", GOOD_GATE),
        ("block", {"missing_other": "x"}),
        ("cancel", {"reason": "no"}),
        ("comment", {"body": "hi"}),
        ("deliver", {}),
    ]:
        assert client.post(_url(name, item), data).status_code == 403, name
    assert item.events.count() == 1
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS


def test_outsiders_cannot_hand_off_or_accept(client, item, outsider, seller):
    client.force_login(outsider)
    assert client.post(_url("handoff", item), GOOD_GATE).status_code == 403
    _handed_off(item, seller)
    assert client.post(_url("accept", item)).status_code == 403
    assert client.post(_url("bounce", item), {"missing_other": "x"}).status_code == 403
    item.refresh_from_db()
    assert item.state == WorkItem.State.WAITING_ACCEPTANCE


def test_the_sender_cannot_accept_their_own_handoff(client, item, seller):
    _handed_off(item, seller)
    client.force_login(seller)
    assert client.post(_url("accept", item)).status_code == 403
    item.refresh_from_db()
    assert item.state == WorkItem.State.WAITING_ACCEPTANCE


# --- Creating --------------------------------------------------------------------------------


def test_a_member_creates_an_item_in_the_first_stage(client, seller, workflow):
    client.force_login(seller)
    response = client.post(
        reverse("handoffs:item-create"),
        {"workflow": workflow.pk, "title": "Globex order", "priority": "high"},
    )
    item = WorkItem.objects.get(title="Globex order")
    assert response.status_code == 302 and response.url == item.get_absolute_url()
    assert item.stage.name == "Qualify" and item.priority == "high"
    assert item.events.get().kind == Event.Kind.CREATED


def test_creating_without_a_title_says_so_and_creates_nothing(client, seller, workflow):
    client.force_login(seller)
    response = client.post(reverse("handoffs:item-create"), {"workflow": workflow.pk})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not WorkItem.objects.exists()


# --- The gate --------------------------------------------------------------------------------


def test_hand_off_opens_the_protocol_inline(client, item, seller):
    client.force_login(seller)
    response = client.get(item.get_absolute_url() + "?panel=handoff", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Contract signed" in html and "PO number" in html and 'id="item"' in html
    assert "<html" not in html


def test_the_gate_names_every_missing_item_and_changes_nothing(client, item, seller):
    client.force_login(seller)
    response = client.post(
        _url("handoff", item), {"field_amount": "-3", "field_notes": "rush"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 400  # refused: the gate again, swapped in place
    assert "Nothing was handed off" in html
    assert "Checklist: Contract signed" in html
    assert "PO number: Required by the protocol" in html
    assert "Amount must be at least 0" in html
    assert 'value="rush"' not in html or "rush" in html  # what was typed stays in the form
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS and item.fields == {}
    assert item.events.count() == 1


def test_a_complete_handoff_moves_the_item_and_records_the_data(client, item, seller):
    client.force_login(seller)
    response = client.post(_url("handoff", item), {**GOOD_GATE, "note": "Urgent"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == WorkItem.State.WAITING_ACCEPTANCE and item.stage.name == "Ship"
    assert item.fields == {"po_number": "PO-7", "amount": "1200.00"}
    event = item.events.get(kind=Event.Kind.HANDOFF_SUBMITTED)
    assert event.payload["note"] == "Urgent" and event.protocol_version.number == 1


# --- Readiness and recovery --------------------------------------------------------------------


def test_the_receiving_team_accepts(client, item, seller, member):
    _handed_off(item, seller)
    client.force_login(member)
    response = client.post(_url("accept", item), **HTMX)
    assert "Accepted: the item is yours now." in response.content.decode()
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS and item.assignee == member


def test_accepting_twice_tells_the_second_person_and_records_one_event(client, item, seller, lead):
    _handed_off(item, seller)
    transitions.handoff_accept(item=item, by=lead)
    client.force_login(lead)
    response = client.post(_url("accept", item), **HTMX)
    assert "not waiting for acceptance" in response.content.decode()
    assert item.events.filter(kind=Event.Kind.HANDOFF_ACCEPTED).count() == 1


def test_a_bounce_names_the_missing_input_from_the_protocol(client, item, seller, member):
    _handed_off(item, seller)
    client.force_login(member)
    page = client.get(item.get_absolute_url() + "?panel=bounce").content.decode()
    assert "Contract signed" in page and "PO number" in page
    response = client.post(_url("bounce", item), {"missing_choice": "PO number", "note": "blank"})
    assert response.status_code == 302
    recovery = Recovery.objects.get()
    assert recovery.missing_input == "PO number" and recovery.owner == seller
    item.refresh_from_db()
    assert item.state == WorkItem.State.BLOCKED and item.stage.name == "Qualify"


def test_a_bounce_without_a_missing_input_is_refused(client, item, seller, member):
    _handed_off(item, seller)
    client.force_login(member)
    response = client.post(_url("bounce", item), {})
    assert response.status_code == 400
    assert "Name the missing input" in response.content.decode()
    assert not Recovery.objects.exists()


def test_the_recovery_owner_unblocks_with_a_cause(client, item, seller, member):
    _handed_off(item, seller)
    transitions.handoff_bounce(item=item, by=member, missing_input="Delivery address")
    client.force_login(seller)
    page = client.get(item.get_absolute_url()).content.decode()
    assert "Delivery address" in page and "Input supplied" in page
    assert client.post(_url("unblock", item), {}).status_code == 400
    response = client.post(_url("unblock", item), {"cause": "process", "note": "added"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS
    assert Recovery.objects.get().cause == "process"


def test_block_and_cancel_and_comment(client, item, seller):
    client.force_login(seller)
    response = client.post(_url("block", item), {"missing_other": "Customer's VAT id"})
    assert response.status_code == 302
    assert Recovery.objects.get().owner == seller
    assert client.post(_url("comment", item), {"body": "Chasing them"}).status_code == 302
    assert client.post(_url("cancel", item), {}).status_code == 400
    assert client.post(_url("cancel", item), {"reason": "Duplicate"}).status_code == 302
    item.refresh_from_db()
    assert item.state == WorkItem.State.CANCELLED
    kinds = list(item.events.values_list("kind", flat=True))
    assert kinds == ["created", "blocked", "commented", "cancelled"]


def test_deliver_from_the_last_stage(client, item, seller, member):
    _handed_off(item, seller)
    transitions.handoff_accept(item=item, by=member)
    client.force_login(member)
    assert client.post(_url("deliver", item)).status_code == 302
    item.refresh_from_db()
    assert item.state == WorkItem.State.DONE and item.delivered_at


def test_the_timeline_reads_like_a_story(client, item, seller, member):
    _handed_off(item, seller)
    transitions.handoff_bounce(item=item, by=member, missing_input="PO number")
    client.force_login(member)
    html = client.get(item.get_absolute_url()).content.decode()
    assert "Qualify (Sales) → Ship (Fulfilment) by Seller under protocol v1" in html
    assert "Missing input: PO number. Owner Seller" in html
    assert "back to Qualify (Sales) by Member" in html


def test_the_timeline_escapes_what_people_typed(client, item, seller):
    client.force_login(seller)
    client.post(_url("comment", item), {"body": "<script>alert(1)</script> & co"})
    html = client.get(item.get_absolute_url()).content.decode()
    assert '<p class="timeline-body">&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>' in html
    assert "<script>alert(1)" not in html
