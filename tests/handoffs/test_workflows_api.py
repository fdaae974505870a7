"""GET/POST /api/v1/workflows/: stages and each handoff's enforced protocol with its version."""

import pytest
from rest_framework.test import APIClient

from handoffs.models import Handoff, Stage, Workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_every_signed_in_user_reads_workflows_with_stages_and_protocols(api, viewer, workflow):
    api.force_authenticate(viewer)
    body = api.get("/api/v1/workflows/").json()
    [flow] = body["results"]
    assert flow["name"] == "Order to delivery" and flow["is_sandbox"] is False
    assert [(s["name"], s["team_name"], s["position"]) for s in flow["stages"]] == [
        ("Qualify", "Sales", 1),
        ("Ship", "Fulfilment", 2),
    ]
    assert flow["stages"][0]["target_seconds"] == 2 * 86400
    [handoff] = flow["handoffs"]
    assert handoff["is_collision_zone"] is True
    assert handoff["protocol"]["number"] == 1
    assert handoff["protocol"]["status"] == "published"
    assert [c["id"] for c in handoff["protocol"]["checklist"]] == ["signed", "intro"]
    assert handoff["protocol"]["acceptance_target_seconds"] == 4 * 3600


def test_a_handoff_without_a_published_protocol_says_null(api, lead, workflow, teams):
    Stage.objects.create(workflow=workflow, name="Invoice", position=3, team=teams["sales"])
    Handoff.objects.create(workflow=workflow, from_stage=workflow.stages.get(name="Ship"))
    api.force_authenticate(lead)
    flow = api.get(f"/api/v1/workflows/{workflow.pk}/").json()
    assert [h["protocol"] is None for h in flow["handoffs"]] == [False, True]


def test_a_lead_creates_a_workflow_with_stages(api, lead, teams):
    api.force_authenticate(lead)
    response = api.post(
        "/api/v1/workflows/",
        {
            "name": "Returns",
            "is_sandbox": True,
            "stages": [
                {"name": "Request", "team": teams["sales"].pk, "target_seconds": 3600},
                {"name": "Receive", "team": teams["fulfilment"].pk, "kind": "queue"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [s["name"] for s in body["stages"]] == ["Request", "Receive"]
    assert len(body["handoffs"]) == 1 and body["handoffs"][0]["protocol"] is None
    assert Workflow.objects.get(name="Returns").is_sandbox


def test_bad_input_gets_a_message_per_field_and_creates_nothing(api, lead, teams):
    api.force_authenticate(lead)
    response = api.post(
        "/api/v1/workflows/",
        {"name": "", "stages": [{"name": "A", "team": 999999}]},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "name" in errors and "stages" in errors
    assert not Workflow.objects.exists()


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_and_viewers_cannot_write(api, request, workflow, persona):
    api.force_authenticate(request.getfixturevalue(persona))
    assert api.post("/api/v1/workflows/", {"name": "X"}, format="json").status_code == 403
    response = api.patch(f"/api/v1/workflows/{workflow.pk}/", {"name": "Y"}, format="json")
    assert response.status_code == 403
    assert not Workflow.objects.filter(name__in=["X", "Y"]).exists()


def test_an_outsider_lead_cannot_change_someone_elses_workflow(api, outsider, workflow):
    api.force_authenticate(outsider)
    response = api.patch(f"/api/v1/workflows/{workflow.pk}/", {"name": "Y"}, format="json")
    assert response.status_code == 403
    assert Workflow.objects.get(pk=workflow.pk).name == "Order to delivery"


def test_a_lead_of_its_teams_renames_it_but_cannot_delete_its_history(api, lead, workflow):
    api.force_authenticate(lead)
    response = api.patch(
        f"/api/v1/workflows/{workflow.pk}/", {"description": "Deals to doors"}, format="json"
    )
    assert response.status_code == 200 and response.json()["description"] == "Deals to doors"
    response = api.delete(f"/api/v1/workflows/{workflow.pk}/")
    assert response.status_code == 400
    assert "published protocols" in str(response.json())


def test_anonymous_requests_are_refused(api, workflow):
    assert api.get("/api/v1/workflows/").status_code in (401, 403)


def test_the_list_runs_a_fixed_number_of_queries(
    api, lead, workflow, teams, django_assert_max_num_queries
):
    for n in range(8):
        flow = Workflow.objects.create(name=f"Flow {n}")
        for position in (1, 2):
            Stage.objects.create(
                workflow=flow, name=f"S{position}", position=position, team=teams["sales"]
            )
        Handoff.objects.create(workflow=flow, from_stage=flow.stages.get(position=1))
    api.force_authenticate(lead)
    with django_assert_max_num_queries(8):
        body = api.get("/api/v1/workflows/").json()
    assert body["count"] == 9
