"""One home for who may do what with an item: each action offered or not, and why not."""

import pytest

from handoffs.work import transitions
from handoffs.work.permissions import available_actions

pytestmark = pytest.mark.django_db


def _actions(user, item):
    item.refresh_from_db()
    handoff = item.stage.outgoing_handoff()
    recovery = item.recoveries.open().first()
    return available_actions(user, item, handoff=handoff, recovery=recovery)


def test_the_team_working_on_an_item_may_hand_it_off(item, seller):
    actions = _actions(seller, item)
    assert actions["handoff"].allowed
    assert not actions["deliver"].allowed and not actions["deliver"].refused_by_rights
    assert not actions["accept"].allowed and actions["accept"].why_not


def test_another_team_is_told_whose_stage_it_is_and_whom_to_ask(item, member):
    handoff = _actions(member, item)["handoff"]
    assert not handoff.allowed and handoff.refused_by_rights
    assert handoff.why_not == "Sales owns this stage; ask Sales.Lead (lead)."


def test_a_viewer_is_told_their_account_only_reads(item, viewer):
    handoff = _actions(viewer, item)["handoff"]
    assert (handoff.allowed, handoff.why_not) == (False, "Your account can only read.")


def test_only_the_receiving_team_may_accept_a_handoff(item, seller, lead):
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )
    accept = _actions(seller, item)["accept"]
    assert accept.why_not == "Fulfilment receives this handoff; ask Lead (lead)."
    assert _actions(lead, item)["accept"].allowed


def test_the_item_page_says_why_an_action_is_not_offered(client, item, member):
    client.force_login(member)
    page = client.get(item.get_absolute_url()).content.decode()
    assert "Hand off to" not in page
    assert "Sales owns this stage; ask Sales.Lead (lead)." in page


def test_the_team_working_on_it_sees_no_refusal(client, item, seller):
    client.force_login(seller)
    page = client.get(item.get_absolute_url()).content.decode()
    assert "Hand off to" in page and "owns this stage" not in page
