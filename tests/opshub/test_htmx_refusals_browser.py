"""In Chromium: every htmx form submitted empty (or invalid) shows its per-field messages in
place, without a page reload; a request that fails for another reason shows one error banner.

base.html's htmx config swaps 400 and 422 answers like 200 (they carry the form again with
its messages); opshub.js reports everything else (README, Development, "Refused and failed
htmx requests").
"""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.decisions import services as decision_services
from handoffs.models import DecisionType, StallEpisode, WorkItem
from handoffs.work import transitions

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def open_page(page, login, live_server):
    """Signs in, opens a path at laptop size and marks the document, so a reload shows."""

    def open_as(user, path):
        page.set_viewport_size(LAPTOP)
        login(user)
        page.goto(f"{live_server.url}{path}")
        page.evaluate("window.sameDocument = true")
        return page

    return open_as


def assert_not_reloaded(page):
    assert page.evaluate("window.sameDocument === true"), "the page was reloaded"


def submitted_item(item, seller):
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    return item


# --- The work item page ------------------------------------------------------------------------


def test_an_empty_handoff_names_the_missing_checklist_and_fields_in_the_gate(
    item, seller, open_page, screenshot
):
    page = open_page(seller, item.get_absolute_url())
    page.get_by_role("link", name="Hand off to Ship").click()
    gate = page.locator("form.gate")
    gate.get_by_role("button", name="Hand off to Ship").click()
    expect(gate.get_by_text("Nothing was handed off: the protocol still needs")).to_be_visible()
    expect(gate.get_by_text("Required: tick it once it is true.")).to_be_visible()
    expect(gate.locator(".field.has-error").filter(has_text="PO number")).to_be_visible()
    expect(gate.locator(".error-summary")).to_be_focused()
    assert_not_reloaded(page)
    screenshot("refusals-handoff-gate")
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS


@pytest.mark.parametrize(
    ("link", "button", "message"),
    [
        ("Block", "Block", "Name the missing input: pick one or describe it."),
        ("Cancel item", "Cancel the item", "Say why the item is cancelled."),
    ],
)
def test_an_empty_item_panel_says_what_it_needs_beside_the_field(
    item, seller, open_page, link, button, message
):
    page = open_page(seller, item.get_absolute_url())
    page.locator(".page-header-actions").get_by_role("link", name=link).click()
    panel = page.locator("form.inline-panel")
    panel.get_by_role("button", name=button, exact=True).click()
    expect(panel.locator(".field-errors").get_by_text(message)).to_be_visible()
    assert_not_reloaded(page)
    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS


def test_editing_details_with_an_empty_title_keeps_the_title_and_says_why(item, seller, open_page):
    page = open_page(seller, item.get_absolute_url())
    page.get_by_role("link", name="Edit details").click()
    panel = page.locator("form.item-edit")
    panel.get_by_label("Title").fill("")
    panel.get_by_role("button", name="Save details").click()
    expect(panel.locator(".field.has-error").filter(has_text="Title")).to_be_visible()
    expect(panel.locator(".field.has-error .field-error").first).to_be_visible()
    assert_not_reloaded(page)
    item.refresh_from_db()
    assert item.title == "ACME order #1"


def test_an_empty_bounce_asks_for_the_missing_input(item, seller, lead, open_page, screenshot):
    submitted_item(item, seller)
    page = open_page(lead, item.get_absolute_url())
    page.locator(".page-header-actions").get_by_role("link", name="Bounce").click()
    panel = page.locator("form.inline-panel")
    panel.get_by_role("button", name="Bounce").click()
    expect(
        panel.locator(".field-errors").get_by_text(
            "Name the missing input: pick one or describe it."
        )
    ).to_be_visible()
    assert_not_reloaded(page)
    screenshot("refusals-bounce")
    item.refresh_from_db()
    assert item.state == WorkItem.State.WAITING_ACCEPTANCE


def test_an_empty_unblock_asks_for_the_cause(item, seller, open_page):
    transitions.item_block(item=item, by=seller, missing_input="Signed contract")
    page = open_page(seller, item.get_absolute_url())
    page.get_by_role("link", name="Input supplied: unblock").click()
    panel = page.locator("form.inline-panel")
    panel.get_by_role("button", name="Unblock and resume").click()
    expect(
        panel.get_by_text("Pick the cause: person, process, tool or expectation.").last
    ).to_be_visible()
    assert_not_reloaded(page)
    item.refresh_from_db()
    assert item.state == WorkItem.State.BLOCKED


