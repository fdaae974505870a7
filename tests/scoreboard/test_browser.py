"""The dashboard in Chromium: charts drawn, filters swap the board without a reload."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from handoffs.work.services import work_item_create
from scoreboard.services import quarter_target_set, snapshot_rebuild
from tests.scoreboard.helpers import bounced_and_blocked, simple

CHARTS = (
    "() => [...document.querySelectorAll('canvas[data-scoreboard-chart]')]"
    ".every(c => Chart.getChart(c))"
)


@pytest.fixture
def busy_workflow(workflow, lead, seller):
    now = timezone.now()
    for n in range(40):
        simple(
            workflow,
            20 + (n * 37) % 200,
            start=now - datetime.timedelta(days=n * 2 + 1),
            title=f"ORD-{1000 + n}",
        )
    for n in range(4):
        bounced_and_blocked(
            workflow, start=now - datetime.timedelta(days=n * 9 + 3), title=f"ORD-B{n}"
        )
    for n in range(6):
        item = work_item_create(workflow=workflow, title=f"Open order {n}", by=seller)
        type(item).objects.filter(pk=item.pk).update(
            requested_at=now - datetime.timedelta(days=n * 4)
        )
    snapshot_rebuild()
    quarter_target_set(workflow=workflow, by=lead, metric="average", target_days="4")
    return workflow


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_the_dashboard_draws_and_filters_without_reload(
    page, live_server, login, screenshot, lead, busy_workflow, size
):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(lead)
    page.goto(f"{live_server.url}/?workflow={busy_workflow.pk}")
    page.wait_for_function(CHARTS)
    assert page.locator(".scoreboard-headline .big-number-value").inner_text().strip() != "—days"
    screenshot(f"scoreboard-{size[0]}x{size[1]}", full_page=True)
    page.evaluate("window.__noReload = true")
    page.select_option("#id_period", "90d")
    page.wait_for_function(
        "() => document.querySelector('.scoreboard-scope').textContent.includes('Last 90 days')"
    )
    page.wait_for_function(CHARTS)
    assert page.evaluate("window.__noReload") is True
    assert "period=90d" in page.url
    screenshot(f"scoreboard-{size[0]}x{size[1]}-90d")


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_a_custom_range_moves_every_figure_and_labels_explain_themselves(
    page, live_server, login, screenshot, lead, busy_workflow, size
):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(lead)
    page.goto(f"{live_server.url}/?workflow={busy_workflow.pk}")
    page.wait_for_function(CHARTS)
    today = timezone.localdate()
    since = today - datetime.timedelta(days=20)
    label = f"{since:%-d %b %Y} – {today:%-d %b %Y}"
    page.select_option("#id_period", "custom")
    page.fill("#id_since", since.isoformat())
    page.fill("#id_until", today.isoformat())
    page.get_by_role("button", name="Show").click()
    headline = page.locator(".scoreboard-headline .big-number-label")
    expect(headline).to_contain_text(label)  # the big number, not the quarter
    expect(page.locator(".big-number-label").nth(1)).to_contain_text(label)

    # "most friction" explains itself on keyboard focus and on hover.
    most = page.locator(".term", has_text="most friction")
    tip = most.locator(".term-tip")
    expect(tip).to_be_hidden()
    most.focus()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("highest friction in the period")
    screenshot(f"scoreboard-most-friction-{size[0]}")
    page.locator("h1").click()
    expect(tip).to_be_hidden()
    page.locator(".scoreboard-headline .term").first.hover()
    expect(page.locator(".scoreboard-headline .term-tip").first).to_be_visible()
    screenshot(f"scoreboard-custom-range-{size[0]}")

    # A range that ends before it starts: the message in place, and no figures.
    page.fill("#id_since", today.isoformat())
    page.fill("#id_until", since.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#id_until_error")).to_contain_text(
        "The last day must be on or after the first day."
    )
    expect(page.locator("#board .error-summary")).to_contain_text("No figures shown")
    expect(page.locator(".scoreboard-headline")).to_have_count(0)
    screenshot(f"scoreboard-backwards-range-{size[0]}")
