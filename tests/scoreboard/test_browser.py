"""The dashboard in Chromium: charts drawn, filters swap the board without a reload."""

import datetime

import pytest
from django.utils import timezone

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
