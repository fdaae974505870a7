"""A member of the team owning the stage claims an item nobody owns, in one click."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from handoffs.models import Event
from handoffs.work import transitions
from handoffs.work.services import StateConflict

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _claim_url(item):
    return reverse("handoffs:item-claim", args=[item.pk])


def test_a_member_of_the_stage_team_claims_an_unowned_item_in_one_click(client, item, seller):
    client.force_login(seller)
    assert "Claim it" in client.get(item.get_absolute_url()).content.decode()
    response = client.post(_claim_url(item), **HTMX)
    assert "Claimed: the item is yours now." in response.content.decode()
    item.refresh_from_db()
    assert item.assignee == seller
    event = item.events.get(kind=Event.Kind.CLAIMED)
    assert (event.actor, event.payload) == (seller, {"assignee_id": seller.pk})
    assert item.replayed_state()[2] == seller.pk


def test_another_team_cannot_claim_and_is_told_whom_to_ask(client, item, member):
    client.force_login(member)
    page = client.get(item.get_absolute_url()).content.decode()
    assert "Claim it" not in page
    assert "or claim it if you are in Sales" in page
    assert client.post(_claim_url(item)).status_code == 403
    item.refresh_from_db()
    assert item.assignee is None and not item.events.filter(kind=Event.Kind.CLAIMED).exists()


def test_viewers_and_anonymous_visitors_cannot_claim(client, item, viewer):
    response = client.post(_claim_url(item))
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(viewer)
    assert client.post(_claim_url(item)).status_code == 403
    item.refresh_from_db()
    assert item.assignee is None


def test_an_owned_item_cannot_be_claimed_from_its_owner(client, item, seller, teams):
    transitions.item_claim(item=item, by=seller)
    colleague = teams["sales"].lead
    client.force_login(colleague)
    assert "Claim it" not in client.get(item.get_absolute_url()).content.decode()
    response = client.post(_claim_url(item), follow=True)
    assert "Seller owns this item already." in response.content.decode()
    item.refresh_from_db()
    assert item.assignee == seller
    assert item.events.filter(kind=Event.Kind.CLAIMED).count() == 1


def test_the_service_refuses_another_team(item, member):
    with pytest.raises(PermissionDenied):
        transitions.item_claim(item=item, by=member)


def test_a_closed_item_cannot_be_claimed(item, seller):
    transitions.item_cancel(item=item, by=seller, reason="Duplicate")
    with pytest.raises(StateConflict):
        transitions.item_claim(item=item, by=seller)
