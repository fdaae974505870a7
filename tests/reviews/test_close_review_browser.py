"""Closing a review in Chromium: the question first, with htmx and without JavaScript."""

import pytest
from playwright.sync_api import expect

from handoffs.models import EmailDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def test_close_asks_first_in_a_panel_then_closes(
    page, live_server, login, lead, ready_review, screenshot
):
    login(lead)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}{ready_review.get_absolute_url()}")
    page.get_by_role("link", name="Close review…").click()
    panel = page.locator("#close-confirm .close-confirm")
    expect(panel).to_contain_text("entries were not discussed; close anyway?")
    expect(panel).to_contain_text("emailed now to 3 people: Lead, Member, Seller")
    assert page.url == f"{live_server.url}{ready_review.get_absolute_url()}"  # no navigation
    expect(panel.get_by_role("heading")).to_be_focused()
    screenshot("reviews-close-confirm-1366")
    assert not EmailDelivery.objects.exists()

    panel.get_by_role("button", name="Close anyway and email 3 people").click()
    expect(page.locator(".flash-success")).to_contain_text("Review closed")
    ready_review.refresh_from_db()
    assert not ready_review.is_open
    assert EmailDelivery.objects.count() == 3


def test_close_asks_first_without_javascript(browser, live_server, lead, ready_review):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1366, "height": 768}
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(lead.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}{ready_review.get_absolute_url()}")
    page.get_by_role("link", name="Close review…").click()
    page.wait_for_url(f"{live_server.url}/reviews/{ready_review.pk}/close/")
    expect(page.locator("h2")).to_contain_text("close anyway?")
    page.screenshot(path=str(_path("reviews-close-confirm-nojs")))
    page.get_by_role("link", name="Keep it open").click()
    ready_review.refresh_from_db()
    assert ready_review.is_open and not EmailDelivery.objects.exists()

    page.get_by_role("link", name="Close review…").click()
    page.get_by_role("button", name="Close anyway and email 3 people").click()
    page.wait_for_url(f"{live_server.url}{ready_review.get_absolute_url()}")
    expect(page.locator(".flash-success")).to_contain_text("Review closed")
    ready_review.refresh_from_db()
    assert not ready_review.is_open
    context.close()


def _path(name):
    from tests.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
