"""Editing a workflow's escalation policy: the page's htmx form and the API, one set of rules."""

import datetime

import pytest
from django.urls import reverse

from handoffs.models import EscalationLevel
from opshub.accounts.models import ApiToken, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def head(make_user):
    return make_user("head@example.com", User.Role.LEAD, full_name="Head of Ops")


def _rows(*rows):
    """POST data of the form's six rows, the given ones first."""
    data = {"level-TOTAL_FORMS": "6", "level-INITIAL_FORMS": "0"}
    for index in range(6):
        row = rows[index] if index < len(rows) else {}
        for field in ("kind", "person", "delay_hours", "repeat_hours"):
            data[f"level-{index}-{field}"] = str(row.get(field, ""))
    return data


def _auth(user):
    _, raw = ApiToken.issue(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Token {raw}"}


def test_the_workflow_page_shows_the_default_policy_and_the_form_to_its_lead(
    client, workflow, lead
):
    client.force_login(lead)
    page = client.get(workflow.get_absolute_url()).content.decode()
    assert "Escalation policy" in page and "Default policy" in page
    assert "After (working hours)" in page and "Save escalation policy" in page


def test_others_read_the_policy_without_a_form(client, workflow, member, outsider):
    for user in (member, outsider):
        client.force_login(user)
        page = client.get(workflow.get_absolute_url()).content.decode()
        assert "Escalation policy" in page
        assert "Save escalation policy" not in page


def test_the_lead_saves_levels_with_htmx(client, workflow, lead, head):
    client.force_login(lead)
    response = client.post(
        reverse("handoffs:workflow-escalation", args=[workflow.pk]),
        _rows(
            {"kind": "team_lead", "delay_hours": "2"},
            {"kind": "person", "person": head.pk, "delay_hours": "4.5", "repeat_hours": "8"},
        ),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Escalation policy saved" in response.content.decode()
    levels = list(workflow.escalation_levels.order_by("position"))
    assert [(lv.position, lv.kind, lv.person) for lv in levels] == [
        (1, "team_lead", None),
        (2, "person", head),
    ]
    assert levels[1].delay == datetime.timedelta(hours=4.5)
    assert levels[1].repeat_every == datetime.timedelta(hours=8)
    assert "Head of Ops" in response.content.decode()


@pytest.mark.parametrize(
    ("rows", "field", "message"),
    [
        ([{"kind": "person", "delay_hours": "2"}], "person", "Pick the person"),
        ([{"kind": "team_lead"}], "delay_hours", "after how many working hours"),
        ([{"kind": "team_lead", "delay_hours": "-1"}], "delay_hours", "greater than or equal"),
        ([{"kind": "team_lead", "delay_hours": "1e400"}], "delay_hours", "less than or equal"),
        ([{"kind": "nobody", "delay_hours": "1"}], "kind", "Select a valid choice"),
        ([{"kind": "", "delay_hours": "3"}], "kind", "Pick who this level tells"),
        ([{"kind": "admins", "person": "²", "delay_hours": "1"}], "person", "Pick a person"),
        (
            [{"kind": "team_lead", "delay_hours": "8"}, {"kind": "admins", "delay_hours": "2"}],
            "delay_hours",
            "Comes before the level above",
        ),
    ],
)
def test_a_bad_level_is_refused_by_field_and_changes_nothing(
    client, workflow, lead, rows, field, message
):
    EscalationLevel.objects.create(
        workflow=workflow, position=1, kind="admins", delay=datetime.timedelta(hours=1)
    )
    client.force_login(lead)
    response = client.post(
        reverse("handoffs:workflow-escalation", args=[workflow.pk]),
        _rows(*rows),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and "field-errors" in body and f"-{field}_error" in body
    assert list(workflow.escalation_levels.values_list("kind", flat=True)) == ["admins"]


def test_only_the_workflows_editors_may_save(client, workflow, member, outsider):
    url = reverse("handoffs:workflow-escalation", args=[workflow.pk])
    for user in (member, outsider):
        client.force_login(user)
        assert client.post(url, _rows({"kind": "admins", "delay_hours": "1"})).status_code == 403
    assert not workflow.escalation_levels.exists()


def test_clearing_every_row_goes_back_to_the_default(client, workflow, lead):
    EscalationLevel.objects.create(
        workflow=workflow, position=1, kind="admins", delay=datetime.timedelta(hours=1)
    )
    client.force_login(lead)
    response = client.post(reverse("handoffs:workflow-escalation", args=[workflow.pk]), _rows())
    assert response.status_code == 200
    assert not workflow.escalation_levels.exists()


def test_the_api_reads_and_replaces_the_policy(client, workflow, lead, member, head):
    url = f"/api/v1/workflows/{workflow.pk}/escalation-policy/"
    data = client.get(url, **_auth(member)).json()
    assert data["is_default"] is True and data["levels"] == []
    body = {
        "levels": [
            {"kind": "team_lead", "delay_hours": 2},
            {"kind": "person", "person": head.pk, "delay_hours": 4, "repeat_hours": 8},
        ]
    }
    response = client.put(url, body, content_type="application/json", **_auth(lead))
    assert response.status_code == 200, response.json()
    levels = response.json()["levels"]
    assert [(lv["position"], lv["kind"], lv["person"]) for lv in levels] == [
        (1, "team_lead", None),
        (2, "person", head.pk),
    ]
    assert levels[1]["delay_hours"] == 4 and levels[1]["repeat_hours"] == 8
    assert levels[1]["person_name"] == "Head of Ops"
    assert client.get(url, **_auth(member)).json()["is_default"] is False
    reset = client.put(url, {"levels": []}, content_type="application/json", **_auth(lead))
    assert reset.json()["is_default"] is True


def test_the_api_refuses_others_and_bad_levels_by_field(client, workflow, lead, member):
    url = f"/api/v1/workflows/{workflow.pk}/escalation-policy/"
    good = {"levels": [{"kind": "admins", "delay_hours": 1}]}
    denied = client.put(url, good, content_type="application/json", **_auth(member))
    assert denied.status_code == 403
    bad = {"levels": [{"kind": "admins", "delay_hours": 1}, {"kind": "person", "delay_hours": 2}]}
    response = client.put(url, bad, content_type="application/json", **_auth(lead))
    assert response.status_code == 400
    assert response.json()["errors"]["levels"][1] == {
        "person": ["Pick the person this level tells."]
    }
    too_many = {"levels": [{"kind": "admins", "delay_hours": 1}] * 7}
    refused = client.put(url, too_many, content_type="application/json", **_auth(lead))
    assert refused.json()["errors"] == {"levels": ["At most 6 levels."]}
    not_a_list = client.put(url, {"levels": "x"}, content_type="application/json", **_auth(lead))
    assert not_a_list.status_code == 400
    assert not workflow.escalation_levels.exists()
    assert client.get("/api/v1/workflows/²/escalation-policy/", **_auth(lead)).status_code == 404
