"""A big upload is counted by a Celery task: the page shows a progress bar that polls, then
the map; a refused big log shows its lines. Small uploads stay counted in the request."""

import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from scoreboard.discovery.models import Baseline
from scoreboard.discovery.services import baseline_create
from scoreboard.discovery.tasks import baseline_count_task

LOG = "case_id,activity,timestamp,resource\n" + "".join(
    f"C{n},Won,2025-03-03T09:00:00Z,ann\nC{n},Ship,2025-03-04T09:{n % 60:02d}:00Z,bob\n"
    for n in range(400)
)


@pytest.fixture
def count_later(monkeypatch):
    monkeypatch.setattr("scoreboard.discovery.services.COUNT_LATER_ABOVE", 100)


@pytest.mark.django_db
def test_a_big_log_is_counted_by_the_task_with_progress_then_shows_its_map(
    client, lead, count_later, django_capture_on_commit_callbacks, monkeypatch
):
    client.force_login(lead)
    with django_capture_on_commit_callbacks() as enqueued:
        response = client.post("/discovery/", {"file": SimpleUploadedFile("big.csv", LOG.encode())})
    baseline = Baseline.objects.get()
    assert response.status_code == 302 and len(enqueued) == 1
    assert (baseline.status, baseline.progress, baseline.discovery) == ("counting", 0, {})
    page = client.get(f"/discovery/{baseline.pk}/").content.decode()
    assert "Reading the log…" in page and 'value="0"' in page and 'hx-trigger="every 1s"' in page
    polled = client.get(f"/discovery/{baseline.pk}/?poll=1", headers={"HX-Request": "true"})
    assert polled.content.decode().lstrip().startswith('<section id="discovery-progress"')

    assert baseline_count_task(baseline.pk) == "ready"
    assert baseline_count_task(baseline.pk) is None  # a second run leaves it as it is
    baseline.refresh_from_db()
    assert (baseline.status, baseline.progress, baseline.cases, baseline.events) == (
        "ready", 100, 400, 800
    )  # fmt: skip
    monkeypatch.setattr("scoreboard.discovery.services.COUNT_LATER_ABOVE", 10**9)
    now = baseline_create(name="same.csv", data=LOG.encode(), by=lead)
    assert now.status == "ready" and now.discovery == baseline.discovery
    polled = client.get(f"/discovery/{baseline.pk}/?poll=1", headers={"HX-Request": "true"})
    assert polled.headers["HX-Refresh"] == "true"
    assert "400 cases · 800 events" in client.get(f"/discovery/{baseline.pk}/").content.decode()


@pytest.mark.django_db
def test_progress_is_reported_as_the_log_is_read(lead, count_later):
    noise = random.Random(7)
    rows = "".join(
        f"K{n},Step {noise.randrange(40)},2025-03-03T09:00:00Z,{noise.getrandbits(64):x}\n"
        for n in range(8000)
    )
    data = ("case_id,activity,timestamp,resource\n" + rows).encode()
    baseline = baseline_create(name="big.csv", data=data, by=lead)
    fractions = []
    baseline.count(report=fractions.append)
    assert len(fractions) >= 5 and fractions == sorted(fractions)
    assert 0 < fractions[0] < 0.5 and fractions[-1] == 1.0


@pytest.mark.django_db
def test_a_big_bad_log_is_refused_with_its_lines_on_the_page(client, lead, count_later):
    bad = LOG.replace("C7,Won,2025-03-03T09:00:00Z", "C7,Won,someday", 1)
    client.force_login(lead)
    client.post("/discovery/", {"file": SimpleUploadedFile("bad.csv", bad.encode())})
    baseline = Baseline.objects.get()
    assert baseline_count_task(baseline.pk) == "failed"
    baseline.refresh_from_db()
    assert baseline.errors == ["Line 16: Timestamp “someday” is not ISO-8601."]
    page = client.get(f"/discovery/{baseline.pk}/").content.decode()
    assert "This log was refused" in page and "Line 16: Timestamp" in page
    teams = client.post(f"/discovery/{baseline.pk}/teams/", {"team_0": "X"})
    assert teams.status_code == 302 and Baseline.objects.get().team_of == {}


def test_a_real_worker_counts_a_big_upload(celery_worker_process, client, lead, count_later):
    import time

    client.force_login(lead)
    client.post("/discovery/", {"file": SimpleUploadedFile("big.csv", LOG.encode())})
    baseline = Baseline.objects.get()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        baseline.refresh_from_db()
        if baseline.status != "counting":
            break
        time.sleep(0.2)
    assert (baseline.status, baseline.cases) == ("ready", 400)
