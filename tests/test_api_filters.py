"""Filters, pagination and bad filter values of every /api/v1/ list (opshub/api_filters.py).

Each list: its filters narrow the results, `updated_since` works, a bad value answers 400
naming the parameter, and pages come from LimitOffsetPagination (count/next/results).
"""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from handoffs.integrations import webhooks
from handoffs.models import IntakeSource, WorkItem
from handoffs.work import services, transitions
from opshub.lib import signing
from reviews.models import ActionItem
from reviews.services import breakage_log

pytestmark = pytest.mark.django_db

FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00+00:00"


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ids(response):
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])


def _refused(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 400, response.json()
    return response.json()


def test_work_items_filter_by_workflow_stage_state_and_time(workflow, item, seller, lead):
    other = services.work_item_create(workflow=workflow, title="Second", by=seller)
    transitions.handoff_submit(
        item=other, by=seller, checklist=["signed"], fields={"po_number": "P", "amount": "1"}
    )
    transitions.handoff_accept(item=other, by=lead)
    other.refresh_from_db()
    ship = workflow.stages.get(name="Ship")
    client = _api(lead)
    url = "/api/v1/work-items/"
    assert _ids(client.get(url, {"workflow": workflow.pk})) == sorted([item.pk, other.pk])
    assert _ids(client.get(url, {"workflow": workflow.pk + 1000})) == []
    assert _ids(client.get(url, {"stage": ship.pk})) == [other.pk]
    assert _ids(client.get(url, {"state": other.state, "team": ship.team_id})) == [other.pk]
    assert _ids(client.get(url, {"updated_since": PAST})) == sorted([item.pk, other.pk])
    assert _ids(client.get(url, {"updated_since": FUTURE})) == []
    assert _refused(client, url, updated_since="yesterday") == {
        "detail": "The request has invalid fields.",
        "errors": {"updated_since": "Enter a valid date/time."},
        "updated_since": "Enter a valid date/time.",
    }
    assert "state" in _refused(client, url, state="finished")
    assert _refused(client, url, workflow="abc")["workflow"] == "Enter a whole number."
    assert "stage" in _refused(client, url, stage="-1")


def test_workflows_filter_by_sandbox_team_and_time(workflow, teams, viewer):
    client = _api(viewer)
    url = "/api/v1/workflows/"
    assert _ids(client.get(url, {"is_sandbox": "false"})) == [workflow.pk]
    assert _ids(client.get(url, {"is_sandbox": "true"})) == []
    assert _ids(client.get(url, {"team": teams["fulfilment"].pk})) == [workflow.pk]
    assert _ids(client.get(url, {"updated_since": FUTURE})) == []
    assert _refused(client, url, updated_since="yesterday")["updated_since"] == (
        "Enter a valid date/time."
    )
    assert _refused(client, url, is_sandbox="maybe")["is_sandbox"] == "Enter true or false."


def test_decisions_filter_by_workflow_status_and_time(item, seller, teams):
    created = _api(seller).post(
        "/api/v1/decisions/",
        {
            "work_item": item.pk,
            "decision_type": "override_checklist",
            "summary": "Ship now",
            "payload": {"checklist": ["signed"]},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    client = _api(teams["sales"].lead)
    url = "/api/v1/decisions/"
    assert _ids(client.get(url, {"workflow": item.workflow_id, "status": "pending"})) == [pk]
    assert _ids(client.get(url, {"status": "approved"})) == []
    assert _ids(client.get(url, {"updated_since": PAST, "level": "red"})) == [pk]
    assert _ids(client.get(url, {"updated_since": FUTURE})) == []
    client.post(f"{url}{pk}/approve/", {"comment": "ok"}, format="json")
    later = (timezone.now() - datetime.timedelta(seconds=1)).isoformat()
    assert _ids(client.get(url, {"updated_since": later})) == [pk]  # answered just now
    assert _refused(client, url, updated_since="yesterday")["updated_since"] == (
        "Enter a valid date/time."
    )
    assert "status" in _refused(client, url, status="maybe")
    assert "work_item" in _refused(client, url, work_item="x")


def test_breakages_and_action_items_filter(workflow, lead, member):
    ship = workflow.stages.get(name="Ship")
    breakage = breakage_log(
        by=lead, title="PO missing", workflow=workflow, kind="process", stage=ship
    )
    breakage_log(by=lead, title="Tool down", workflow=workflow, kind="tool")
    action = ActionItem.objects.create(
        title="Add PO check", owner=member, due_date=timezone.localdate(), breakage=breakage
    )
    client = _api(member)
    url = "/api/v1/breakages/"
    assert _ids(client.get(url, {"workflow": workflow.pk, "stage": ship.pk})) == [breakage.pk]
    assert _ids(client.get(url, {"kind": "process"})) == [breakage.pk]
    assert len(_ids(client.get(url, {"updated_since": PAST}))) == 2
    assert _ids(client.get(url, {"updated_since": FUTURE})) == []
    assert len(_ids(client.get(url, {"week": timezone.localdate().isoformat()}))) == 2
    assert _refused(client, url, week="monday")["week"] == "Enter a valid date."
    assert "kind" in _refused(client, url, kind="gremlins")
    assert "updated_since" in _refused(client, url, updated_since="yesterday")

    url = "/api/v1/action-items/"
    assert _ids(client.get(url, {"workflow": workflow.pk, "status": "open"})) == [action.pk]
    assert _ids(client.get(url, {"owner": member.pk, "updated_since": PAST})) == [action.pk]
    assert _ids(client.get(url, {"status": "done"})) == []
    assert _ids(client.get(url, {"updated_since": FUTURE})) == []
    assert "status" in _refused(client, url, status="later")
    assert "updated_since" in _refused(client, url, updated_since="yesterday")


def test_intake_sources_filter(workflow, admin_user):
    ship = workflow.stages.get(name="Ship")
    source = IntakeSource.objects.create(
        name="CRM",
        slug="crm",
        workflow=workflow,
        stage=ship,
        mapping={"title": "deal.name"},
        secret=signing.new_secret(),
    )
    IntakeSource.objects.create(
        name="Form",
        slug="form",
        workflow=workflow,
        stage=ship,
        mapping={"title": "name"},
        secret=signing.new_secret(),
        is_active=False,
    )
    client = _api(admin_user)
    url = "/api/v1/intake-sources/"
    assert len(_ids(client.get(url, {"workflow": workflow.pk, "stage": ship.pk}))) == 2
    assert _ids(client.get(url, {"is_active": "true"})) == [source.pk]
    assert _ids(client.get(url, {"updated_since": FUTURE})) == []
    assert "updated_since" in _refused(client, url, updated_since="yesterday")
    assert "stage" in _refused(client, url, stage="ship")
    deliveries = f"{url}{source.pk}/deliveries/"
    assert client.get(deliveries, {"status": "rejected"}).json()["count"] == 0
    assert "status" in _refused(client, deliveries, status="lost")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/work-items/",
        "/api/v1/workflows/",
        "/api/v1/decisions/",
        "/api/v1/breakages/",
        "/api/v1/action-items/",
        "/api/v1/intake-sources/",
        "/api/v1/webhook-subscriptions/",
    ],
)
def test_every_list_pages_with_limit_and_offset(url, workflow, seller, admin_user):
    for n in range(2):
        services.work_item_create(workflow=workflow, title=f"Item {n}", by=seller)
    webhooks.subscription_create(
        name="A", url="https://a.example.com/", event_kinds=["delivered"], by=admin_user
    )
    webhooks.subscription_create(
        name="B", url="https://b.example.com/", event_kinds=["delivered"], by=admin_user
    )
    first = _api(admin_user).get(url, {"limit": 1})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert len(body["results"]) <= 1
    if body["count"] > 1:
        assert "offset=1" in body["next"]
    assert WorkItem.objects.count() == 2


def test_updated_since_takes_any_iso_offset_and_refuses_impossible_times(item, lead):
    client = _api(lead)
    url = "/api/v1/work-items/"
    # PostgreSQL refuses offsets beyond ±15:59; the filter converts to UTC first.
    assert _ids(client.get(url, {"updated_since": "2012-05-02T19:09:42+17:48"})) == [item.pk]
    assert _ids(client.get(url, {"updated_since": "2026-11-20T09:00:00"})) == [item.pk]
    assert "updated_since" in _refused(client, url, updated_since="0001-01-01T00:00:00+05:00")
