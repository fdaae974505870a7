"""The whole life of a work item in Chromium: create, fill, hand off, bounce, recover, deliver."""

import re

import pytest
from playwright.sync_api import expect

from handoffs.models import Recovery, WorkItem

pytestmark = pytest.mark.django_db(transaction=True)


def _as(page, login, user):
    page.context.clear_cookies()
    login(user)


def test_the_whole_life_of_an_item(page, live_server, login, screenshot, workflow, seller, member):
    page.set_viewport_size({"width": 1366, "height": 900})
    _as(page, login, seller)

    page.goto(f"{live_server.url}/work/new/")
    page.get_by_label("Title").fill("Acme rollout")
    page.get_by_label("External reference").fill("D-4411")
    page.get_by_role("button", name="Create work item").click()
    expect(page.get_by_role("heading", name="Acme rollout")).to_be_visible()
    item = WorkItem.objects.get(title="Acme rollout")

    page.get_by_role("link", name="Hand off to Ship").click()
    gate = page.locator("form.gate")
    expect(gate.get_by_text("Contract signed")).to_be_visible()
    gate.get_by_role("button", name="Hand off to Ship").click()
    expect(page.get_by_text("Nothing was handed off")).to_be_visible()
    expect(page.get_by_role("link", name="Checklist: Contract signed")).to_be_visible()
    expect(page.get_by_role("link", name="PO number: Required by the protocol")).to_be_visible()
    page.locator("form.gate").scroll_into_view_if_needed()
    screenshot("items-gate-missing")
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS

    gate = page.locator("form.gate")
    gate.get_by_label("Contract signed").check()
    gate.get_by_label("Amount").fill("4800")
    gate.get_by_role("button", name="Hand off to Ship").click()
    # Wait for the new answer: the checklist item is no longer listed as missing.
    expect(page.get_by_role("link", name="Checklist: Contract signed")).to_have_count(0)
    expect(page.get_by_role("link", name="PO number: Required by the protocol")).to_be_visible()
    gate = page.locator("form.gate")
    expect(gate.get_by_label("Amount")).to_have_value("4800")
    gate.get_by_label("Contract signed").check()
    gate.get_by_label("PO number").fill("PO-77")
    gate.get_by_role("button", name="Hand off to Ship").click()
    expect(page.locator(".page-header .badge")).to_have_text("Waiting for acceptance")
    screenshot("items-handed-off")

    _as(page, login, member)
    page.goto(f"{live_server.url}/work/inbox/")
    expect(page.get_by_role("link", name="Acme rollout")).to_be_visible()
    screenshot("items-inbox-receiver")
    page.get_by_role("link", name="Acme rollout").click()
    page.get_by_role("link", name="Bounce").click()
    page.get_by_label("Missing input").select_option("Contract signed")
    page.get_by_label("Note").fill("The signature page is missing from the PDF.")
    page.locator("form.inline-panel").get_by_role("button", name="Bounce").click()
    expect(page.locator(".recovery-panel")).to_contain_text("Contract signed")
    screenshot("items-bounced")
    assert Recovery.objects.get().owner == seller

    _as(page, login, seller)
    page.goto(f"{live_server.url}/work/inbox/")
    expect(page.get_by_text("Missing inputs you must supply")).to_be_visible()
    screenshot("items-inbox-sender")
    page.get_by_role("link", name="Acme rollout").click()
    page.get_by_role("link", name="Input supplied: unblock").click()
    page.get_by_label("Process").check()
    page.locator("form.inline-panel").get_by_role("button", name="Unblock and resume").click()
    expect(page.locator(".page-header .badge")).to_have_text("In progress")
    page.get_by_role("link", name="Hand off to Ship").click()
    gate = page.locator("form.gate")
    expect(gate.get_by_label("PO number")).to_have_value("PO-77")
    gate.get_by_label("Contract signed").check()
    gate.get_by_role("button", name="Hand off to Ship").click()
    expect(page.locator(".page-header .badge")).to_have_text("Waiting for acceptance")

    _as(page, login, member)
    page.goto(f"{live_server.url}{item.get_absolute_url()}")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted: the item is yours now.")).to_be_visible()
    page.get_by_role("button", name="Deliver").click()
    expect(page.locator(".page-header .badge")).to_have_text("Done")
    expect(page.locator(".timeline")).to_contain_text(
        re.compile(r"Waited \d+m? ?\w* for acceptance")
    )
    screenshot("items-delivered", full_page=True)
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("items-delivered-1080p")

    item.refresh_from_db()
    assert item.state == WorkItem.State.DONE
    assert item.replayed_state() == (item.stage_id, item.state, item.assignee_id, item.delivered_at)

    page.goto(f"{live_server.url}/work/board/{workflow.pk}/")
    expect(page.get_by_role("heading", name="Order to delivery")).to_be_visible()
    page.goto(f"{live_server.url}/work/?state=all")
    expect(page.get_by_role("link", name="Acme rollout")).to_be_visible()
    screenshot("items-list")


