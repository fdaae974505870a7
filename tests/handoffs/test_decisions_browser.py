"""In Chromium: a member asks for a red decision, the approver approves from the inbox,
the item resumes; a lead toggles the matrix."""

import pytest
from playwright.sync_api import expect

from handoffs.models import Decision, DecisionType, WorkItem

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_red_request_is_approved_from_the_inbox_and_the_item_resumes(
    page, live_server, login, screenshot, item, seller, teams, workflow
):
    DecisionType.objects.create(
        workflow=workflow,
        key="contract",
        name="Change contract terms",
        default_level="red",
        good_looks_like="Legal has read the clause; payment terms stay within 60 days.",
    )
    approver = teams["sales"].lead
    page.set_viewport_size({"width": 1366, "height": 900})
    login(seller)
    page.goto(f"{live_server.url}{item.get_absolute_url()}")
    panel = page.locator("#decision-panel")
    panel.get_by_text("Record a decision").click()
    # The form loads when opened: act once htmx has settled it (wired its own hx- attributes).
    expect(panel.get_by_label("Decision")).to_be_visible()
    expect(page.locator(".htmx-settling")).to_have_count(0)
    panel.get_by_label("Decision").select_option(label="Change contract terms · red")
    expect(panel.get_by_text("Legal has read the clause")).to_be_visible()
    expect(panel.get_by_text(f"the item pauses until {approver} approves")).to_be_visible()
    panel.get_by_label("What did you decide?").fill("Net 60 payment terms")
    panel.get_by_label("Why").fill("Their finance team only pays at 60 days.")
    screenshot("decisions-1-member-asks")
    panel.get_by_role("button", name="Ask for approval").click()
    expect(page.locator(".page-header .badge")).to_have_text("Awaiting decision")
    expect(page.locator("#decision-panel")).to_contain_text(f"Waiting for {approver} to decide")
    screenshot("decisions-2-item-paused", full_page=True)

    page.context.clear_cookies()
    login(approver)
    page.goto(f"{live_server.url}/work/inbox/")
    row = page.locator("#inbox-decisions tbody tr").first
    expect(row).to_contain_text("Net 60 payment terms")
    screenshot("decisions-3-approver-inbox", full_page=True)
    row.get_by_label(f"Comment for {seller}").fill("Fine for this client.")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator("#inbox-decisions tbody tr").first).to_contain_text("Approved")
    screenshot("decisions-4-approved")

    item.refresh_from_db()
    assert item.state == WorkItem.State.IN_PROGRESS
    assert Decision.objects.get().status == Decision.Status.APPROVED
    page.goto(f"{live_server.url}{item.get_absolute_url()}")
    expect(page.locator(".page-header .badge")).to_have_text("In progress")
    expect(page.locator("#decision-panel")).to_contain_text("Approved by")
    screenshot("decisions-5-item-resumed", full_page=True)

    page.context.clear_cookies()
    login(seller)
    expect(page.locator(".nav-user .count-badge")).to_contain_text("1")
    page.goto(f"{live_server.url}/notifications/")
    note = page.locator(".notification").first
    expect(note).to_contain_text(f"{approver} approved your request")
    screenshot("decisions-8-requester-notified")
    note.get_by_role("button", name="Mark read").click()
    expect(page.locator(".notification.is-unread")).to_have_count(0)


def test_a_lead_toggles_the_matrix_and_prints_it(
    page, live_server, login, screenshot, workflow, teams
):
    DecisionType.objects.create(
        workflow=workflow,
        key="discount",
        name="Discount up to 10%",
        default_level="yellow",
        good_looks_like="Margin stays above 25% and the reason is on the deal.",
    )
    page.set_viewport_size({"width": 1920, "height": 1080})
    login(teams["sales"].lead)
    page.goto(f"{live_server.url}/workflows/{workflow.pk}/decisions/")
    toggle = page.get_by_role("button", name="Discount up to 10%, members")
    expect(toggle).to_contain_text("Yellow")
    toggle.click()
    expect(page.get_by_role("button", name="Discount up to 10%, members")).to_contain_text("Red")
    expect(page.locator("#matrix-version")).to_have_text("Matrix v1")
    expect(page.locator("#matrix-changes")).to_contain_text(
        "Discount up to 10%: members yellow → red"
    )
    screenshot("decisions-6-matrix", full_page=True)
    page.goto(f"{live_server.url}/workflows/{workflow.pk}/decisions/print/")
    page.emulate_media(media="print")
    screenshot("decisions-7-matrix-print", full_page=True)
