"""/api/v1/teams/ and /api/v1/users/: the pages' rules over JSON; a refusal changes nothing."""

import pytest
from rest_framework.test import APIClient

from handoffs.models import Event, Team
from opshub.accounts.models import ApiToken, User
from opshub.mail.models import EmailDelivery

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    _, raw = ApiToken.issue(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def test_everyone_reads_teams_with_their_lead_and_members(viewer, teams):
    body = _client(viewer).get("/api/v1/teams/").json()
    by_name = {t["name"]: t for t in body["results"]}
    fulfilment = teams["fulfilment"]
    assert by_name["Fulfilment"]["lead"] == fulfilment.lead_id
    assert by_name["Fulfilment"]["members"] == sorted(
        fulfilment.members.values_list("pk", flat=True)
    )


def test_an_admin_creates_renames_and_deletes_a_team(admin_user, lead):
    api = _client(admin_user)
    created = api.post("/api/v1/teams/", {"name": "Returns desk", "lead": lead.pk}, format="json")
    assert created.status_code == 201, created.json()
    team_id = created.json()["id"]
    assert created.json()["members"] == [lead.pk]
    renamed = api.patch(f"/api/v1/teams/{team_id}/", {"name": "Returns"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["lead"] == lead.pk
    assert api.delete(f"/api/v1/teams/{team_id}/").status_code == 204
    assert not Team.objects.filter(pk=team_id).exists()


def test_a_duplicate_team_name_is_a_field_error(admin_user, teams):
    response = _client(admin_user).post("/api/v1/teams/", {"name": "SALES"}, format="json")
    assert response.status_code == 400
    assert response.json()["name"] == ["A team with this name already exists."]


def test_a_lead_cannot_create_rename_or_delete_teams(lead, teams):
    api = _client(lead)
    team = teams["fulfilment"]
    assert api.post("/api/v1/teams/", {"name": "Mine"}, format="json").status_code == 403
    assert api.patch(f"/api/v1/teams/{team.pk}/", {"name": "X"}, format="json").status_code == 403
    assert api.delete(f"/api/v1/teams/{team.pk}/").status_code == 403
    team.refresh_from_db()
    assert team.name == "Fulfilment" and not Team.objects.filter(name="Mine").exists()


def test_a_lead_adds_and_removes_members_of_their_team_only(lead, seller, member, teams):
    api = _client(lead)
    ful, sales = teams["fulfilment"], teams["sales"]
    added = api.post(f"/api/v1/teams/{ful.pk}/add-member/", {"user": seller.pk}, format="json")
    assert added.status_code == 200 and seller.pk in added.json()["members"]
    removed = api.post(f"/api/v1/teams/{ful.pk}/remove-member/", {"user": seller.pk})
    assert removed.status_code == 200 and seller.pk not in removed.json()["members"]
    other = api.post(f"/api/v1/teams/{sales.pk}/add-member/", {"user": member.pk})
    assert other.status_code == 403
    assert not sales.members.filter(pk=member.pk).exists()


def test_a_member_cannot_change_membership(member, seller, teams):
    team = teams["fulfilment"]
    response = _client(member).post(f"/api/v1/teams/{team.pk}/add-member/", {"user": seller.pk})
    assert response.status_code == 403
    assert not team.members.filter(pk=seller.pk).exists()


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_and_viewers_cannot_read_or_invite_people(persona, request):
    api = _client(request.getfixturevalue(persona))
    assert api.get("/api/v1/users/").status_code == 403
    invited = api.post("/api/v1/users/", {"email": "x@example.com"}, format="json")
    assert invited.status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()


def test_a_lead_invites_into_their_team_and_the_email_is_queued(lead, teams):
    team = teams["fulfilment"]
    response = _client(lead).post(
        "/api/v1/users/",
        {"email": "hire@example.com", "full_name": "Hire", "team": team.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "invited" and body["teams"] == [team.pk] and body["role"] == "member"
    delivery = EmailDelivery.objects.get(to_email="hire@example.com")
    assert delivery.kind == EmailDelivery.Kind.INVITATION and "/invitations/" in delivery.body_text


def test_a_lead_must_name_one_of_their_teams_when_inviting(lead, teams):
    api = _client(lead)
    nowhere = api.post("/api/v1/users/", {"email": "hire@example.com"}, format="json")
    assert nowhere.status_code == 400 and "team" in nowhere.json()
    other = api.post(
        "/api/v1/users/", {"email": "hire@example.com", "team": teams["sales"].pk}, format="json"
    )
    assert other.status_code == 403
    assert not User.objects.filter(email="hire@example.com").exists()


def test_roles_through_patch_follow_the_page_rules(lead, member, seller):
    api = _client(lead)
    ok = api.patch(f"/api/v1/users/{member.pk}/", {"role": "viewer"}, format="json")
    assert ok.status_code == 200 and ok.json()["role"] == "viewer"
    admin = api.patch(f"/api/v1/users/{member.pk}/", {"role": "admin"}, format="json")
    assert admin.status_code == 400 and "role" in admin.json()
    other = api.patch(f"/api/v1/users/{seller.pk}/", {"role": "viewer"}, format="json")
    assert other.status_code == 403
    seller.refresh_from_db()
    assert seller.role == "member"


def test_deactivation_through_the_api_reassigns_and_logs_an_event(
    admin_user, lead, member, item, seller
):
    from handoffs.work import services

    services.work_item_assign(item=item, by=seller, assignee=member)
    response = _client(admin_user).post(
        f"/api/v1/users/{member.pk}/deactivate/", {"reassign_to": lead.pk}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "deactivated"
    item.refresh_from_db()
    assert item.assignee == lead
    assert Event.objects.filter(item=item, kind=Event.Kind.ASSIGNED).count() == 2
    again = _client(admin_user).post(f"/api/v1/users/{member.pk}/deactivate/", {}, format="json")
    assert again.status_code == 400


def test_a_deactivated_persons_token_stops_working(admin_user, member):
    api = _client(member)
    _client(admin_user).post(f"/api/v1/users/{member.pk}/deactivate/", {}, format="json")
    assert api.get("/api/v1/teams/").status_code == 401


def test_there_is_no_delete_for_people(admin_user, member):
    assert _client(admin_user).delete(f"/api/v1/users/{member.pk}/").status_code == 405
    assert User.objects.filter(pk=member.pk).exists()