def test_editing_an_items_details(page, live_server, login, screenshot, item, seller):
    page.set_viewport_size({"width": 1366, "height": 900})
    _as(page, login, seller)
    page.goto(f"{live_server.url}{item.get_absolute_url()}")
    page.get_by_role("link", name="Edit details").click()
    panel = page.locator("form.item-edit")
    expect(panel.get_by_label("Title")).to_have_value("ACME order #1")
    panel.get_by_label("Title").fill("ACME order #1 (rush)")
    panel.get_by_label("Priority").select_option(label="Urgent")
    panel.get_by_label("Owner").select_option(label="Seller")
    panel.get_by_label("PO number").fill("PO-12")
    panel.get_by_label("Amount").fill("lots")
    panel.get_by_role("button", name="Save details").click()
    expect(page.get_by_role("link", name="Amount: Amount must be a number.")).to_be_visible()
    expect(page.locator("form.item-edit").get_by_label("PO number")).to_have_value("PO-12")
    screenshot("items-edit-errors")
    item.refresh_from_db()
    assert item.title == "ACME order #1" and item.fields == {}

    page.locator("form.item-edit").get_by_label("Amount").fill("1200")
    page.locator("form.item-edit").get_by_role("button", name="Save details").click()
    expect(page.get_by_text("Details saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="ACME order #1 (rush)")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Details edited")
    expect(page.locator(".timeline")).to_contain_text("PO number: (empty) → PO-12")
    screenshot("items-edit-saved")
    item.refresh_from_db()
    assert (item.priority, item.assignee) == (WorkItem.Priority.URGENT, seller)
    assert item.fields == {"po_number": "PO-12", "amount": "1200.00"}
    assert item.replayed_state() == (item.stage_id, item.state, seller.pk, None)


def test_the_board_and_a_long_list_on_a_laptop_and_a_projector(
    page, live_server, login, screenshot, workflow, seller, member, monkeypatch
):
    """A column shows its twelve longest-waiting cards and links to the rest; a list longer
    than the pager counts says "N+" (opshub.lib.paginator)."""
    import datetime

    from django.utils import timezone

    from handoffs.models import StallEpisode
    from handoffs.work import services, transitions

    gate = {"checklist": ["signed"], "fields": {"po_number": "PO-1", "amount": "10"}}
    now = timezone.now()
    items = [
        services.work_item_create(
            workflow=workflow,
            title=f"Order {n:02d} for Client {n % 5}",
            by=seller,
            requested_at=now - datetime.timedelta(days=n, hours=n),
        )
        for n in range(19)
    ]
    for item in items[:3]:
        transitions.handoff_submit(item=item, by=seller, **gate)
    StallEpisode.objects.create(
        item=items[0],
        kind=StallEpisode.Kind.HANDOFF_UNACCEPTED,
        started_at=now - datetime.timedelta(hours=9),
        target=datetime.timedelta(hours=4),
        escalation_delay=datetime.timedelta(hours=8),
    )
    monkeypatch.setattr("opshub.lib.paginator.COUNT_AHEAD", 10)
    monkeypatch.setattr("handoffs.work.views.ITEMS_PER_PAGE", 5)
    _as(page, login, member)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/work/board/{workflow.pk}/")
    qualify = page.get_by_role("region", name="Qualify")
    expect(qualify.locator("article.card")).to_have_count(12)
    expect(qualify.get_by_role("link", name="all 16 in this stage →")).to_be_visible()
    ship = page.get_by_role("region", name="Ship")
    expect(ship.locator("article.card.is-stalled")).to_have_count(1)
    screenshot("items-board-laptop")
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("items-board-1080p")

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/work/?state=all")
    expect(page.get_by_text("10+ items · page 1 of 2+")).to_be_visible()
    screenshot("items-list-capped")
    page.get_by_role("link", name="Older →").click()
    expect(page.get_by_text("15+ items · page 2 of 3+")).to_be_visible()
