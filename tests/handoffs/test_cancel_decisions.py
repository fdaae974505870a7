"""A cancelled item stays cancelled: its pending red request is closed, not left answerable."""

import pytest
from django.urls import reverse

from handoffs.decisions import services as decision_services
from handoffs.models import Decision, DecisionType, WorkItem
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db


@pytest.fixture
def red_request(item, seller, workflow):
    contract = DecisionType.objects.create(
        workflow=workflow, key="contract", name="Contract change", default_level="red"
    )
    return decision_services.decision_record(
        item=item, by=seller, decision_type=contract, summary="Net 60 payment terms"
    )


def test_cancelling_closes_the_pending_request_and_forgets_the_resume_state(
    item, red_request, teams
):
    sales_lead = teams["sales"].lead
    transitions.item_cancel(item=item, by=sales_lead, reason="Customer withdrew")
    item.refresh_from_db()
    red_request.refresh_from_db()
    assert item.state == WorkItem.State.CANCELLED and item.resume_state == ""
    assert red_request.status == Decision.Status.DENIED
    assert red_request.comment == "Item cancelled" and red_request.decided_at is not None
    assert red_request.decided_by is None
    assert not Decision.objects.awaiting(sales_lead).exists()
    cancelled = item.events.get(kind="cancelled")
    assert cancelled.payload["withdrawn_decision_ids"] == [red_request.pk]


def test_answering_after_the_cancel_does_not_bring_the_item_back(item, red_request, teams):
    sales_lead = teams["sales"].lead
    transitions.item_cancel(item=item, by=sales_lead, reason="Customer withdrew")
    with pytest.raises(services.StateConflict):
        decision_services.decision_approve(decision=red_request, by=sales_lead, comment="OK")
    item.refresh_from_db()
    assert item.state == WorkItem.State.CANCELLED


def test_a_pending_request_on_an_item_no_longer_awaiting_cannot_be_answered(
    item, red_request, teams
):
    # Rows cancelled before the fix: the request is still pending, the item is not paused.
    WorkItem.objects.filter(pk=item.pk).update(state=WorkItem.State.CANCELLED)
    for answer in (decision_services.decision_approve, decision_services.decision_deny):
        with pytest.raises(services.StateConflict, match="no longer waits"):
            answer(decision=red_request, by=teams["sales"].lead, comment="Too late")
    item.refresh_from_db()
    red_request.refresh_from_db()
    assert item.state == WorkItem.State.CANCELLED
    assert red_request.status == Decision.Status.PENDING


def test_approving_through_the_page_after_a_cancel_changes_nothing(
    client, item, red_request, teams
):
    client.force_login(teams["sales"].lead)
    client.post(reverse("handoffs:item-cancel", args=[item.pk]), {"reason": "Customer withdrew"})
    response = client.post(
        reverse("handoffs:decision-answer", args=[red_request.pk]),
        {"answer": "approve", "comment": "OK"},
        follow=True,
    )
    item.refresh_from_db()
    assert response.status_code == 200 and "denied already" in response.content.decode()
    assert item.state == WorkItem.State.CANCELLED