def test_an_empty_comment_says_write_something_first(item, seller, open_page):
    page = open_page(seller, item.get_absolute_url())
    form = page.locator("form.comment-form")
    form.get_by_role("button", name="Add comment").click()
    expect(page.locator("form.comment-form").get_by_text("Write something first.")).to_be_visible()
    assert_not_reloaded(page)


# --- Decisions ---------------------------------------------------------------------------------


def test_an_empty_decision_shows_its_messages_in_the_decision_panel(
    item, seller, workflow, open_page, screenshot
):
    DecisionType.objects.create(
        workflow=workflow, key="discount", name="Give a discount", default_level="green"
    )
    page = open_page(seller, item.get_absolute_url())
    panel = page.locator("#decision-panel")
    panel.get_by_text("Record a decision").click()
    # The form loads when opened: act once htmx has settled it (wired its own hx- attributes).
    expect(panel.get_by_label("Decision")).to_be_visible()
    expect(page.locator(".htmx-settling")).to_have_count(0)
    panel.get_by_label("Decision").select_option(label="Give a discount · green")
    panel.get_by_role("button", name="Record decision").click()
    summary = page.locator("#decision-panel .field.has-error").filter(
        has_text="What did you decide?"
    )
    expect(summary.locator(".field-error")).to_be_visible()
    assert_not_reloaded(page)
    panel.scroll_into_view_if_needed()
    screenshot("refusals-decision")
    assert not item.decisions.exists()


@pytest.fixture
def denied_without_comment(item, seller, teams, workflow, open_page):
    """The approver of a red request presses Deny on the item page with no comment."""
    red = DecisionType.objects.create(
        workflow=workflow, key="terms", name="Change contract terms", default_level="red"
    )
    decision_services.decision_record(item=item, by=seller, decision_type=red, summary="Net 60")
    page = open_page(teams["sales"].lead, item.get_absolute_url())
    page.locator(".decision-pending").get_by_role("button", name="Deny").click()
    return page


def test_denying_a_red_request_without_a_comment_says_why_on_the_item(item, denied_without_comment):
    page = denied_without_comment
    expect(
        page.locator("#item").get_by_text("Say why it is denied, so the requester can act on it.")
    ).to_be_visible()
    assert_not_reloaded(page)
    assert item.decisions.get().status == "pending"


def test_denying_without_a_comment_marks_the_comment_field(denied_without_comment):
    page = denied_without_comment
    expect(page.locator(".decision-pending .field.has-error")).to_be_visible(timeout=3000)


# --- Stalls ------------------------------------------------------------------------------------


def test_snoozing_with_an_empty_date_says_pick_a_time(item, seller, lead, open_page, screenshot):
    from handoffs.stalls.detection import run_scan

    submitted_item(item, seller)
    WorkItem.objects.filter(pk=item.pk).update(
        state_changed_at=timezone.now() - datetime.timedelta(hours=30)
    )
    run_scan()
    episode = StallEpisode.objects.get(item=item)
    page = open_page(lead, f"/stalls/{episode.pk}/")
    form = page.locator("#snooze")
    form.get_by_label("Snooze until").fill("")
    form.get_by_role("button", name="Snooze").click()
    until = page.locator("#snooze .field.has-error").filter(has_text="Snooze until")
    expect(until.get_by_text("This field is required.")).to_be_visible()
    expect(page.locator("#snooze .error-summary")).to_be_focused()
    assert_not_reloaded(page)
    screenshot("refusals-stall-snooze")
    episode.refresh_from_db()
    assert episode.snoozed_until is None


# --- Workflows and protocols -------------------------------------------------------------------


def test_an_empty_stage_is_refused_beside_its_fields(workflow, lead, open_page):
    page = open_page(lead, workflow.get_absolute_url())
    form = page.locator("#stages form.inline-panel")
    form.get_by_role("button", name="Add stage").click()
    expect(
        page.locator("#stages form.inline-panel .field.has-error").filter(has_text="Name")
    ).to_be_visible()
    assert_not_reloaded(page)
    page.locator("#stages").get_by_role("link", name="Edit Ship").click()
    editing = page.locator("#stages .stage-row form")
    editing.get_by_label("Name").fill("")
    editing.get_by_role("button", name="Save stage").click()
    expect(
        page.locator("#stages .stage-row .field.has-error").filter(has_text="Name")
    ).to_be_visible()
    assert_not_reloaded(page)
    assert workflow.stages.count() == 2


