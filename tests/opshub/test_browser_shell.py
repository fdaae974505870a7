import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_logs_in_and_sees_the_app_shell(page, live_server, member, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/work/")
    assert "/accounts/login/" in page.url
    screenshot("shell-login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/work/")
    nav = page.get_by_role("navigation", name="Main")
    for name in ["Scoreboard", "Work", "Workflows", "Map", "Reviews"]:
        assert nav.get_by_role("link", name=name, exact=True).is_visible()
    page.goto(f"{live_server.url}/")
    screenshot("shell-home-laptop")
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot("shell-home-projector")


def test_csp_header_forbids_inline_scripts(client, member):
    client.force_login(member)
    policy = client.get("/work/")["Content-Security-Policy"]
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src
