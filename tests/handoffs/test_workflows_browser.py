"""A lead, as a new user would: map three stages over three teams, write and publish both
protocols, print one, and find it on the map. Screenshots go to tests/screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from handoffs.models import Handoff, Team, Workflow
from opshub.accounts.models import User

FIELDS_LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def finance(make_user, transactional_db):
    lead = make_user("finance.lead@example.com", User.Role.LEAD)
    team = Team.objects.create(name="Finance", lead=lead)
    team.members.add(lead)
    return team


def _add_stage(page, name, team, target):
    form = page.locator("form", has=page.get_by_role("button", name="Add stage"))
    form.get_by_label("Name").fill(name)
    form.get_by_label("Team").select_option(label=team)
    form.get_by_label("Target time").fill(target)
    form.get_by_role("button", name="Add stage").click()
    expect(page.get_by_text(f"Stage “{name}” added.")).to_be_visible()


def _write_protocol(page, check_text, field_label, field_type, shot=None):
    page.get_by_role("button", name="Write the protocol").click()
    expect(page.get_by_role("heading", name=re.compile("^Draft v1"))).to_be_visible()
    # Nothing required yet: the side panel says why it cannot be published.
    expect(page.locator("#publish")).to_contain_text("at least one required checklist item")
    page.locator("#id_item-text").fill(check_text)
    page.get_by_role("button", name="Add item").click()
    expect(page.locator("#checklist")).to_contain_text("Checklist saved.")
    new_field = page.locator("#new-field")
    new_field.get_by_label("Label").fill(field_label)
    new_field.get_by_label("Type").select_option(field_type)
    if field_type == "choice":
        # Validation as you type: a choice field without choices is flagged before saving.
        expect(new_field.locator(".live-check")).to_contain_text("needs at least one choice")
        new_field.get_by_label("Choices").fill("Standard\nExpress")
    expect(new_field.locator(".live-check")).to_contain_text("Looks good")
    new_field.get_by_role("button", name="Add field").click()
    expect(page.locator("#fields")).to_contain_text("Fields saved.")
    expect(page.locator("#publish")).to_contain_text("Ready.")
    if shot:
        shot()
    page.get_by_role("button", name="Publish v1").click()
    expect(page.get_by_text("Version 1 is published")).to_be_visible()


def test_a_lead_maps_a_workflow_writes_protocols_prints_and_sees_the_map(
    page, live_server, login, screenshot, lead, teams, finance
):
    page.set_viewport_size(FIELDS_LAPTOP)
    login(lead)
    page.get_by_role("link", name="Workflows").first.click()
    page.get_by_role("link", name="New workflow").click()
    page.get_by_label("Name").fill("Order to cash")
    page.get_by_label("Description").fill("From a signed deal to goods shipped and paid.")
    page.get_by_role("button", name="Create and add stages").click()
    expect(page.get_by_text("Now add its stages, in order.")).to_be_visible()

    _add_stage(page, "Deal signed", "Sales", "1d")
    _add_stage(page, "Invoice", "Finance", "4h")
    _add_stage(page, "Ship", "Fulfilment", "2d")
    expect(page.locator(".handoff-connector")).to_have_count(2)
    expect(page.get_by_text("Collision zone")).to_have_count(2)
    screenshot("workflow-editor-1280")

    workflow = Workflow.objects.get(name="Order to cash")
    assert [s.team.name for s in workflow.stages.order_by("position")] == [
        "Sales",
        "Finance",
        "Fulfilment",
    ]

    page.get_by_role("link", name="Write its protocol").first.click()
    _write_protocol(
        page,
        "Signed contract attached",
        "Customer PO number",
        "text",
        shot=lambda: screenshot("protocol-editor-1280", full_page=True),
    )
    screenshot("protocol-published-1280")

    page.get_by_role("link", name="Order to cash").click()
    page.get_by_role("link", name="Write its protocol").click()
    _write_protocol(page, "Invoice sent to the customer", "Shipping speed", "choice")

    handoffs = Handoff.objects.filter(workflow=workflow)
    assert all(h.published().number == 1 for h in handoffs)

    page.get_by_role("link", name="Print (one page)").click()
    expect(page.get_by_role("heading", name="Recovery path")).to_be_visible()
    screenshot("protocol-print-1280", full_page=True)
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", page.pdf(format="A4"))) == 1

    page.set_viewport_size({"width": 1920, "height": 1080})
    page.get_by_role("link", name="Map").click()
    expect(page.locator(".map-node")).to_have_count(Team.objects.count())
    expect(page.locator("a.map-edge")).to_have_count(2)
    screenshot("map-1920x1080")
    page.locator("a.map-edge").first.click()
    expect(page.get_by_role("heading", name="Deal signed → Invoice")).to_be_visible()
