"""The top navigation fits one line on a laptop (1366×768) for an admin, the role with the
most entries, and stays on one line on a projector (1920×1080): by layout, never by hiding
an entry."""

import pytest

from opshub.accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_ENTRIES = [
    "My work", "Scoreboard", "Work", "Inbox", "Stalls", "Import/Export", "Workflows", "Map",
    "Reviews", "Teams", "Integrations", "Admin",
]  # fmt: skip


@pytest.fixture
def long_named_admin(make_user):
    # A long address: the signed-in email is the widest thing in the bar.
    return make_user(
        "alexandra.konstantinidou@operations.example.com",
        User.Role.ADMIN,
        is_staff=True,
        is_superuser=True,
    )


def _on_one_line(page, selector):
    """Whether the visible elements matching `selector` share one line: every one of them
    starts above the point where the highest-ending one ends."""
    return page.evaluate(
        """sel => {
            const boxes = [...document.querySelectorAll(sel)]
                .filter(el => el.offsetParent !== null)
                .map(el => el.getBoundingClientRect());
            return Math.max(...boxes.map(b => b.top)) < Math.min(...boxes.map(b => b.bottom));
        }""",
        selector,
    )


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_an_admins_navigation_fits_one_line(
    page, live_server, login, screenshot, long_named_admin, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    login(long_named_admin)
    page.goto(f"{live_server.url}/work/")
    nav = page.get_by_role("navigation", name="Main")
    for name in ADMIN_ENTRIES:
        assert nav.get_by_role("link", name=name, exact=name != "Inbox").is_visible(), name
    assert page.get_by_role("link", name="Notifications").is_visible()
    screenshot(f"nav-admin-{width}")
    assert _on_one_line(page, ".brand, .nav-main li, .nav-user > li")
    assert page.locator(".site-header").bounding_box()["height"] < 60
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing sideways

    # Settings (the signed-in email), the theme and Log out are one click away.
    page.get_by_text("Account", exact=True).click()
    settings = page.get_by_role("link", name=f"{long_named_admin.email} (settings)")
    assert settings.is_visible()
    assert page.get_by_role("button", name="Log out").is_visible()
    screenshot(f"nav-admin-{width}-account")
    settings.click()
    page.wait_for_url("**/account/settings/")
    page.get_by_text("Account", exact=True).click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")
