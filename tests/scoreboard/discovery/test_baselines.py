"""Uploading a log on the discovery page: its map, its teams, and the same data in the API."""

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from scoreboard.discovery.models import Baseline

pytestmark = pytest.mark.django_db
LOGS = Path(__file__).resolve().parents[4] / "shared" / "data" / "eventlogs"
needs_logs = pytest.mark.skipif(not LOGS.exists(), reason=f"{LOGS} is not there")

CRM = (
    "Deal,Step,When,Owner,Amount\n"
    "D1,Won,2025-03-03T09:00:00Z,ann,100\n"
    "D1,Kick-off,2025-03-03T13:00:00Z,bob,100\n"
    "D1,Invoice,2025-03-04T09:00:00Z,cy,\n"
    "D2,Won,2025-03-03T10:00:00Z,ann,50\n"
    "D2,Kick-off,2025-03-03T12:00:00Z,bob,50\n"
    "D2,Won,2025-03-03T15:00:00Z,ann,50\n"
    "D2,Kick-off,2025-03-03T16:00:00Z,bob,50\n"
    "D2,Invoice,2025-03-05T09:00:00Z,cy,\n"
)
COLUMNS = {
    "case_column": "Deal",
    "activity_column": "Step",
    "timestamp_column": "When",
    "resource_column": "Owner",
}


def _upload(client, text=CRM, name="crm.csv", **fields):
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post("/discovery/", {"file": upload, **COLUMNS, **fields})


def test_a_lead_uploads_a_log_and_sees_its_real_map(client, lead):
    client.force_login(lead)
    response = _upload(client)
    baseline = Baseline.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/discovery/{baseline.pk}/"
    assert (baseline.cases, baseline.events, baseline.uploaded_by) == (2, 8, lead)
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "2 cases · 8 events · 3 activities · 2 variants" in html
    assert html.count('class="dmap-edge ') == 3  # Won→Kick-off, Kick-off→Invoice, Kick-off→Won
    assert "No teams in this log yet" in html
    assert main_path(baseline) == ["Won", "Kick-off", "Invoice"]


def main_path(baseline):
    return baseline.discovery["main_path"]


