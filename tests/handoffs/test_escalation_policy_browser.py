"""A lead sets a workflow's escalation policy on its page: a refused row names its field,
then the levels save in place. Screenshots at laptop and projector sizes."""

import pytest
from playwright.sync_api import expect

from opshub.accounts.models import User

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("size", "viewport"),
    [("laptop", {"width": 1366, "height": 768}), ("projector", {"width": 1920, "height": 1080})],
)
def test_a_lead_sets_the_escalation_policy(
    page, live_server, login, screenshot, lead, workflow, make_user, size, viewport
):
    make_user("head@example.com", User.Role.LEAD, full_name="Head of Ops")
    page.set_viewport_size(viewport)
    login(lead)
    page.goto(f"{live_server.url}{workflow.get_absolute_url()}#escalation")
    section = page.locator("#escalation")
    expect(section).to_contain_text("Default policy")
    first = section.locator("fieldset").nth(0)
    second = section.locator("fieldset").nth(1)
    first.get_by_label("Who").select_option("team_lead")
    first.get_by_label("After (working hours)").fill("2")
    second.get_by_label("Who").select_option("person")
    second.get_by_label("After (working hours)").fill("4")
    section.get_by_role("button", name="Save escalation policy").click()
    expect(section.locator(".field-error")).to_have_text(["Pick the person this level tells."])
    section.scroll_into_view_if_needed()
    screenshot(f"escalation-policy-refused-{size}")
    section.locator("fieldset").nth(1).get_by_label("Named person").select_option(
        label="Head of Ops"
    )
    section.locator("fieldset").nth(1).get_by_label("Repeat every (working hours)").fill("8")
    section.get_by_role("button", name="Save escalation policy").click()
    expect(page.locator("#escalation")).to_contain_text("Escalation policy saved")
    expect(page.locator("#escalation ol")).to_contain_text("Head of Ops")
    page.locator("#escalation").scroll_into_view_if_needed()
    screenshot(f"escalation-policy-saved-{size}")
    assert [lv.kind for lv in workflow.escalation_levels.all()] == ["team_lead", "person"]
