"""/api/v1/work-items/: create, list, the actions that move an item, and its events."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from handoffs.models import Event, Recovery, WorkItem
from handoffs.work import services, transitions
from opshub.accounts.models import ApiToken

pytestmark = pytest.mark.django_db

BASE = "/api/v1/work-items/"


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _handed_off(item, seller):
    return transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )


def test_anonymous_requests_get_401(item):
    response = APIClient().post(f"{BASE}{item.pk}/accept/")
    assert response.status_code == 401
    assert APIClient().get(BASE).status_code == 401


def test_a_token_creates_an_item_with_its_request_time(workflow, seller):
    _, raw = ApiToken.issue(user=seller, name="crm")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    requested = (timezone.now() - datetime.timedelta(days=3)).isoformat()
    response = client.post(
        BASE,
        {
            "workflow": workflow.pk,
            "title": "Deal 991",
            "external_ref": "D-991",
            "requested_at": requested,
            "fields": {"po_number": "PO-991"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "in_progress" and body["stage_name"] == "Qualify"
    assert body["fields"] == {"po_number": "PO-991"}
    item = WorkItem.objects.get(pk=body["id"])
    assert item.requested_at == datetime.datetime.fromisoformat(requested)


def test_create_errors_name_the_field_and_create_nothing(workflow, seller):
    client = _client(seller)
    response = client.post(
        BASE, {"workflow": 999999, "title": "", "fields": {"amount": "lots"}}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "workflow" in body and "title" in body
    response = client.post(
        BASE, {"workflow": workflow.pk, "title": "X", "fields": {"amount": "lots"}}, format="json"
    )
    assert response.status_code == 400 and "fields.amount" in response.json()
    assert not WorkItem.objects.exists()


def test_viewers_cannot_create_or_act(workflow, item, viewer):
    client = _client(viewer)
    assert client.post(BASE, {"workflow": workflow.pk, "title": "X"}).status_code == 403
    assert client.post(f"{BASE}{item.pk}/handoff/", {"checklist": ["signed"]}).status_code == 403
    assert client.get(f"{BASE}{item.pk}/").status_code == 200
    assert WorkItem.objects.count() == 1 and item.events.count() == 1


def test_list_filters_and_paginates(workflow, item, seller, django_assert_max_num_queries):
    services.work_item_create(workflow=workflow, title="Second", by=seller)
    _handed_off(item, seller)
    client = _client(seller)
    with django_assert_max_num_queries(6):
        body = client.get(BASE, {"workflow": workflow.pk, "limit": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
    waiting = client.get(BASE, {"state": "waiting_acceptance"}).json()
    assert [r["id"] for r in waiting["results"]] == [item.pk]
    item.refresh_from_db()
    assert client.get(BASE, {"stage": item.stage_id}).json()["count"] == 1
    future = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    assert client.get(BASE, {"updated_since": future}).json()["count"] == 0
    assert client.get(BASE, {"state": "nope"}).status_code == 400
    assert "updated_since" in client.get(BASE, {"updated_since": "soon"}).json()


def test_handoff_with_nothing_answers_what_is_missing_and_changes_nothing(item, seller):
    response = _client(seller).post(
        f"{BASE}{item.pk}/handoff/", {"fields": {"amount": "-1"}}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["missing_checklist"] == ["signed"]
    assert body["missing_fields"] == ["po_number"]
    assert "amount" in body["field_errors"]
    item.refresh_from_db()
    assert item.state == "in_progress" and item.fields == {} and item.events.count() == 1


@pytest.mark.parametrize(
    ("payload", "missing_checklist", "missing_fields"),
    [
        ({"fields": {"po_number": "P", "amount": "1"}}, ["signed"], []),
        ({"checklist": ["signed"], "fields": {"amount": "1"}}, [], ["po_number"]),
        ({"checklist": ["signed"], "fields": {"po_number": "P"}}, [], ["amount"]),
        (
            {"checklist": ["intro"], "fields": {"po_number": "P", "amount": ""}},
            ["signed"],
            ["amount"],
        ),
    ],
)
def test_every_gate_error(item, seller, payload, missing_checklist, missing_fields):
    response = _client(seller).post(f"{BASE}{item.pk}/handoff/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["missing_checklist"] == missing_checklist
    assert response.json()["missing_fields"] == missing_fields
    assert item.events.count() == 1


def test_malformed_handoff_bodies_name_the_field(item, seller):
    client = _client(seller)
    response = client.post(f"{BASE}{item.pk}/handoff/", {"checklist": "signed"}, format="json")
    assert response.status_code == 400 and "checklist" in response.json()
    response = client.post(
        f"{BASE}{item.pk}/handoff/",
        {"checklist": ["signed"], "fields": {"colour": "red"}},
        format="json",
    )
    assert response.status_code == 400 and "colour" in response.json()["field_errors"]


def test_the_whole_life_through_the_api(item, seller, member):
    sender, receiver = _client(seller), _client(member)
    good = {"checklist": ["signed"], "fields": {"po_number": "PO-1", "amount": "99.5"}}
    assert sender.post(f"{BASE}{item.pk}/handoff/", good, format="json").status_code == 200
    assert sender.post(f"{BASE}{item.pk}/accept/").status_code == 403
    response = receiver.post(f"{BASE}{item.pk}/reject/", {}, format="json")
    assert response.status_code == 400 and "missing_input" in response.json()
    response = receiver.post(
        f"{BASE}{item.pk}/reject/", {"missing_input": "Delivery address"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "blocked"
    assert Recovery.objects.get().owner == seller
    response = sender.post(f"{BASE}{item.pk}/unblock/", {"cause": "habit"}, format="json")
    assert response.status_code == 400 and "cause" in response.json()
    response = sender.post(f"{BASE}{item.pk}/unblock/", {"cause": "process"}, format="json")
    assert response.json()["state"] == "in_progress"
    assert sender.post(f"{BASE}{item.pk}/handoff/", good, format="json").status_code == 200
    assert receiver.post(f"{BASE}{item.pk}/accept/").status_code == 200
    conflict = receiver.post(f"{BASE}{item.pk}/accept/")
    assert conflict.status_code == 409 and "detail" in conflict.json()
    response = receiver.post(f"{BASE}{item.pk}/deliver/")
    assert response.status_code == 200 and response.json()["delivered_at"]
    events = receiver.get(f"{BASE}{item.pk}/events/").json()["results"]
    assert [e["kind"] for e in events] == [
        "created",
        "handoff_submitted",
        "handoff_bounced",
        "unblocked",
        "handoff_submitted",
        "handoff_accepted",
        "delivered",
    ]
    assert events[1]["protocol_version_number"] == 1
    item.refresh_from_db()
    assert item.replayed_state() == (item.stage_id, item.state, item.assignee_id, item.delivered_at)


def test_block_from_the_api_and_deliver_too_early(item, seller):
    client = _client(seller)
    assert client.post(f"{BASE}{item.pk}/deliver/").status_code == 409
    response = client.post(f"{BASE}{item.pk}/block/", {"missing_input": "VAT id"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "blocked"
    assert Event.objects.filter(kind="blocked").count() == 1
