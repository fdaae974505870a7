import datetime

import pytest
from django.utils import timezone

from opshub.accounts.models import ApiToken
from reviews.models import ActionItem, Breakage

pytestmark = pytest.mark.django_db


def _auth(user):
    _, raw = ApiToken.issue(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Token {raw}"}


def test_it_logs_and_lists_breakages(client, member, workflow, handoff, item):
    response = client.post(
        "/api/v1/breakages/",
        {
            "title": "Wrong warehouse",
            "workflow": workflow.pk,
            "handoff": handoff.pk,
            "kind": "tool",
            "items": [item.pk],
        },
        content_type="application/json",
        **_auth(member),
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["reporter"] == member.pk and data["items"] == [item.pk]
    listed = client.get("/api/v1/breakages/", **_auth(member)).json()
    assert listed["count"] == 1 and listed["results"][0]["title"] == "Wrong warehouse"


def test_bad_breakages_get_a_message_per_field(client, member, workflow):
    response = client.post(
        "/api/v1/breakages/",
        {"title": "Forgot", "workflow": workflow.pk, "kind": "person"},
        content_type="application/json",
        **_auth(member),
    )
    assert response.status_code == 400
    assert "system_factor" in response.json()
    assert not Breakage.objects.exists()


def test_viewers_read_but_cannot_log(client, viewer, workflow):
    headers = _auth(viewer)
    assert client.get("/api/v1/breakages/", **headers).status_code == 200
    response = client.post(
        "/api/v1/breakages/",
        {"title": "x", "workflow": workflow.pk, "kind": "tool"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 403
    assert client.get("/api/v1/breakages/").status_code in (401, 403)


def test_action_items_are_readable_and_a_facilitator_edits_them(client, member, lead, log_breakage):
    action = ActionItem.objects.create(
        breakage=log_breakage(),
        title="Required PO",
        owner=member,
        due_date=timezone.localdate() + datetime.timedelta(days=5),
    )
    headers = _auth(lead)
    data = client.get("/api/v1/action-items/", **headers).json()
    assert data["results"][0]["title"] == "Required PO"
    assert data["results"][0]["owner_email"] == "member@example.com"
    url = f"/api/v1/action-items/{action.pk}/"
    assert client.get(url, **headers).status_code == 200
    response = client.patch(url, {"title": "x"}, content_type="application/json", **headers)
    assert response.status_code == 200
    assert client.delete(url, **headers).status_code == 405


def test_breakages_filter_by_week(client, lead, log_breakage, django_assert_max_num_queries):
    for n in range(5):
        log_breakage(title=f"This week {n}")
    log_breakage(title="Old", occurred_at=timezone.now() - datetime.timedelta(days=30))
    headers = _auth(lead)
    with django_assert_max_num_queries(10):
        data = client.get(
            "/api/v1/breakages/", {"week": timezone.localdate().isoformat()}, **headers
        ).json()
    assert data["count"] == 5
    response = client.get("/api/v1/breakages/", {"week": "soon"}, **headers)
    assert response.status_code == 400 and "week" in response.json()


def test_a_reopened_action_item_counts_as_updated(client, member, lead, log_breakage):
    """updated_since follows every change, reopening included (closed_at goes back to empty)."""
    import time_machine

    from reviews import services

    start = timezone.now()
    with time_machine.travel(start - datetime.timedelta(days=3)):
        action = ActionItem.objects.create(
            breakage=log_breakage(),
            title="Required PO",
            owner=member,
            due_date=timezone.localdate() + datetime.timedelta(days=5),
        )
        services.action_item_set_status(action=action, by=member, status="done")
    headers = _auth(lead)
    since = {"updated_since": (start - datetime.timedelta(days=1)).isoformat()}
    assert client.get("/api/v1/action-items/", since, **headers).json()["count"] == 0
    services.action_item_set_status(action=action, by=member, status="open")
    data = client.get("/api/v1/action-items/", since, **headers).json()
    assert [a["id"] for a in data["results"]] == [action.pk]
