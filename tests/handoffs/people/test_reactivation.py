"""Reactivation: an admin, or the lead of a team the person left, brings a deactivated person
back with a new invitation; their teams come back, the work reassigned when they left does not."""

import pytest
from rest_framework.test import APIClient

from handoffs.people import services
from handoffs.work import transitions
from opshub.accounts.models import User
from opshub.mail.models import EmailDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def gone(admin_user, member, lead, seller, item):
    """The member, owner of an item, deactivated with the item handed to their lead."""
    transitions.item_claim(item=item, by=seller)
    item.assignee = member
    item.save(update_fields=["assignee"])
    services.person_deactivate(person=member, by=admin_user, reassign_to=lead)
    member.refresh_from_db()
    return member


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_lead_of_a_team_they_left_reactivates_them_from_the_page(
    client, gone, lead, item, teams
):
    client.force_login(lead)
    page = client.get(f"/people/{gone.pk}/").text
    assert "Reactivate" in page and "stays with whoever took it" in page
    assert "(Fulfilment)" in page
    response = client.post(f"/people/{gone.pk}/reactivate/", follow=True)
    assert "The work reassigned when they left stays where it is." in response.text
    gone.refresh_from_db()
    assert gone.deactivated_at is None and gone.is_invited and not gone.is_active
    assert teams["fulfilment"].members.filter(pk=gone.pk).exists()
    item.refresh_from_db()
    assert item.assignee == lead  # nothing moves back
    invitation = EmailDelivery.objects.filter(kind=EmailDelivery.Kind.INVITATION).get()
    assert invitation.to_email == gone.email


def test_the_invitation_link_of_a_reactivated_person_sets_a_new_password(client, gone, lead):
    services.person_reactivate(person=gone, by=lead)
    gone.refresh_from_db()
    token = services.invitation_token(gone)
    url = f"/invitations/{token}/"
    new = "a-brand-new-passphrase-77"
    client.post(url, {"new_password1": new, "new_password2": new})
    gone.refresh_from_db()
    assert gone.is_active and gone.check_password(new)


@pytest.mark.parametrize("who", ["sales_lead", "member_of_team", "viewer"])
def test_others_cannot_reactivate(client, gone, teams, viewer, who):
    other = {
        "sales_lead": teams["sales"].lead,
        "member_of_team": User.objects.get(email="seller@example.com"),
        "viewer": viewer,
    }[who]
    client.force_login(other)
    assert client.post(f"/people/{gone.pk}/reactivate/").status_code == 403
    gone.refresh_from_db()
    assert gone.deactivated_at is not None


def test_an_active_person_is_not_reactivated(client, admin_user, seller):
    client.force_login(admin_user)
    assert "Reactivate" not in client.get(f"/people/{seller.pk}/").text
    response = _api(admin_user).post(f"/api/v1/users/{seller.pk}/reactivate/")
    assert response.status_code == 400
    assert response.json()["detail"] == ["This account is not deactivated."]


def test_reactivation_over_the_api(gone, lead, teams):
    response = _api(lead).post(f"/api/v1/users/{gone.pk}/reactivate/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "invited" and body["deactivated_at"] is None
    assert body["teams"] == [teams["fulfilment"].pk]
    refused = _api(teams["sales"].lead).post(f"/api/v1/users/{gone.pk}/reactivate/")
    assert refused.status_code == 403
    assert "lead of a team this person left" in refused.json()["detail"]
