"""The working-time headline in Chromium: the lead picks the clock, the headline names it,
the other clock stands beside it and both explain the rule on focus."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.models import TeamCalendar
from scoreboard.services import snapshot_rebuild
from tests.scoreboard.helpers import simple


@pytest.fixture
def weekday_workflow(workflow, teams):
    """Fulfilment (the last stage) works Mon–Fri 09–17 in Berlin; twelve recent items."""
    TeamCalendar.objects.create(team=teams["fulfilment"], time_zone="Europe/Berlin")
    now = timezone.now()
    for n in range(12):
        simple(workflow, 20 + 9 * n, start=now - datetime.timedelta(days=n + 4), title=f"W-{n}")
    snapshot_rebuild()
    return workflow


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_a_lead_switches_the_headline_to_working_time(
    page, live_server, login, screenshot, lead, weekday_workflow, size
):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(lead)
    page.goto(f"{live_server.url}/?workflow={weekday_workflow.pk}")
    headline = page.locator(".scoreboard-headline")
    expect(headline.locator(".headline-clock")).to_contain_text("calendar time")
    expect(headline.locator(".big-number-other")).to_contain_text(
        "Working time: Mon–Fri 09–17 Europe/Berlin"
    )

    page.locator(".scoreboard-target summary").click()
    page.select_option("#id_clock", "working")
    page.get_by_role("button", name="Save target").click()
    expect(headline.locator(".headline-clock")).to_contain_text(
        "working time: Mon–Fri 09–17 Europe/Berlin"
    )
    expect(headline.locator(".big-number-other")).to_contain_text("Calendar time")

    clock = headline.locator(".headline-clock .term")
    clock.focus()
    tip = clock.locator(".term-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("delivering team")
    screenshot(f"scoreboard-working-time-{size[0]}")
