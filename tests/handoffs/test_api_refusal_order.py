"""The API refuses in one order: 401 → 403 → 404 → 400/409. Someone who may not act gets 403
whatever they send and whatever state the object is in, so a refusal never describes the
body an action wants or what happened to the object."""

import pytest
from rest_framework.test import APIClient

from handoffs.decisions import services as decision_services
from handoffs.models import Decision, DecisionType, Event, Workflow, WorkItem
from handoffs.work import transitions

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _refused(response, message):
    assert response.status_code == 403, (response.status_code, response.json())
    assert response.json() == {"detail": message}


def test_a_viewer_gets_403_whatever_the_body(viewer, item):
    client = _client(viewer)
    for body in ({}, {"missing_input": ""}, {"missing_input": "A PO", "owner": 999999}):
        _refused(
            client.post(f"/api/v1/work-items/{item.pk}/block/", body, format="json"),
            "Viewers have read-only access.",
        )
    assert not item.events.exclude(kind=Event.Kind.CREATED).exists()


def test_an_outsider_gets_403_before_the_body_is_validated(outsider, item):
    client = _client(outsider)
    for action, verb in [
        ("handoff", "hand it off"),
        ("block", "block it"),
        ("deliver", "deliver it"),
        ("cancel", "cancel it"),
    ]:
        _refused(
            client.post(f"/api/v1/work-items/{item.pk}/{action}/", {"checklist": 7}, format="json"),
            f"Only the team working on this item can {verb}.",
        )
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS


def test_an_outsider_gets_403_on_a_closed_item_not_409(outsider, seller, item):
    transitions.item_cancel(item=item, by=seller, reason="Lost the deal")
    _refused(
        _client(outsider).post(f"/api/v1/work-items/{item.pk}/deliver/", format="json"),
        "Only the team working on this item can deliver it.",
    )
    # The team itself learns the state: the refusal order only hides it from others.
    answer = _client(seller).post(f"/api/v1/work-items/{item.pk}/deliver/", format="json")
    assert answer.status_code == 409


def test_an_unknown_item_is_404_for_a_writer(member):
    answer = _client(member).post("/api/v1/work-items/999999/handoff/", {}, format="json")
    assert answer.status_code == 404


def test_a_member_cannot_create_or_change_a_workflow_even_with_a_bad_body(member, workflow):
    client = _client(member)
    _refused(
        client.post("/api/v1/workflows/", {"name": ""}, format="json"),
        "Only leads and admins can create workflows.",
    )
    message = "Only leads of the teams in this workflow and admins can change it."
    _refused(
        client.patch(f"/api/v1/workflows/{workflow.pk}/", {"name": ""}, format="json"), message
    )
    _refused(client.delete(f"/api/v1/workflows/{workflow.pk}/"), message)
    assert Workflow.objects.get().name == "Order to delivery"


def test_only_the_approver_learns_a_decision_was_answered_already(item, seller, teams, member):
    DecisionType.objects.ensure_builtins(item.workflow)
    decision = decision_services.decision_record(
        item=item,
        by=seller,
        decision_type=DecisionType.objects.for_workflow(item.workflow).get(
            key="override_checklist"
        ),
        summary="Ship before signature",
        payload={"checklist": ["signed"]},
    )
    assert decision.level == "red"
    approver = teams["sales"].lead
    assert _client(approver).post(f"/api/v1/decisions/{decision.pk}/approve/").status_code == 200

    _refused(
        _client(member).post(f"/api/v1/decisions/{decision.pk}/deny/", {"comment": 5}),
        "Only the named approver or an admin answers this request.",
    )
    _refused(
        _client(seller).post(f"/api/v1/decisions/{decision.pk}/approve/"),
        "Nobody approves their own request.",
    )
    assert _client(approver).post(f"/api/v1/decisions/{decision.pk}/deny/").status_code == 409
    assert Decision.objects.get().status == Decision.Status.APPROVED
