"""A lead in Chromium sets their team's working calendar and adds a chat channel, at laptop
and projector widths. Screenshots go to tests/screenshots/."""

import datetime

import pytest
from playwright.sync_api import expect

from handoffs.models import NotificationChannel, TeamCalendar

SIZES = [(1366, 768), (1920, 1080)]


def _next_weekday(days_ahead):
    day = datetime.date.today() + datetime.timedelta(days=days_ahead)
    while day.weekday() > 4:
        day += datetime.timedelta(days=1)
    return day


@pytest.mark.parametrize("width,height", SIZES)
def test_a_lead_sets_the_teams_calendar_from_the_team_page(
    page, live_server, login, screenshot, lead, teams, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    login(lead)
    page.goto(f"{live_server.url}/teams/{teams['fulfilment'].pk}/")
    page.get_by_role("link", name="Working calendar").click()
    expect(page.get_by_text("No calendar yet")).to_be_visible()

    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_label("Public holidays of").fill("DE")
    page.get_by_label("State or region").fill("ZZ")
    page.get_by_role("button", name="Save calendar").click()
    expect(page.locator("#id_subdivision_error")).to_contain_text("use one of: BB, BE, BW, BY")
    assert not TeamCalendar.objects.exists()

    page.get_by_label("State or region").fill("BY")
    page.get_by_role("button", name="Save calendar").click()
    expect(page.get_by_text("Saved Fulfilment's calendar.")).to_be_visible()
    expect(page.get_by_text("public holidays of DE-BY")).to_be_visible()

    closed = _next_weekday(20)
    page.get_by_label("Date").fill(closed.isoformat())
    page.get_by_label("Reason").fill("Inventory day")
    page.get_by_role("button", name="Add closed day").click()
    expect(page.locator(".calendar-upcoming")).to_contain_text("Inventory day")
    calendar = TeamCalendar.objects.get(team=teams["fulfilment"])
    assert (calendar.country, calendar.subdivision) == ("DE", "BY")
    assert list(calendar.closed_days.values_list("date", flat=True)) == [closed]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.evaluate("window.scrollTo(0, 0)")  # the sticky nav stays at the top of the shot
    screenshot(f"team-calendar-{width}", full_page=True)


@pytest.mark.parametrize("width,height", SIZES)
def test_a_lead_adds_a_team_channel_and_sends_a_test(
    page, live_server, login, screenshot, lead, teams, chat_receiver, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    login(lead)
    page.goto(f"{live_server.url}/teams/{teams['fulfilment'].pk}/")
    page.get_by_role("link", name="Chat channels").click()
    expect(page.get_by_text("No channels yet")).to_be_visible()

    page.get_by_label("Name").fill("#fulfilment")
    page.get_by_label("Apprise URL").fill("ftp://example.com/")
    page.get_by_label("Handoffs waiting for the team to accept").check()
    page.get_by_role("button", name="Save channel").click()
    expect(page.locator("#id_url_error")).to_contain_text("Use an Apprise URL")

    url = chat_receiver.url("fulfilment-token-x1y2")
    page.get_by_label("Apprise URL").fill(url)
    page.get_by_label("Red decisions waiting for an answer").check()
    page.get_by_role("button", name="Save channel").click()
    expect(page.get_by_text("this once")).to_be_visible()
    expect(page.locator(".secret code")).to_have_text(url)

    page.get_by_role("button", name="Send test to #fulfilment").click()
    expect(page.locator(".test-result")).to_contain_text("Posted")
    assert [body["title"] for body in chat_receiver.messages("fulfilment-token-x1y2")] == [
        "Test from opshub: this channel reaches you"
    ]
    channel = NotificationChannel.objects.get()
    assert channel.events == ["decision_request", "handoff_waiting"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(f"team-channels-{width}", full_page=True)

    page.reload()  # the URL is shown once: afterwards only its masked form
    expect(page.get_by_role("table")).to_contain_text(channel.masked_url)
    assert "fulfilment-token" not in page.content()
