"""People pages: roles and deactivation, which hands open work on and keeps the history."""

import pytest

from handoffs.models import Event, Recovery, WorkItem
from handoffs.work import transitions
from opshub.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_and_viewers_do_not_see_people(client, persona, request, lead):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/people/").status_code == 403
    assert client.get(f"/people/{lead.pk}/").status_code == 403


def test_a_lead_sees_everyone_and_manages_only_their_members(client, lead, member, seller):
    client.force_login(lead)
    listing = client.get("/people/")
    assert listing.status_code == 200 and seller.email in listing.text
    assert "Deactivate" in client.get(f"/people/{member.pk}/").text
    assert "Deactivate" not in client.get(f"/people/{seller.pk}/").text
    assert client.post(f"/people/{seller.pk}/role/", {"role": "viewer"}).status_code == 403
    assert client.post(f"/people/{seller.pk}/deactivate/", {}).status_code == 403
    seller.refresh_from_db()
    assert seller.role == "member" and seller.is_active


def test_a_lead_sets_a_members_role_but_never_admin(client, lead, member):
    client.force_login(lead)
    assert client.post(f"/people/{member.pk}/role/", {"role": "viewer"}).status_code == 302
    member.refresh_from_db()
    assert member.role == "viewer"
    refused = client.post(f"/people/{member.pk}/role/", {"role": "admin"})
    assert refused.status_code == 400 and "Select a valid choice" in refused.text
    member.refresh_from_db()
    assert member.role == "viewer" and not member.is_superuser


def test_an_admin_makes_someone_an_admin_with_the_django_admin_too(client, admin_user, member):
    client.force_login(admin_user)
    client.post(f"/people/{member.pk}/role/", {"role": "admin"})
    member.refresh_from_db()
    assert member.is_admin and member.is_staff


def test_nobody_deactivates_themselves(client, admin_user):
    client.force_login(admin_user)
    assert client.post(f"/people/{admin_user.pk}/deactivate/", {}).status_code == 403
    assert User.objects.get(pk=admin_user.pk).is_active


def _blocked_item(item, seller, member):
    from handoffs.work import services

    services.work_item_assign(item=item, by=seller, assignee=member)
    transitions.item_block(item=item, by=seller, missing_input="PO number", owner=member)
    return item


def test_deactivation_reassigns_open_work_to_a_named_person_and_keeps_the_history(
    client, lead, member, seller, item, teams
):
    _blocked_item(item, seller, member)
    events_before = list(Event.objects.filter(item=item).values_list("pk", "kind", "actor_id"))
    client.force_login(lead)
    response = client.post(f"/people/{member.pk}/deactivate/", {"reassign_to": lead.pk})
    assert response.status_code == 302

    member.refresh_from_db()
    item.refresh_from_db()
    assert not member.is_active and member.deactivated_at is not None
    assert item.assignee == lead
    assert Recovery.objects.open().get(item=item).owner == lead
    events = list(Event.objects.filter(item=item).order_by("at", "pk"))
    assert [(e.pk, e.kind, e.actor_id) for e in events[: len(events_before)]] == events_before
    last = events[-1]
    assert last.kind == Event.Kind.ASSIGNED and last.actor == lead
    assert last.payload == {"assignee_id": lead.pk, "reason": "deactivated", "from_id": member.pk}
    assert not teams["fulfilment"].members.filter(pk=member.pk).exists()
    client.logout()
    login = client.post(
        "/accounts/login/", {"username": member.email, "password": "correct-horse-battery"}
    )
    assert login.status_code == 200  # the form again: the account no longer logs in


def test_deactivation_can_leave_the_work_unassigned(client, admin_user, member, seller, item):
    _blocked_item(item, seller, member)
    client.force_login(admin_user)
    client.post(f"/people/{member.pk}/deactivate/", {"reassign_to": ""})
    item.refresh_from_db()
    assert item.assignee is None
    assert Recovery.objects.open().get(item=item).owner is None


def test_deactivation_to_a_viewer_is_refused_and_changes_nothing(
    client, admin_user, member, seller, item, viewer
):
    _blocked_item(item, seller, member)
    events = Event.objects.count()
    client.force_login(admin_user)
    response = client.post(f"/people/{member.pk}/deactivate/", {"reassign_to": viewer.pk})
    assert response.status_code == 400 and "Select a valid choice" in response.text
    member.refresh_from_db()
    item.refresh_from_db()
    assert member.is_active and item.assignee == member and Event.objects.count() == events


def test_a_deactivated_lead_leaves_the_team_without_a_lead(client, admin_user, lead, teams):
    client.force_login(admin_user)
    client.post(f"/people/{lead.pk}/deactivate/", {})
    teams["fulfilment"].refresh_from_db()
    assert teams["fulfilment"].lead is None


def test_closed_items_keep_their_assignee(client, admin_user, member, seller, item):
    from handoffs.work import services

    services.work_item_assign(item=item, by=seller, assignee=member)
    WorkItem.objects.filter(pk=item.pk).update(state=WorkItem.State.CANCELLED)
    client.force_login(admin_user)
    client.post(f"/people/{member.pk}/deactivate/", {})
    item.refresh_from_db()
    assert item.assignee == member


def test_a_deactivated_persons_open_session_stops_working(client, admin_user, member):
    from django.test import Client

    theirs = Client()
    theirs.force_login(member)
    assert theirs.get("/work/").status_code == 200
    client.force_login(admin_user)
    client.post(f"/people/{member.pk}/deactivate/", {})
    response = theirs.get("/work/")
    assert response.status_code == 302 and "/login/" in response["Location"]
