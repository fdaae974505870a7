"""A lead, as a new user would: upload a ticketing export, read its real map, put people in
teams to see the collision zones, hide rare paths. Screenshots at 1366 and on a 1920
projector go to tests/screenshots/discovery-*.png (docs/discovery.md shows them)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

LOGS = Path(__file__).resolve().parents[4] / "shared" / "data" / "eventlogs"
LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1920, "height": 1080}
FRONT_DESK = ("Value 1", "Value 2", "Value 9", "Value 13")


@pytest.mark.skipif(not LOGS.exists(), reason=f"{LOGS} is not there")
def test_a_lead_uploads_an_export_and_reads_the_real_map(
    page, live_server, login, screenshot, lead
):
    page.set_viewport_size(LAPTOP)
    login(lead)
    page.goto(f"{live_server.url}/discovery/")
    expect(page.get_by_role("heading", name="Discover the real map")).to_be_visible()
    page.get_by_label("Event log").set_input_files(str(LOGS / "helpdesk.xes.gz"))
    screenshot("discovery-upload-1366")
    page.get_by_role("button", name="Discover the map").click()

    expect(page.get_by_role("heading", name="The real map of helpdesk.xes.gz")).to_be_visible()
    expect(page.locator(".page-header-meta")).to_contain_text("4580 cases · 21348 events")
    expect(page.locator(".map-nodes .dmap-node")).to_have_count(14)
    screenshot("discovery-map-1366")

    rows = page.locator("#teams-heading ~ form tbody tr")
    for index in range(rows.count()):
        row = rows.nth(index)
        person = row.locator("th").inner_text().strip()
        row.get_by_role("textbox").fill("Front desk" if person in FRONT_DESK else "Second line")
    page.get_by_role("button", name="Save teams").click()
    expect(page.get_by_text("Teams saved")).to_be_visible()
    zones = page.locator("#zones-heading ~ div table tbody tr")
    expect(zones).to_have_count(2)
    expect(zones.first).to_contain_text("Front desk → Second line")
    expect(page.locator(".dmap-edge.is-collision").first).to_be_attached()
    screenshot("discovery-zones-1366", full_page=True)

    before = page.locator(".dmap-edge").count()
    page.locator("#keep").fill("80")
    expect(page.locator("#keep-value")).to_have_text("80")
    assert page.locator(".dmap-edge").count() < before
    expect(page.locator(".discovery-keep")).to_contain_text("rare ones hidden")

    page.set_viewport_size(PROJECTOR)
    screenshot("discovery-map-1920", full_page=True)
