"""The board in Chromium: filters, accepting from a card, and dragging a card onto the next
stage, which opens the handoff gate instead of moving the item."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.models import Stage, WorkItem
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db(transaction=True)
GATE = {"checklist": ["signed"], "fields": {"po_number": "PO-1", "amount": "10"}}


@pytest.fixture
def busy_board(workflow, teams, seller):
    """Five stages (Qualify → Ship → Install → Invoice → Follow up) and work in the first two."""
    for position, (name, team) in enumerate(
        [("Install", "fulfilment"), ("Invoice", "sales"), ("Follow up", "sales")], start=3
    ):
        Stage.objects.create(workflow=workflow, name=name, position=position, team=teams[team])
    now = timezone.now()
    items = [
        services.work_item_create(
            workflow=workflow,
            title=f"Order {n:02d} for a client with a rather long name",
            by=seller,
            requested_at=now - datetime.timedelta(days=n + 1),
            due_date=timezone.localdate() + datetime.timedelta(days=n),
        )
        for n in range(6)
    ]
    WorkItem.objects.filter(pk=items[5].pk).update(assignee=seller)
    for item in items[:2]:
        transitions.handoff_submit(item=item, by=seller, **GATE)
    return items


def _open_board(page, live_server, login, user, workflow, width):
    page.set_viewport_size({"width": width, "height": 900 if width < 1900 else 1080})
    login(user)
    page.goto(f"{live_server.url}/work/board/{workflow.pk}/")
    return page


def test_dragging_a_card_onto_the_next_stage_opens_its_gate(
    page, live_server, login, screenshot, workflow, seller, busy_board
):
    page = _open_board(page, live_server, login, seller, workflow, 1366)
    columns = page.locator(".board-column")
    expect(columns).to_have_count(5)
    # Five columns fit a laptop: the last one ends inside the viewport, no sideways scroll.
    last = columns.nth(4).bounding_box()
    assert last["x"] + last["width"] <= 1366
    screenshot("board-laptop")

    card = page.locator("article.card", has_text="Order 02")
    card.drag_to(page.get_by_role("region", name="Invoice"))
    expect(page.locator("#board-status")).to_contain_text("drop it on Ship")
    assert page.url.endswith(f"/work/board/{workflow.pk}/")

    card.drag_to(page.get_by_role("region", name="Ship"))
    page.wait_for_url(f"**/work/{busy_board[2].pk}/?panel=handoff")
    expect(page.get_by_label("PO number")).to_be_visible()
    assert WorkItem.objects.get(pk=busy_board[2].pk).state == WorkItem.State.IN_PROGRESS


def test_filtering_the_board_and_accepting_from_a_card(
    page, live_server, login, screenshot, workflow, lead, busy_board
):
    page = _open_board(page, live_server, login, lead, workflow, 1920)
    page.get_by_role("link", name="My teams").click()
    ship = page.get_by_role("region", name="Ship")
    expect(ship.locator("article.card")).to_have_count(2)
    expect(page.get_by_role("region", name="Qualify").locator("article.card")).to_have_count(0)
    screenshot("board-projector")

    ship.locator("article.card", has_text="Order 00").get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted “Order 00")).to_be_visible()
    expect(ship.locator("article.card", has_text="Order 00")).to_contain_text("In progress")
    assert "show=team" in page.url
    item = WorkItem.objects.get(pk=busy_board[0].pk)
    assert (item.state, item.assignee) == (WorkItem.State.IN_PROGRESS, lead)

    # Filters combine: my teams' work that is also due soon; the URL and the toggles say so.
    page.get_by_role("link", name="Due soon").click()
    expect(page.locator("article.card")).to_have_count(2)
    assert page.url.endswith("?show=team&show=due")
    filters = page.get_by_role("navigation", name="Show on the board")
    expect(filters.locator(".is-on")).to_have_text(["✓ My teams (on)", "✓ Due soon (on)"])
    page.get_by_role("link", name="My teams").click()  # off again: due soon alone
    expect(page.locator("article.card")).to_have_count(4)
    assert page.url.endswith("?show=due")
    page.get_by_role("link", name="Stalled").click()
    expect(page.locator(".board-empty").first).to_have_text("None that match.")
    page.get_by_role("link", name="Clear: all open work").click()
    expect(page.locator("article.card")).to_have_count(6)
