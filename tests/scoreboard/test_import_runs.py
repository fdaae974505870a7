"""A big history import runs in a Celery task behind a progress bar: the event-log upload of
/scoreboard/import/ and "Create this workflow" of a discovered map. The page polls, survives
a reload, leads to the result when done, shows a refusal in place; nothing is half-created."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from handoffs.models import Event, Workflow, WorkItem
from opshub.accounts.models import User
from scoreboard.discovery.services import baseline_create
from scoreboard.imports.models import ImportRun
from scoreboard.imports.services import UNEXPECTED, import_run_pending
from scoreboard.imports.tasks import import_run_task
from scoreboard.models import DeliveredItemFact, StageTimeFact

LOG = "case_id,activity,timestamp,resource\n" + "".join(
    f"C{n},Won,2025-03-03T09:00:00Z,ann\nC{n},Ship,2025-03-04T09:{n % 60:02d}:00Z,bob\n"
    for n in range(300)
)


@pytest.fixture
def in_background(monkeypatch):
    monkeypatch.setattr("scoreboard.views.IN_BACKGROUND_ABOVE_BYTES", 100)
    monkeypatch.setattr("scoreboard.discovery.views.CREATE_LATER_ABOVE_EVENTS", 10)


def _upload_and_confirm(client, name="Big log"):
    upload = SimpleUploadedFile("big.csv", LOG.encode())
    preview = client.post("/scoreboard/import/", {"workflow": name, "file": upload})
    token = preview.context["token"]
    return client.post(
        "/scoreboard/import/", {"workflow": name, "token": token, "action": "import"}
    )


def _nothing_imported():
    return not (
        Workflow.objects.exists()
        or WorkItem.objects.exists()
        or Event.objects.exists()
        or DeliveredItemFact.objects.exists()
        or StageTimeFact.objects.exists()
    )


@pytest.mark.django_db
def test_a_big_upload_is_imported_by_the_task_behind_a_progress_bar_then_shows_its_scoreboard(
    client, lead, in_background, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    with django_capture_on_commit_callbacks() as enqueued:
        response = _upload_and_confirm(client)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/scoreboard/import/{run.pk}/"
    assert len(enqueued) == 1 and (run.status, run.progress) == ("importing", 0)
    assert _nothing_imported()
    page = client.get(response["Location"]).content.decode()
    assert "Writing the history…" in page and 'hx-trigger="every 1s"' in page
    polled = client.get(f"/scoreboard/import/{run.pk}/?poll=1", headers={"HX-Request": "true"})
    assert polled.content.decode().lstrip().startswith('<section id="import-progress"')

    assert import_run_task(run.pk) == "done"
    assert import_run_task(run.pk) is None  # a second run leaves it as it is
    run.refresh_from_db()
    workflow = Workflow.objects.get(name="Big log")
    assert (run.status, run.progress, run.workflow, bytes(run.source)) == (
        "done",
        100,
        workflow,
        b"",
    )
    assert workflow.items.count() == 300 and DeliveredItemFact.objects.count() == 300
    polled = client.get(f"/scoreboard/import/{run.pk}/?poll=1", headers={"HX-Request": "true"})
    assert polled.headers["HX-Refresh"] == "true"
    done = client.get(f"/scoreboard/import/{run.pk}/")
    assert done.status_code == 302
    assert done["Location"] == (
        f"/?workflow={workflow.pk}&period=custom&since=2025-03-03&until=2025-03-04"
    )


@pytest.mark.django_db
def test_a_small_upload_is_still_imported_in_the_request(client, lead):
    client.force_login(lead)
    response = _upload_and_confirm(client)
    assert response.status_code == 302 and response["Location"].startswith("/?workflow=")
    assert not ImportRun.objects.exists() and WorkItem.objects.count() == 300


@pytest.mark.django_db
def test_a_name_taken_meanwhile_is_refused_in_place_and_nothing_is_imported(
    client, lead, in_background
):
    client.force_login(lead)
    _upload_and_confirm(client, name="Taken")
    Workflow.objects.create(name="Taken")
    run = ImportRun.objects.get()
    assert import_run_pending(run.pk) == "failed"
    assert Workflow.objects.count() == 1 and not WorkItem.objects.exists()
    page = client.get(f"/scoreboard/import/{run.pk}/").content.decode()
    assert "This import was refused" in page and "already exists" in page
    assert "Writing the history" not in page


@pytest.mark.django_db
def test_a_failure_half_way_leaves_nothing_behind(client, lead, in_background, monkeypatch):
    def boom():
        raise RuntimeError("disk full")

    # The last step of the import, after items, events and facts are written.
    monkeypatch.setattr("scoreboard.board_cache.invalidate_on_commit", boom)
    client.force_login(lead)
    _upload_and_confirm(client)
    run = ImportRun.objects.get()
    assert import_run_pending(run.pk) == "failed"
    run.refresh_from_db()
    assert run.errors == [UNEXPECTED] and _nothing_imported()


@pytest.mark.django_db
def test_only_whoever_started_it_and_admins_see_a_run(
    client, lead, member, make_user, in_background
):
    client.force_login(lead)
    url = _upload_and_confirm(client)["Location"]
    client.force_login(make_user("lead2@example.com", User.Role.LEAD))
    assert client.get(url).status_code == 404
    client.force_login(member)
    assert client.get(url).status_code == 403
    client.force_login(make_user("boss@example.com", User.Role.ADMIN))
    assert client.get(url).status_code == 200
    assert client.get("/scoreboard/import/²/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_progress_is_visible_outside_the_imports_transaction(lead, monkeypatch):
    from scoreboard.imports import services
    from scoreboard.imports.services import import_run_start

    seen = []

    class Watched(services.ProgressWriter):
        def __call__(self, fraction):
            super().__call__(fraction)
            # Read on the import's own connection, inside its transaction: only a committed
            # write (through the writer's connection) shows here.
            seen.append(ImportRun.objects.values_list("progress", flat=True).get())

    monkeypatch.setattr(services, "ProgressWriter", Watched)
    run = import_run_start(by=lead, workflow_name="Watched", text=LOG)
    assert import_run_pending(run.pk) == "done"
    assert seen == sorted(seen) and seen[0] < 15 and seen[-1] == 99 and len(set(seen)) >= 5


FORM = {"name": "From the big log", "use_0": "on", "use_1": "on"}


@pytest.mark.django_db
def test_create_this_workflow_from_a_big_log_runs_behind_the_progress_bar(
    client, lead, teams, in_background, django_capture_on_commit_callbacks
):
    baseline = baseline_create(name="big.csv", data=LOG.encode(), by=lead)
    client.force_login(lead)
    form = {**FORM, "team_0": str(teams["sales"].pk), "team_1": str(teams["fulfilment"].pk)}
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post(f"/discovery/{baseline.pk}/workflow/", form)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert len(enqueued) == 1 and not Workflow.objects.filter(name=FORM["name"]).exists()
    page = client.get(response["Location"]).content.decode()
    assert "Creating “From the big log” from the log" in page

    assert import_run_task(run.pk) == "done"
    workflow = Workflow.objects.get(name=FORM["name"])
    assert [s.name for s in workflow.ordered_stages()] == ["Won", "Ship"]
    assert workflow.items.count() == 300
    baseline.refresh_from_db()
    assert baseline.workflow == workflow
    done = client.get(run.get_absolute_url())
    assert done.status_code == 302 and done["Location"] == workflow.get_absolute_url()


@pytest.mark.django_db
def test_a_refused_draft_of_a_big_log_is_shown_in_place_and_starts_nothing(
    client, lead, teams, in_background
):
    baseline = baseline_create(name="big.csv", data=LOG.encode(), by=lead)
    client.force_login(lead)
    refused = client.post(
        f"/discovery/{baseline.pk}/workflow/", {**FORM, "team_0": str(teams["sales"].pk)}
    )
    assert refused.status_code == 400
    assert "Pick the team that owns each stage." in refused.content.decode()
    assert not ImportRun.objects.exists()


def test_a_real_worker_imports_a_big_upload(celery_worker_process, client, lead, in_background):
    import time

    client.force_login(lead)
    _upload_and_confirm(client)
    run = ImportRun.objects.get()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status != "importing":
            break
        time.sleep(0.2)
    assert (run.status, run.workflow.items.count()) == ("done", 300)
