"""POST /api/v1/work-items/<id>/claim/ and /undo-delivery/: the page's service and its
`available_actions`, refusals as JSON with the page's reason."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from handoffs.models import Event, WorkItem
from handoffs.work import transitions

pytestmark = pytest.mark.django_db

BASE = "/api/v1/work-items/"
GATE = {"checklist": ["signed"], "fields": {"po_number": "PO-1", "amount": "10"}}


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def delivered(item, seller, member):
    transitions.handoff_submit(item=item, by=seller, **GATE)
    transitions.handoff_accept(item=item, by=member)
    item.refresh_from_db()
    return transitions.item_deliver(item=item, by=member)


def test_a_member_of_the_stage_team_claims_an_unowned_item(item, seller):
    response = _client(seller).post(f"{BASE}{item.pk}/claim/")
    assert response.status_code == 200
    assert response.json()["assignee"] == seller.pk
    assert item.events.filter(kind=Event.Kind.CLAIMED, actor=seller).count() == 1


def test_another_team_is_refused_with_whom_to_ask(item, member):
    response = _client(member).post(f"{BASE}{item.pk}/claim/")
    assert response.status_code == 403
    assert "or claim it if you are in Sales" in response.json()["detail"]
    item.refresh_from_db()
    assert item.assignee is None


def test_claiming_an_owned_item_is_a_conflict_that_names_the_owner(item, seller, teams):
    transitions.item_claim(item=item, by=seller)
    response = _client(teams["sales"].lead).post(f"{BASE}{item.pk}/claim/")
    assert response.status_code == 409
    assert response.json() == {"detail": "Seller owns it already."}
    assert item.events.filter(kind=Event.Kind.CLAIMED).count() == 1


def test_a_viewer_and_an_anonymous_caller_cannot_claim(item, viewer):
    assert APIClient().post(f"{BASE}{item.pk}/claim/").status_code == 401
    assert _client(viewer).post(f"{BASE}{item.pk}/claim/").status_code == 403
    item.refresh_from_db()
    assert item.assignee is None


def test_the_team_undoes_a_delivery_within_its_window(delivered, member):
    response = _client(member).post(f"{BASE}{delivered.pk}/undo-delivery/")
    assert response.status_code == 200
    assert response.json()["state"] == WorkItem.State.IN_PROGRESS
    assert response.json()["delivered_at"] is None
    assert delivered.events.filter(kind=Event.Kind.DELIVERY_UNDONE).count() == 1


def test_undo_after_the_window_is_a_conflict_and_the_delivery_stands(delivered, member):
    WorkItem.objects.filter(pk=delivered.pk).update(
        delivered_at=timezone.now() - datetime.timedelta(minutes=11)
    )
    response = _client(member).post(f"{BASE}{delivered.pk}/undo-delivery/")
    assert response.status_code == 409
    assert response.json() == {"detail": "The undo window of its delivery has closed."}
    delivered.refresh_from_db()
    assert delivered.state == WorkItem.State.DONE


def test_undo_of_an_item_not_delivered_is_a_conflict(item, seller):
    response = _client(seller).post(f"{BASE}{item.pk}/undo-delivery/")
    assert response.status_code == 409
    assert response.json() == {"detail": "It is not delivered."}


def test_another_team_cannot_undo_a_delivery(delivered, seller):
    response = _client(seller).post(f"{BASE}{delivered.pk}/undo-delivery/")
    assert response.status_code == 403
    assert "Fulfilment owns this stage" in response.json()["detail"]
    delivered.refresh_from_db()
    assert delivered.state == WorkItem.State.DONE


def test_both_actions_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("claim", "undo-delivery"):
        operation = schema["paths"][f"/api/v1/work-items/{{id}}/{path}/"]["post"]
        assert {"200", "403", "409"} <= set(operation["responses"])
