"""Facilitating from the projector at 1920×1080, by keyboard only: verdicts, the one small
change in a dialog, entries past the ninth, long titles that wrap."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reviews.models import ActionItem, AgendaEntry

pytestmark = pytest.mark.django_db(transaction=True)

LONG_TITLE = (
    "Orders for the northern region reached Fulfilment without a delivery address, a PO "
    "number or the customer's preferred delivery window, so every one of them waited a day"
)


@pytest.fixture
def crowded_review(review, log_breakage, handoff, deliver, workflow, lead):
    """Twelve breakages: seventeen agenda entries, the first breakage with a long title;
    this week's deliveries and a quarter target for the scoreboard entry."""
    from scoreboard.services import quarter_target_set

    for days in (2, 3, 7):
        deliver(workflow, days=days)
    quarter_target_set(workflow=workflow, by=lead, metric="p85", target_days="5")
    log_breakage(title=LONG_TITLE, handoff=handoff)
    for n in range(2, 13):
        log_breakage(title=f"Breakage number {n}", kind="tool")
    return review


def _current(page):
    return page.locator(".deck > .slide.is-current")


def _kicker(page):
    return _current(page).locator(".slide-kicker")


def test_the_facilitator_runs_the_review_from_the_projector_by_keyboard(
    page, live_server, login, lead, member, crowded_review, screenshot
):
    login(lead)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{live_server.url}/reviews/{crowded_review.pk}/projector/")
    expect(_current(page)).to_have_attribute("data-key", "overview")

    # The long title wraps on the overview instead of being cut.
    title = page.locator(".overview-title", has_text="Orders for the northern region")
    expect(title).to_have_text(LONG_TITLE)
    assert title.evaluate("e => getComputedStyle(e).whiteSpace") == "normal"
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert (
        title.bounding_box()["height"]
        > 1.5 * page.locator(".overview-title").nth(0).bounding_box()["height"]
    )
    screenshot("reviews-projector-facilitate-overview-1920")

    # Past the ninth entry: "1" waits for a second digit, "12" jumps at once.
    page.keyboard.press("1")
    expect(page.locator(".projector-position")).to_have_text("Go to 1…")
    page.keyboard.press("2")
    expect(_kicker(page)).to_contain_text("12 of 17")
    page.keyboard.press("1")
    page.keyboard.press("7")
    expect(_kicker(page)).to_contain_text("17 of 17")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(_kicker(page)).to_contain_text("1 of 17")
    expect(_current(page)).to_contain_text("each workflow against its own figure this week")
    screenshot("reviews-projector-scoreboard-1920")
    page.keyboard.press("a")  # no breakage here: the room is told where A works
    expect(page.locator(".projector-toast")).to_contain_text("on a breakage")
    expect(page.locator("#record-action")).to_be_hidden()

    # Entry 2: the long-titled breakage. R marks it reviewed, D dismisses it.
    page.keyboard.press("2")
    expect(_current(page).locator("h1")).to_have_text(LONG_TITLE)
    key = _current(page).get_attribute("data-key")
    page.keyboard.press("r")
    expect(_kicker(page)).to_contain_text("Reviewed")
    expect(page.locator(".projector-toast")).to_have_text("Marked reviewed.")
    assert AgendaEntry.objects.get(review=crowded_review, key=key).state == "reviewed"
    page.keyboard.press("d")
    expect(_kicker(page)).to_contain_text("Dismissed")
    assert AgendaEntry.objects.get(review=crowded_review, key=key).state == "dismissed"
    page.keyboard.press("r")
    expect(_kicker(page)).to_contain_text("Reviewed")
    screenshot("reviews-projector-facilitate-breakage-1920")

    # A: the one small change. Enter with nothing filled in is refused field by field.
    page.keyboard.press("a")
    dialog = page.locator("#record-action")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-record-for]")).to_contain_text("For breakage: Orders for")
    expect(dialog.get_by_label("The one small change")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.locator(".error-summary")).to_be_visible()
    expect(dialog.locator(".field-error").first).to_contain_text("required")
    expect(dialog.get_by_label("The one small change")).to_be_focused()
    assert ActionItem.objects.count() == 0
    screenshot("reviews-projector-facilitate-refused-1920")

    page.keyboard.type("The handoff checklist asks for the delivery window")
    page.keyboard.press("Tab")
    page.keyboard.type("Member")  # type-ahead in the owner list
    page.keyboard.press("Tab")
    due = timezone.localdate() + datetime.timedelta(days=14)
    dialog.get_by_label("Due date").fill(due.isoformat())
    page.keyboard.press("Tab")
    page.keyboard.type("Order")  # the protocol it changes
    screenshot("reviews-projector-facilitate-dialog-1920")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    expect(page.locator(".projector-toast")).to_contain_text("Action item recorded")
    action = ActionItem.objects.get()
    assert action.title == "The handoff checklist asks for the delivery window"
    assert (action.owner, action.due_date, action.review) == (member, due, crowded_review)
    assert action.breakage.title == LONG_TITLE and action.handoff is not None
    expect(_current(page)).to_contain_text("The handoff checklist asks for the delivery window")
    expect(_kicker(page)).to_contain_text("2 of 17")  # the room stays on the same entry
    screenshot("reviews-projector-facilitate-recorded-1920")

    # The dialog opens empty again; Esc closes it without leaving the slide.
    page.keyboard.press("a")
    expect(dialog.get_by_label("The one small change")).to_have_value("")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(_kicker(page)).to_contain_text("2 of 17")


def test_the_read_only_link_and_other_people_get_no_facilitator_keys(
    page, live_server, login, member, crowded_review
):
    login(member)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{live_server.url}/reviews/{crowded_review.pk}/projector/#2")
    expect(_kicker(page)).to_contain_text("2 of 17")
    assert page.locator("#deck form").count() == 0 and page.locator("dialog").count() == 0
    page.keyboard.press("r")
    page.keyboard.press("a")
    assert not AgendaEntry.objects.exists()
