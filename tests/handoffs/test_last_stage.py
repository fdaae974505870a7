"""A handoff kept on the last stage (for its published history) leads nowhere: deliver there."""

import pytest
from django.urls import reverse

from handoffs.decisions.forms import DecisionForm
from handoffs.models import DecisionType, Handoff, WorkItem
from handoffs.work import transitions
from handoffs.workflows import services as wf

pytestmark = pytest.mark.django_db


@pytest.fixture
def reordered(workflow, item, admin_user):
    """Qualify moved after Ship: its handoff has a published version, so it is kept."""
    qualify = workflow.stages.get(name="Qualify")
    wf.stage_move(stage=qualify, by=admin_user, offset=1)
    qualify.refresh_from_db()
    assert Handoff.objects.filter(from_stage=qualify).exists()
    item.refresh_from_db()
    assert item.stage == qualify and qualify.is_last
    return qualify


def test_the_last_stage_has_no_outgoing_handoff_even_with_a_leftover(reordered, workflow):
    assert reordered.outgoing_handoff() is None
    ship = workflow.stages.get(name="Ship")
    assert ship.outgoing_handoff().to_stage == reordered


def test_the_item_page_offers_deliver_not_hand_off(client, reordered, item, seller):
    client.force_login(seller)
    response = client.get(reverse("handoffs:item-detail", args=[item.pk]))
    assert response.context["actions"]["deliver"] is True
    assert response.context["actions"]["handoff"] is False
    assert response.context["handoff"] is None


def test_delivering_from_the_last_stage_works_and_hand_off_says_why_not(
    client, reordered, item, seller
):
    client.force_login(seller)
    response = client.post(reverse("handoffs:item-handoff", args=[item.pk]), follow=True)
    assert "last stage" in response.content.decode()
    transitions.item_deliver(item=item, by=seller)
    item.refresh_from_db()
    assert item.state == WorkItem.State.DONE


def test_a_block_on_the_last_stage_names_no_handoff(reordered, item, seller):
    _, recovery = transitions.item_block(item=item, by=seller, missing_input="Signed PO")
    assert recovery.handoff is None


def test_no_checklist_override_is_offered_on_the_last_stage(reordered, item, seller, workflow):
    DecisionType.objects.ensure_builtins(workflow)
    form = DecisionForm(item=item, user=seller)
    assert form._checklist_choices() == []
