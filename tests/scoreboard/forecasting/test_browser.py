"""The forecasts-and-flow page in Chromium on a laptop and a 1920 projector: charts drawn,
a forecast question answered without a reload, last quarter's coverage loaded."""

import datetime

import pytest
from django.utils import timezone

from handoffs.models import Recovery
from handoffs.work.services import work_item_create
from scoreboard.services import snapshot_rebuild
from tests.scoreboard.helpers import bounced_and_blocked, simple

CHARTS = (
    "() => [...document.querySelectorAll('canvas[data-scoreboard-chart]')]"
    ".every(c => Chart.getChart(c))"
)


@pytest.fixture
def flowing_workflow(workflow, seller):
    now = timezone.now()
    for n in range(150):
        simple(workflow, 20 + (n * 37) % 200, start=now - datetime.timedelta(days=n * 1.5 + 1),
               title=f"ORD-{1000 + n}")  # fmt: skip
    handoff = workflow.handoffs.get()
    for n in range(5):
        item = bounced_and_blocked(
            workflow, start=now - datetime.timedelta(days=n * 9 + 3), title=f"ORD-B{n}"
        )
        Recovery.objects.create(
            item=item, handoff=handoff, kind=Recovery.Kind.BOUNCE, missing_input="PO number",
            next_check_at=now, opened_at=now - datetime.timedelta(days=n * 9 + 2),
            closed_at=now - datetime.timedelta(days=n * 9 + 1), cause="process",
        )  # fmt: skip
    for n in range(8):
        item = work_item_create(workflow=workflow, title=f"Open order {n}", by=seller)
        type(item).objects.filter(pk=item.pk).update(
            requested_at=now - datetime.timedelta(days=n * 3)
        )
    snapshot_rebuild()
    return workflow


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_flow_page_draws_and_answers_a_forecast_without_reload(
    page, live_server, login, screenshot, lead, flowing_workflow, size
):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(lead)
    page.goto(f"{live_server.url}/scoreboard/workflows/{flowing_workflow.pk}/flow/")
    page.wait_for_function(CHARTS)
    page.wait_for_selector("#flow-coverage:not([hx-trigger])")
    assert page.get_by_role("link", name="Standardise this one next").count() == 1
    page.evaluate("window.__noReload = true")
    page.get_by_label("When will this many be done?").fill("20")
    page.get_by_role("button", name="Forecast").click()
    page.wait_for_function(
        "() => document.querySelector('#flow-forecast').textContent.includes('20 items done')"
    )
    assert page.evaluate("window.__noReload") is True
    screenshot(f"forecast-flow-{size[0]}x{size[1]}", full_page=True)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_dashboard_shows_the_forecast_summary(
    page, live_server, login, screenshot, lead, flowing_workflow, size
):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(lead)
    page.goto(f"{live_server.url}/?workflow={flowing_workflow.pk}")
    page.wait_for_selector("#flow-summary .big-number")
    page.wait_for_selector("#flow-coverage:not([hx-trigger])")
    summary = page.locator("#flow-summary")
    assert "Standardise this one next" in summary.inner_text()
    summary.scroll_into_view_if_needed()
    screenshot(f"forecast-dashboard-{size[0]}x{size[1]}", full_page=True)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_item_page_shows_when_it_will_be_done(
    page, live_server, login, screenshot, lead, flowing_workflow, size
):
    item = flowing_workflow.items.filter(title="Open order 2").get()
    type(item).objects.filter(pk=item.pk).update(due_date=timezone.localdate())
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(lead)
    page.goto(f"{live_server.url}/work/{item.pk}/")
    page.wait_for_selector("#item-forecast strong")
    text = page.locator("#item-forecast").inner_text()
    assert "85%: by " in text and "at risk" in text.lower(), text
    screenshot(f"forecast-item-{size[0]}x{size[1]}", full_page=True)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_board_marks_cards_due_before_their_85_percent_date(
    page, live_server, login, screenshot, lead, flowing_workflow, size
):
    item = flowing_workflow.items.filter(title="Open order 2").get()
    type(item).objects.filter(pk=item.pk).update(due_date=timezone.localdate())
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(lead)
    page.goto(f"{live_server.url}/work/board/{flowing_workflow.pk}/")
    page.wait_for_selector(f"#risk-{item.pk}.stalled")
    assert page.locator(".card .stalled", has_text="At risk").count() == 1
    screenshot(f"forecast-board-{size[0]}x{size[1]}", full_page=True)
