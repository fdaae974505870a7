"""Team and membership pages: admins manage every team, a lead the members of their own."""

import pytest

from handoffs.models import Team
from opshub.accounts.models import AuditEntry, User

pytestmark = pytest.mark.django_db


def _as(client, user):
    client.force_login(user)
    return client


def test_everyone_signed_in_sees_the_teams_and_their_leads(client, member):
    response = _as(client, member).get("/teams/")
    assert response.status_code == 200
    assert "Fulfilment" in response.text and "Sales" in response.text
    assert "New team" not in response.text
    assert 'href="/people/"' not in response.text  # the people list is for admins and leads


def test_a_lead_finds_the_people_list_from_the_teams_page(client, lead):
    assert 'href="/people/"' in _as(client, lead).get("/teams/").text


def test_an_admin_creates_a_team_with_a_lead_who_becomes_a_member(client, admin_user, lead):
    response = _as(client, admin_user).post(
        "/teams/new/", {"name": "Returns desk", "description": "", "lead": lead.pk}
    )
    team = Team.objects.get(name="Returns desk")
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.pk}/"
    assert team.lead == lead and team.has_member(lead)
    assert AuditEntry.objects.for_object(team).exists()


def test_a_duplicate_team_name_is_refused_on_its_field_and_nothing_is_created(
    client, admin_user, teams
):
    response = _as(client, admin_user).post("/teams/new/", {"name": "sales", "lead": ""})
    assert response.status_code == 200
    assert "A team with this name already exists." in response.text
    assert Team.objects.count() == 2


@pytest.mark.parametrize("persona", ["lead", "member", "viewer"])
def test_only_admins_create_or_edit_teams(client, persona, request, teams):
    user = request.getfixturevalue(persona)
    team = teams["fulfilment"]
    assert _as(client, user).get("/teams/new/").status_code == 403
    assert client.post("/teams/new/", {"name": "Shadow team"}).status_code == 403
    assert client.get(f"/teams/{team.pk}/edit/").status_code == 403
    assert client.post(f"/teams/{team.pk}/delete/").status_code == 403
    assert not Team.objects.filter(name="Shadow team").exists()
    assert Team.objects.filter(pk=team.pk).exists()


def test_a_lead_adds_and_removes_members_of_their_own_team(client, lead, seller, teams):
    team = teams["fulfilment"]
    _as(client, lead)
    page = client.get(f"/teams/{team.pk}/")
    assert "Add someone who has an account" in page.text and "Invite someone new" in page.text
    assert client.post(f"/teams/{team.pk}/members/", {"person": seller.pk}).status_code == 302
    assert team.members.filter(pk=seller.pk).exists()
    removed = client.post(f"/teams/{team.pk}/members/{seller.pk}/remove/")
    assert removed.status_code == 302
    assert not team.members.filter(pk=seller.pk).exists()


def test_a_member_and_an_outsider_cannot_change_a_team(client, member, outsider, seller, teams):
    team = teams["fulfilment"]
    for user in (member, outsider):
        _as(client, user)
        page = client.get(f"/teams/{team.pk}/")
        assert page.status_code == 200 and "Add someone" not in page.text
        assert client.post(f"/teams/{team.pk}/members/", {"person": seller.pk}).status_code == 403
        remove = client.post(f"/teams/{team.pk}/members/{member.pk}/remove/")
        assert remove.status_code == 403
    assert not team.members.filter(pk=seller.pk).exists()
    assert team.members.filter(pk=member.pk).exists()


def test_a_lead_cannot_manage_another_leads_team(client, lead, teams, member):
    sales = teams["sales"]
    response = _as(client, lead).post(f"/teams/{sales.pk}/members/", {"person": member.pk})
    assert response.status_code == 403
    assert not sales.members.filter(pk=member.pk).exists()


def test_adding_nobody_explains_itself_and_changes_nothing(client, lead, teams):
    team = teams["fulfilment"]
    before = set(team.members.values_list("pk", flat=True))
    response = _as(client, lead).post(f"/teams/{team.pk}/members/", {"person": "abc"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.text
    assert set(team.members.values_list("pk", flat=True)) == before


def test_the_lead_cannot_be_removed_until_an_admin_chooses_another(client, admin_user, teams):
    team = teams["fulfilment"]
    _as(client, admin_user).post(f"/teams/{team.pk}/members/{team.lead_id}/remove/", follow=True)
    assert team.members.filter(pk=team.lead_id).exists()


def test_an_admin_makes_someone_the_lead(client, admin_user, member, teams):
    team = teams["fulfilment"]
    response = _as(client, admin_user).post(
        f"/teams/{team.pk}/edit/", {"name": "Fulfilment", "description": "", "lead": member.pk}
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.lead == member


def test_a_team_that_owns_stages_cannot_be_deleted(client, admin_user, workflow, teams):
    team = teams["fulfilment"]
    response = _as(client, admin_user).post(f"/teams/{team.pk}/delete/", follow=True)
    assert "give them to another team first" in response.text
    assert Team.objects.filter(pk=team.pk).exists()


def test_a_team_without_stages_is_deleted_and_its_members_keep_their_accounts(
    client, admin_user, outsider
):
    team = Team.objects.get(name="Marketing")
    assert _as(client, admin_user).post(f"/teams/{team.pk}/delete/").status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()
    assert User.objects.get(pk=outsider.pk).is_active


def test_the_nav_links_to_teams_for_everyone_signed_in(client, viewer):
    page = _as(client, viewer).get("/")
    assert 'href="/teams/"' in page.text