def test_the_slider_hides_rare_paths_and_answers_htmx_with_the_map_alone(client, lead):
    client.force_login(lead)
    _upload(client)
    baseline = Baseline.objects.get()
    partial = client.get(f"/discovery/{baseline.pk}/?keep=80", headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert html.lstrip().startswith('<section id="discovered-map"')
    # 6 transitions: Won→Kick-off 3, Kick-off→Invoice 2 (5/6 ≥ 80 %), Kick-off→Won 1.
    assert html.count('class="dmap-edge ') == 2
    assert "2 paths shown, 1 rare ones hidden" in html
    assert "<html" not in html
    full = client.get(f"/discovery/{baseline.pk}/?keep=abc")
    assert full.status_code == 200 and "carrying <output" in full.content.decode()


def test_mapping_people_to_teams_shows_the_collision_zones_with_rework(client, lead):
    client.force_login(lead)
    _upload(client)
    baseline = Baseline.objects.get()
    resources = list(baseline.discovery["resources"])
    teams = {"ann": "Sales", "bob": "Delivery", "cy": "Finance"}
    form = {f"team_{i}": teams[r] for i, r in enumerate(resources)}
    assert client.post(f"/discovery/{baseline.pk}/teams/", form).status_code == 302
    baseline.refresh_from_db()
    assert baseline.team_of == teams
    zones = {(z["from"], z["to"]): z for z in baseline.discovery["zones"]}
    assert zones["Sales", "Delivery"]["count"] == 3
    assert zones["Sales", "Delivery"]["median_wait_seconds"] == 7200
    # D2 went Sales → Delivery, then back to Sales: one rework loop across the zone.
    assert zones["Delivery", "Sales"]["rework"] == 1
    assert zones["Sales", "Delivery"]["travels"] == [{"name": "Amount", "share": 1.0}]
    html = client.get(f"/discovery/{baseline.pk}/").content.decode()
    assert "Collision zones" in html and "Sales → Delivery" in html


def test_a_bad_log_is_refused_with_its_lines_and_creates_nothing(client, lead):
    client.force_login(lead)
    response = _upload(client, text="Deal,Step,When,Owner\nD1,Won,soon,ann\n")
    assert response.status_code == 200
    assert "Line 2: Timestamp “soon” is not ISO-8601." in response.content.decode()
    assert not Baseline.objects.exists()


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_only_leads_and_admins_discover_maps(client, persona, lead, request):
    client.force_login(lead)
    _upload(client)
    baseline = Baseline.objects.get()
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/discovery/").status_code == 403
    assert _upload(client).status_code == 403
    assert client.get(f"/discovery/{baseline.pk}/").status_code == 403
    assert client.post(f"/discovery/{baseline.pk}/teams/", {"team_0": "X"}).status_code == 403
    assert Baseline.objects.count() == 1 and Baseline.objects.get().team_of == {}


def test_another_lead_neither_sees_nor_changes_a_leads_log(client, lead, outsider, admin_user):
    client.force_login(lead)
    _upload(client)
    baseline = Baseline.objects.get()
    client.force_login(outsider)
    assert "crm.csv" not in client.get("/discovery/").content.decode()
    assert client.get(f"/discovery/{baseline.pk}/").status_code == 404
    assert client.post(f"/discovery/{baseline.pk}/teams/", {"team_0": "X"}).status_code == 404
    assert Baseline.objects.get().team_of == {}
    client.force_login(admin_user)
    assert client.get(f"/discovery/{baseline.pk}/").status_code == 200


def test_a_bad_baseline_id_is_a_404(client, lead):
    client.force_login(lead)
    assert client.get("/discovery/abc/").status_code == 404
    assert client.get("/discovery/99999999999999999999/").status_code == 404


@needs_logs
def test_the_api_gives_the_map_discover_map_prints(lead, admin_user):
    data = (LOGS / "helpdesk.xes.gz").read_bytes()
    from scoreboard.discovery.services import baseline_create

    baseline = baseline_create(name="helpdesk.xes.gz", data=data, by=lead)
    api = APIClient()
    api.force_authenticate(admin_user)
    body = api.get(f"/api/v1/baselines/{baseline.pk}/discovery/").json()
    out = io.StringIO()
    call_command("discover_map", str(LOGS / "helpdesk.csv"), "--json", stdout=out)
    printed = json.loads(out.getvalue())
    for key in ("cases", "events", "dfg", "start", "end", "handover", "variants"):
        assert body[key] == printed[key], key
    listed = api.get("/api/v1/baselines/").json()
    assert [row["id"] for row in listed["results"]] == [baseline.pk]


def test_the_api_refuses_members_and_unknown_ids(lead, member):
    api = APIClient()
    api.force_authenticate(member)
    assert api.get("/api/v1/baselines/1/discovery/").status_code == 403
    api.force_authenticate(lead)
    assert api.get("/api/v1/baselines/abc/discovery/").status_code == 404
    schema = APIClient().get("/api/schema/?format=json").json()
    assert "/api/v1/baselines/{id}/discovery/" in schema["paths"]


def test_start_events_show_how_long_each_activity_takes(client, lead):
    log = (
        "case_id,activity,timestamp,lifecycle\n"
        "A,Check,2025-03-03T09:00:00Z,start\n"
        "A,Check,2025-03-03T09:45:00Z,complete\n"
        "A,Ship,2025-03-03T12:00:00Z,complete\n"
    )
    client.force_login(lead)
    client.post("/discovery/", {"file": SimpleUploadedFile("log.csv", log.encode())})
    html = client.get(f"/discovery/{Baseline.objects.get().pk}/").content.decode()
    assert "Median duration" in html and "45 min" in html


def test_the_list_of_logs_costs_the_same_queries_for_many(
    client, lead, teams, django_assert_max_num_queries
):
    from scoreboard.discovery.services import workflow_from_baseline

    client.force_login(lead)
    for name in ("a.csv", "b.csv", "c.csv"):
        _upload(client, name=name)
    workflow_from_baseline(
        baseline=Baseline.objects.first(),
        by=lead,
        name="From a",
        stages=[("Won", teams["sales"]), ("Kick-off", teams["fulfilment"])],
    )
    with django_assert_max_num_queries(4):
        html = client.get("/discovery/").content.decode()
    assert html.count("crm.csv") == 0 and "From a" in html
    assert all(name in html for name in ("a.csv", "b.csv", "c.csv"))
