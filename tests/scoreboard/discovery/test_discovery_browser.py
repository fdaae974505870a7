"""A lead, as a new user would: upload a ticketing export, read its real map, put people in
teams to see the collision zones, hide rare paths. Screenshots at 1366 and on a 1920
projector go to tests/screenshots/discovery-*.png, and into docs/img/ (docs/discovery.md
shows them) with --update-docs-screenshots."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from handoffs.models import ProtocolVersion, Team, Workflow
from scoreboard.discovery.readers import read_event_log

LOGS = Path(__file__).resolve().parents[4] / "shared" / "data" / "eventlogs"
LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1920, "height": 1080}
FRONT_DESK = ("Value 1", "Value 2", "Value 9", "Value 13")


@pytest.fixture
def helpdesk_teams(transactional_db):
    return [Team.objects.create(name=name) for name in ("Front desk", "Second line")]


@pytest.mark.skipif(not LOGS.exists(), reason=f"{LOGS} is not there")
def test_a_lead_uploads_an_export_and_reads_the_real_map(
    page, live_server, login, docs_screenshot, lead, helpdesk_teams
):
    page.set_viewport_size(LAPTOP)
    login(lead)
    page.goto(f"{live_server.url}/")  # a lead lands on My work; the scoreboard links discovery
    page.get_by_role("link", name="Discover the real map").click()
    expect(page.get_by_role("heading", name="Discover the real map")).to_be_visible()
    page.get_by_label("Event log").set_input_files(str(LOGS / "helpdesk.xes.gz"))
    docs_screenshot("discovery-upload-1366")
    page.get_by_role("button", name="Discover the map").click()

    expect(page.get_by_role("heading", name="The real map of helpdesk.xes.gz")).to_be_visible()
    expect(page.locator(".page-header-meta")).to_contain_text("4580 cases · 21348 events")
    expect(page.locator(".map-nodes .dmap-node")).to_have_count(14)
    docs_screenshot("discovery-map-1366")

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
    docs_screenshot("discovery-zones-1366", full_page=True)

    before = page.locator(".dmap-edge").count()
    page.locator("#keep").fill("80")
    expect(page.locator("#keep-value")).to_have_text("80")
    assert page.locator(".dmap-edge").count() < before
    expect(page.locator(".discovery-keep")).to_contain_text("rare ones hidden")

    page.set_viewport_size(PROJECTOR)
    page.evaluate("document.querySelector('.discovery-keep').scrollIntoView()")
    docs_screenshot("discovery-map-1920")

    # The main path is ticked and each stage's team guessed from the names just given.
    page.set_viewport_size(LAPTOP)
    create = page.locator("#create-workflow")
    create.scroll_into_view_if_needed()
    expect(create.get_by_role("checkbox", name="Closed")).to_be_checked()
    expect(create.get_by_role("checkbox", name="Wait")).not_to_be_checked()
    expect(create.get_by_label("Team owning “Closed”")).to_have_value(str(helpdesk_teams[1].pk))
    create.get_by_label("Workflow name").fill("Helpdesk tickets")
    docs_screenshot("discovery-create-1366")
    create.get_by_role("button", name="Create this workflow").click()
    expect(page.get_by_text("drafted with its history as the baseline")).to_be_visible()
    workflow = Workflow.objects.get(name="Helpdesk tickets")
    assert [s.name for s in workflow.ordered_stages()] == [
        "Assign seriousness",
        "Take in charge ticket",
        "Resolve ticket",
        "Closed",
    ]
    [draft] = ProtocolVersion.objects.filter(handoff__workflow=workflow)
    assert "customer" in [field["key"] for field in draft.fields]
    # Cases that never reach a chosen stage have no history to import (4 of 4580 here).
    stages = {s.name for s in workflow.ordered_stages()}
    reaching = {
        e.case for e in read_event_log(LOGS / "helpdesk.xes.gz").events if e.activity in stages
    }
    assert workflow.items.count() == len(reaching) == 4576
    docs_screenshot("discovery-workflow-1366")
