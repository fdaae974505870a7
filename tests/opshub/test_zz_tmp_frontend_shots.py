# TEMPORARY (frontend engineer's screenshot run) - deleted right after use.
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_shots(page, live_server, admin_user, login):
    login(admin_user)
    msgs = []
    page.on("console", lambda m: msgs.append(m.text))
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for w, h in ((1280, 900), (1920, 1080)):
            page.set_viewport_size({"width": w, "height": h})
            for name, url in (
                ("sg", "/styleguide/"),
                ("home", "/"),
                ("work", "/work/"),
                ("wf", "/workflows/"),
                ("nf", "/nope/"),
            ):
                page.goto(f"{live_server.url}{url}")
                page.wait_for_timeout(300)
                page.screenshot(
                    path=f"/tmp/sg/real-{name}-{scheme}-{w}.png", full_page=(name == "sg")
                )
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}/styleguide/")
    page.get_by_role("button", name="Dark theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.get_by_role("button", name="Light theme").is_visible()
    page.keyboard.press("Tab")
    page.screenshot(path="/tmp/sg/real-skiplink.png")
    open("/tmp/sg/console.log", "w").write("\n".join(msgs))
