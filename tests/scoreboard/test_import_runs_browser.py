"""A lead imports a big log behind a progress bar, from /scoreboard/import/ and through
"Create this workflow": the bar moves, a reload keeps it, the page leads on when done, a
refusal shows in place. Screenshots at 1366 and 1920 go to tests/screenshots/import-run-*.

No worker runs here: the test does the task's work itself (import_run_pending), as a worker
would, while the page polls."""

import pytest
from playwright.sync_api import expect

from handoffs.models import Workflow
from scoreboard.discovery.services import baseline_create
from scoreboard.imports.models import ImportRun
from scoreboard.imports.services import import_run_pending

LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1920, "height": 1080}
LOG = "case_id,activity,timestamp,resource\n" + "".join(
    f"C{n},Won,2025-03-03T09:00:00Z,ann\nC{n},Ship,2025-03-04T09:{n % 60:02d}:00Z,bob\n"
    for n in range(300)
)


@pytest.fixture
def in_background(monkeypatch):
    monkeypatch.setattr("scoreboard.views.IN_BACKGROUND_ABOVE_BYTES", 100)
    monkeypatch.setattr("scoreboard.discovery.views.CREATE_LATER_ABOVE_EVENTS", 10)


def test_a_lead_imports_a_big_log_behind_a_progress_bar(
    page, live_server, login, screenshot, lead, in_background, tmp_path
):
    log = tmp_path / "crm-export.csv"
    log.write_text(LOG)
    page.set_viewport_size(LAPTOP)
    login(lead)
    page.goto(f"{live_server.url}/scoreboard/import/")
    page.get_by_label("New workflow name").fill("CRM orders")
    page.get_by_label("Event log (CSV)").set_input_files(str(log))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Import 300 items").click()

    expect(page.get_by_role("heading", name="Importing “CRM orders”")).to_be_visible()
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(progress=42)  # as the task reports it
    bar = page.locator("#import-progress-bar")
    expect(bar).to_have_attribute("value", "42")  # the page polled
    expect(page.locator("#import-progress")).to_contain_text("42 % done")
    screenshot("import-run-progress-1366")
    page.set_viewport_size(PROJECTOR)
    screenshot("import-run-progress-1920")
    page.reload()
    expect(bar).to_have_attribute("value", "42")  # a reload keeps the run

    assert import_run_pending(run.pk) == "done"
    done = page.get_by_text("Imported “CRM orders” with its history.")
    expect(done).to_be_visible(timeout=30_000)  # the next poll, a reload, the scoreboard
    workflow = Workflow.objects.get(name="CRM orders")
    assert f"workflow={workflow.pk}" in page.url and workflow.items.count() == 300


def test_a_refused_import_shows_its_reason_where_the_bar_was(
    page, live_server, login, screenshot, lead, in_background, tmp_path
):
    log = tmp_path / "crm-export.csv"
    log.write_text(LOG)
    page.set_viewport_size(LAPTOP)
    login(lead)
    page.goto(f"{live_server.url}/scoreboard/import/")
    page.get_by_label("New workflow name").fill("CRM orders")
    page.get_by_label("Event log (CSV)").set_input_files(str(log))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Import 300 items").click()
    expect(page.get_by_role("heading", name="Importing “CRM orders”")).to_be_visible()

    Workflow.objects.create(name="CRM orders")  # someone else took the name meanwhile
    assert import_run_pending(ImportRun.objects.get().pk) == "failed"
    expect(page.get_by_role("heading", name="This import was refused")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_role("cell", name="already exists")).to_be_visible()
    expect(page.locator("#import-progress")).to_have_count(0)
    screenshot("import-run-refused-1366")
    page.set_viewport_size(PROJECTOR)
    screenshot("import-run-refused-1920")
    assert Workflow.objects.count() == 1


def test_create_this_workflow_from_a_big_log_shows_progress_then_the_workflow(
    page, live_server, login, screenshot, lead, teams, in_background
):
    baseline = baseline_create(name="crm-export.csv", data=LOG.encode(), by=lead)
    page.set_viewport_size(LAPTOP)
    login(lead)
    page.goto(f"{live_server.url}{baseline.get_absolute_url()}")
    create = page.locator("#create-workflow")
    create.get_by_label("Workflow name").fill("CRM from the map")
    create.get_by_label("Team owning “Won”").select_option(label=teams["sales"].name)
    create.get_by_label("Team owning “Ship”").select_option(label=teams["fulfilment"].name)
    create.get_by_role("button", name="Create this workflow").click()

    expect(
        page.get_by_role("heading", name="Creating “CRM from the map” from the log")
    ).to_be_visible()
    screenshot("import-run-create-1366")
    assert import_run_pending(ImportRun.objects.get().pk) == "done"
    expect(page.get_by_text("drafted with its history as the baseline")).to_be_visible(
        timeout=30_000
    )
    workflow = Workflow.objects.get(name="CRM from the map")
    assert page.url.endswith(workflow.get_absolute_url()) and workflow.items.count() == 300