def test_the_protocol_editor_refuses_empty_entries_in_place(workflow, lead, open_page, screenshot):
    from handoffs.workflows.services import protocol_draft

    handoff = workflow.handoffs.get()
    protocol_draft(handoff=handoff, by=lead)
    page = open_page(lead, f"/protocols/{handoff.pk}/draft/")
    checklist = page.locator("#checklist form.inline-panel")
    checklist.get_by_role("button", name="Add item").click()
    expect(
        page.locator("#checklist form.inline-panel .field.has-error").filter(
            has_text="What must be true"
        )
    ).to_be_visible()
    fields = page.locator("#new-field")
    fields.get_by_role("button", name="Add field").click()
    expect(page.locator("#new-field .field.has-error").first).to_be_visible()
    settings = page.locator("#settings form")
    settings.get_by_label("Acceptance target").fill("soon")
    settings.get_by_role("button", name="Save these settings").click()
    expect(
        page.locator("#settings .field.has-error").filter(has_text="Acceptance target")
    ).to_be_visible()
    assert_not_reloaded(page)
    screenshot("refusals-protocol-settings")
    assert len(handoff.draft().checklist) == 2


# --- Reviews -----------------------------------------------------------------------------------


@pytest.fixture
def review(workflow, lead):
    from handoffs.models import Cause
    from reviews.models import Review, week_of
    from reviews.services import breakage_log

    breakage_log(
        by=lead, title="Order arrived without a PO number", workflow=workflow, kind=Cause.PROCESS
    )
    return Review.objects.create(week=week_of(), facilitator=lead)


def test_an_empty_action_item_is_refused_in_its_agenda_entry(review, lead, open_page, screenshot):
    page = open_page(lead, review.get_absolute_url())
    entry = page.locator(".agenda-entry").filter(has_text="Order arrived without a PO number")
    entry.get_by_text("Record the one small change").click()
    entry.get_by_role("button", name="Record action item").click()
    entry = page.locator(".agenda-entry").filter(has_text="Order arrived without a PO number")
    expect(
        entry.locator(".field.has-error").filter(has_text="The one small change")
    ).to_be_visible()
    expect(entry.locator(".field.has-error").filter(has_text="Owner")).to_be_visible()
    expect(entry.locator(".error-summary")).to_be_focused()
    assert_not_reloaded(page)
    screenshot("refusals-action-item")
    assert not review.action_items.exists()


def test_an_empty_breakage_is_refused_beside_its_fields(lead, workflow, page, login, live_server):
    """A plain form, not htmx: the browser shows the 400 page it answers."""
    page.set_viewport_size(LAPTOP)
    login(lead)
    page.goto(f"{live_server.url}/reviews/breakages/new/")
    page.get_by_role("button", name="Log breakage").click()
    expect(page.locator(".field.has-error").filter(has_text="What broke?")).to_be_visible()


# The scoreboard's filter form (a range that ends before it starts) is covered with its
# own behaviour in tests/scoreboard/test_browser.py and test_dashboard.py.


# --- Failures that are not a refused form ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "banner"),
    [
        (500, "<h1>Server Error (500)</h1>", "Something went wrong on the server (error 500)"),
        (403, "<h1>Forbidden</h1>", "That is not allowed"),
        (400, "Unknown role.", "The server could not read that request"),
        (
            400,
            "<!doctype html><html><head><title>Bad Request (400)</title></head></html>",
            "The server could not read that request",
        ),
    ],
)
def test_a_failed_request_shows_an_error_banner_and_leaves_the_form(
    item, seller, open_page, status, body, banner, screenshot
):
    page = open_page(seller, item.get_absolute_url())
    page.route(
        "**/comment/",
        lambda route: route.fulfill(status=status, body=body, content_type="text/html"),
    )
    page.locator("form.comment-form").get_by_label("Comment").fill("Called the client.")
    page.locator("form.comment-form").get_by_role("button", name="Add comment").click()
    flash = page.locator(".flash-request")
    expect(flash).to_be_visible()
    expect(flash).to_contain_text(banner)
    expect(flash).to_have_attribute("role", "alert")
    expect(page.locator("form.comment-form").get_by_label("Comment")).to_have_value(
        "Called the client."
    )
    assert_not_reloaded(page)
    if status == 500:
        screenshot("refusals-server-error-banner")
    flash.get_by_role("button", name="Dismiss message").click()
    expect(flash).to_have_count(0)


def test_an_unreachable_server_shows_one_banner_however_often_it_is_tried(item, seller, open_page):
    page = open_page(seller, item.get_absolute_url())
    page.route("**/comment/", lambda route: route.abort())
    form = page.locator("form.comment-form")
    form.get_by_label("Comment").fill("Called the client.")
    for _ in range(2):
        form.get_by_role("button", name="Add comment").click()
        expect(page.locator(".flash-request")).to_contain_text("could not be reached")
    expect(page.locator(".flash-request")).to_have_count(1)
    assert_not_reloaded(page)
