"""Who may create a workflow is one rule (admins and leads by role), and a creator keeps
editing what they created even before leading any team."""

import pytest
from django.urls import reverse

from handoffs.models import Workflow
from handoffs.workflows import views as workflow_views
from opshub.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def teamless_lead(make_user):
    return make_user("new.lead@example.com", User.Role.LEAD)


def test_the_rule(teamless_lead, member, viewer, admin_user, make_user):
    inactive = make_user("gone@example.com", User.Role.LEAD, is_active=False)
    assert teamless_lead.can_create_workflows and admin_user.can_create_workflows
    assert not member.can_create_workflows and not viewer.can_create_workflows
    assert not inactive.can_create_workflows


def test_a_lead_without_a_team_creates_a_workflow_and_adds_its_stages(client, teamless_lead, teams):
    client.force_login(teamless_lead)
    assert client.get(reverse("handoffs:workflow-list")).context["can_create"] is True
    response = client.post(reverse("handoffs:workflow-create"), {"name": "Order to cash"})
    workflow = Workflow.objects.get(name="Order to cash")
    assert response.status_code == 302 and workflow.created_by == teamless_lead
    assert workflow.can_edit(teamless_lead)
    for name, team in [("Deal closed", teams["sales"]), ("Ship", teams["fulfilment"])]:
        response = client.post(
            reverse("handoffs:stage-add", args=[workflow.pk]),
            {"name": name, "team": team.pk, "kind": "active", "target": ""},
        )
        assert response.status_code == 200
    assert workflow.stages.count() == 2


def test_another_teamless_lead_cannot_edit_it(teamless_lead, make_user):
    workflow = Workflow.objects.create(name="Order to cash", created_by=teamless_lead)
    other = make_user("other.lead@example.com", User.Role.LEAD)
    assert not workflow.can_edit(other)


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_the_permission_is_checked_before_the_form_is_read(request, client, persona, monkeypatch):
    def refuse(form):
        raise AssertionError("the form of a user who may not create workflows was validated")

    monkeypatch.setattr(workflow_views.WorkflowForm, "is_valid", refuse)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("handoffs:workflow-create")).status_code == 403
    assert client.post(reverse("handoffs:workflow-create"), {"name": "X"}).status_code == 403
    assert not Workflow.objects.filter(name="X").exists()
