"""The projector in real Chromium: keyboard navigation, the timer, live updates, two sizes."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reviews.models import ActionItem
from reviews.services import projector_link_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def meeting(review, lead, member, log_breakage, handoff, deliver, workflow):
    for days in (3, 4, 5):
        deliver(workflow, days=days)
    first = log_breakage(
        handoff=handoff,
        title="Orders reached Fulfilment without a delivery address",
        description="Three orders waited a day while Fulfilment called the customers.",
    )
    log_breakage(
        handoff=handoff,
        title="Address missing again on a rush order",
        occurred_at=timezone.now() - datetime.timedelta(days=9),
    )
    log_breakage(
        title="Invoice went to the wrong contact",
        kind="person",
        system_factor="The CRM shows the first contact, not the billing one.",
    )
    ActionItem.objects.create(
        review=review,
        breakage=first,
        title="The handoff checklist asks for the address before “Hand off” is enabled",
        owner=member,
        due_date=timezone.localdate() + datetime.timedelta(days=7),
    )
    return projector_link_create(review=review, by=lead)


def _current(page):
    return page.locator(".deck > .slide.is-current")


def test_the_projector_is_driven_from_the_keyboard(page, live_server, meeting, screenshot):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(live_server.url + meeting.get_absolute_url())
    assert _current(page).get_attribute("data-key") == "overview"
    assert page.locator(".deck > .slide:visible").count() == 1
    screenshot("reviews-projector-overview-1920")

    page.keyboard.press("ArrowRight")
    assert _current(page).get_attribute("data-key") == "scoreboard"
    page.keyboard.press("2")
    assert _current(page).locator("h1").inner_text().startswith("Orders reached Fulfilment")
    assert page.locator(".projector-position").inner_text() == "2 / 7"
    expect(_current(page).locator(".slide-timer")).to_contain_text("0:01 / 5:00")
    screenshot("reviews-projector-breakage-1920")

    page.keyboard.press("ArrowRight")
    assert _current(page).locator(".slide-kicker").text_content().startswith("3 of 7")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert _current(page).get_attribute("data-key") == "scoreboard"
    page.keyboard.press("End")
    assert _current(page).get_attribute("data-key") == "checks"
    page.keyboard.press("Escape")
    assert _current(page).get_attribute("data-key") == "overview"

    # Read-only: nothing on the projector can post.
    assert page.locator("form").count() == 0


def test_a_breakage_added_from_a_laptop_appears_without_moving_the_room(
    page, live_server, meeting, log_breakage, screenshot
):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(live_server.url + meeting.get_absolute_url() + "#1")
    page.keyboard.press("3")
    shown = _current(page).get_attribute("data-key")
    assert page.locator("#deck").get_attribute("hx-trigger") == "every 5s"

    log_breakage(title="Courier booked for the wrong day", kind="tool")
    # Run the poll now instead of waiting five seconds for it.
    page.evaluate("htmx.trigger('#deck', 'every 5s')")
    page.wait_for_selector(".projector-toast:not([hidden])")
    assert "Courier booked for the wrong day" in page.locator(".projector-toast").inner_text()
    assert _current(page).get_attribute("data-key") == shown
    assert page.locator(".deck > .slide").count() == 9
    screenshot("reviews-projector-breakage-1280")
    page.keyboard.press("Escape")
    screenshot("reviews-projector-overview-1280")


def test_the_facilitator_presents_after_logging_in(
    page, live_server, login, lead, meeting, screenshot
):
    login(lead)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/reviews/{meeting.review_id}/")
    screenshot("reviews-review-page-1366", full_page=True)
    page.get_by_role("link", name="Present on projector").click()
    page.wait_for_selector(".deck > .slide.is-current")
    page.keyboard.press("Escape")  # on the agenda overview: back to the review page
    page.wait_for_url(f"{live_server.url}/reviews/{meeting.review_id}/")
