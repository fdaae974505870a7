"""A lead in Chromium reactivates a member who left: the page says what comes back and what
does not before the click. Screenshots at laptop and projector widths (tests/screenshots/)."""

import pytest
from playwright.sync_api import expect

from handoffs.people import services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_a_lead_reactivates_a_member_who_left_their_team(
    page, live_server, login, screenshot, admin_user, lead, member, width, height
):
    services.person_deactivate(person=member, by=admin_user, reassign_to=lead)
    page.set_viewport_size({"width": width, "height": height})
    login(lead)
    page.goto(f"{live_server.url}/people/{member.pk}/")
    section = page.get_by_role("region", name="Reactivate")
    expect(section).to_contain_text("They rejoin the teams they left when deactivated (Fulfilment)")
    expect(section).to_contain_text("stays with whoever took it: nothing moves back")
    section.scroll_into_view_if_needed()
    screenshot(f"person-reactivate-{width}")

    section.get_by_role("button", name="Reactivate").click()
    expect(page.get_by_text("an invitation to set a new password is on its way")).to_be_visible()
    expect(page.get_by_text("invited", exact=False).first).to_be_visible()
    expect(page.get_by_role("region", name="Reactivate")).to_have_count(0)
    screenshot(f"person-reactivated-{width}")
