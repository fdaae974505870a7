"""A lead in Chromium: opens their team from the nav, adds a colleague, invites a hire, and
the team page holds at laptop and projector widths. Screenshots go to tests/screenshots/."""

import pytest
from playwright.sync_api import expect

from handoffs.models import Team
from opshub.accounts.models import User


@pytest.fixture
def colleague(make_user, transactional_db):
    return make_user("dana.kowalski@example.com", full_name="Dana Kowalski")


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_a_lead_adds_a_colleague_and_invites_a_hire_from_the_team_page(
    page, live_server, login, screenshot, lead, teams, colleague, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    login(lead)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Teams").click()
    page.get_by_role("link", name="Fulfilment").click()
    expect(page.get_by_role("heading", name="Fulfilment", level=1)).to_be_visible()

    page.get_by_label("Person").select_option(label="Dana Kowalski")
    page.get_by_role("button", name="Add to Fulfilment").click()
    expect(page.get_by_text("Added Dana Kowalski to Fulfilment.")).to_be_visible()

    invite = page.locator("form", has=page.get_by_role("button", name="Send invitation"))
    invite.get_by_label("Email").fill(f"hire.{width}@example.com")
    invite.get_by_label("Name").fill("Noor Haddad")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("the link in the email lasts 7 days")).to_be_visible()
    members = page.get_by_role("table")
    expect(members).to_contain_text("Noor Haddad")
    expect(members.get_by_role("row", name="Noor Haddad")).to_contain_text("Invited")

    team = Team.objects.get(name="Fulfilment")
    assert team.members.filter(pk=colleague.pk).exists()
    assert not User.objects.get(email=f"hire.{width}@example.com").is_active
    # Nothing wider than the window: no sideways scrolling at this width.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(f"team-page-{width}", full_page=True)

    # The member's page: their role, and deactivation that says what happens to their work.
    members.get_by_role("link", name="Member", exact=True).click()
    expect(page.get_by_role("heading", name="Deactivate")).to_be_visible()
    expect(page.get_by_label("Give their open work to")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(f"person-page-{width}", full_page=True)
