"""In Chromium at 1366 and 1920 px: a member signs in to My work, meets another team's item
that says why nothing is offered, claims an item of their own team in one click, and delivers
it after a confirmation, then undoes the delivery."""

import pytest
from playwright.sync_api import expect

from handoffs.models import Event, WorkItem
from handoffs.work import transitions
from handoffs.work.services import work_item_create

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"1366": {"width": 1366, "height": 768}, "1920": {"width": 1920, "height": 1080}}


def test_a_member_lands_on_my_work_and_claims_delivers_and_undoes(
    page, live_server, login, screenshot, workflow, item, seller, member
):
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )
    other = work_item_create(workflow=workflow, title="Sales-side order", by=seller)
    page.set_viewport_size(SIZES["1366"])
    login(member)
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    assert page.url.endswith("/work/mine/")
    expect(page.get_by_role("link", name="ACME order #1")).to_be_visible()
    expect(page.locator(".nav-main")).to_contain_text("Inbox 1")
    screenshot("my-work-1366")
    page.set_viewport_size(SIZES["1920"])
    screenshot("my-work-1920")
    page.get_by_role("link", name="Scoreboard").first.click()
    expect(page).to_have_url(f"{live_server.url}/")

    page.set_viewport_size(SIZES["1366"])
    page.goto(f"{live_server.url}{other.get_absolute_url()}")
    refusals = page.locator("#action-refusals")
    expect(refusals).to_contain_text(
        "Sales owns this stage; ask Sales.Lead (lead), or claim it if you are in Sales."
    )
    screenshot("item-refusals-1366")
    page.set_viewport_size(SIZES["1920"])
    screenshot("item-refusals-1920")

    page.set_viewport_size(SIZES["1366"])
    page.goto(f"{live_server.url}{item.get_absolute_url()}")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted: the item is yours now.")).to_be_visible()
    WorkItem.objects.filter(pk=item.pk).update(assignee=None)
    page.reload()
    page.get_by_role("button", name="Claim it").click()
    expect(page.get_by_text("Claimed: the item is yours now.")).to_be_visible()
    assert WorkItem.objects.get(pk=item.pk).assignee == member

    page.get_by_role("link", name="Deliver…").click()
    expect(page.get_by_role("heading", name="Deliver “ACME order #1”?")).to_be_visible()
    expect(page.get_by_text("You can undo it for 10 minutes")).to_be_visible()
    screenshot("deliver-confirm-1366")
    page.set_viewport_size(SIZES["1920"])
    screenshot("deliver-confirm-1920")
    page.get_by_role("button", name="Deliver it").click()
    expect(page.locator(".page-header .badge")).to_have_text("Done")
    undo = page.get_by_role("button", name="Undo delivery")
    expect(undo).to_be_visible()
    screenshot("delivered-undo-1920")
    undo.click()
    expect(page.locator(".page-header .badge")).to_have_text("In progress")
    expect(page.locator(".timeline")).to_contain_text("Delivery undone")
    page.set_viewport_size(SIZES["1366"])
    screenshot("delivery-undone-1366", full_page=True)

    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS and item.delivered_at is None
    kinds = list(item.events.values_list("kind", flat=True))
    assert kinds[-2:] == [Event.Kind.DELIVERED, Event.Kind.DELIVERY_UNDONE]
