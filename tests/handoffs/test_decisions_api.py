"""POST /api/v1/decisions/ and its approve/deny actions."""

import pytest
from rest_framework.test import APIClient

from handoffs.models import Decision, DecisionType, WorkItem
from opshub.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _client(user):
    client = APIClient()
    _, raw = ApiToken.issue(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def test_red_through_the_api_pauses_then_the_approver_approves(item, seller, teams):
    response = _client(seller).post(
        "/api/v1/decisions/",
        {
            "work_item": item.pk,
            "decision_type": "override_checklist",
            "summary": "Ship before signature",
            "payload": {"checklist": ["signed"]},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["level"] == "red" and body["status"] == "pending"
    assert body["approver"] == teams["sales"].lead_id
    item.refresh_from_db()
    assert item.state == WorkItem.State.AWAITING_DECISION

    own = _client(seller).post(f"/api/v1/decisions/{body['id']}/approve/", {}, format="json")
    assert own.status_code == 403
    approver = _client(teams["sales"].lead)
    waiting = approver.get("/api/v1/decisions/", {"awaiting_me": "true"}).json()
    assert [d["id"] for d in waiting["results"]] == [body["id"]]
    approved = approver.post(f"/api/v1/decisions/{body['id']}/approve/", {"comment": "ok"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["waited_seconds"] >= 0
    again = approver.post(f"/api/v1/decisions/{body['id']}/deny/", {"comment": "no"})
    assert again.status_code == 409


def test_bad_requests_get_a_message_per_field_and_change_nothing(item, seller):
    client = _client(seller)
    response = client.post(
        "/api/v1/decisions/",
        {"work_item": item.pk, "decision_type": "no_such_type", "summary": ""},
        format="json",
    )
    assert response.status_code == 400
    assert "summary" in response.json()["errors"]
    response = client.post(
        "/api/v1/decisions/",
        {"work_item": item.pk, "decision_type": "no_such_type", "summary": "x"},
        format="json",
    )
    assert response.status_code == 400 and "decision_type" in response.json()
    response = client.post(
        "/api/v1/decisions/",
        {
            "work_item": item.pk,
            "decision_type": "change_due_date",
            "summary": "Later",
            "payload": {"due_date": "tomorrow"},
        },
        format="json",
    )
    assert response.status_code == 400 and "due_date" in response.json()
    assert not Decision.objects.exists()


def test_list_filters_by_workflow_and_level(item, seller, workflow, django_assert_max_num_queries):
    client = _client(seller)
    DecisionType.objects.create(
        workflow=workflow, key="discount", name="Discount", default_level="green"
    )
    for n in range(3):
        client.post(
            "/api/v1/decisions/",
            {"work_item": item.pk, "decision_type": "discount", "summary": f"{n}% off"},
            format="json",
        )
    with django_assert_max_num_queries(8):
        listed = client.get("/api/v1/decisions/", {"workflow": workflow.pk, "level": "green"})
    assert listed.json()["count"] == 3
    assert client.get("/api/v1/decisions/", {"level": "purple"}).status_code == 400


def test_viewers_cannot_record(item, viewer):
    response = _client(viewer).post(
        "/api/v1/decisions/",
        {"work_item": item.pk, "decision_type": "change_due_date", "summary": "x"},
        format="json",
    )
    assert response.status_code == 403


def test_anonymous_gets_401():
    assert APIClient().get("/api/v1/decisions/").status_code in (401, 403)
