"""The dashboard, the target form, the import page and the API: access, content, query counts."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Workflow
from scoreboard.models import Metric, QuarterTarget
from scoreboard.services import snapshot_rebuild
from tests.scoreboard.helpers import bounced_and_blocked, simple

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("scoreboard:dashboard")


@pytest.fixture
def history(workflow):
    """Deliveries this quarter and last quarter, and one open item."""
    now = timezone.now()
    for n in range(6):
        simple(workflow, 10 + n * 5, start=now - datetime.timedelta(days=n + 1), title=f"Now {n}")
        simple(workflow, 40 + n * 5, start=now - datetime.timedelta(days=100 + n), title=f"Old {n}")
    bounced_and_blocked(workflow, start=now - datetime.timedelta(days=3), title="Bounced")
    snapshot_rebuild()
    return workflow


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in (DASHBOARD, reverse("scoreboard:import")):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
    assert client.get("/api/v1/scoreboard/").status_code in (401, 403)


def test_the_dashboard_shows_the_quarter_and_where_the_time_goes(client, viewer, history, item):
    client.force_login(viewer)
    page = client.get(DASHBOARD).content.decode()
    assert "Average cycle time" in page
    assert "Where the time goes" in page
    assert "Qualify" in page and "Ship" in page
    assert "most friction" in page
    assert "numpy" in page  # the interpolation is stated
    assert 'hx-trigger="every 60s"' in page
    assert item.title in page  # aging work in progress


def test_the_dashboard_query_count_is_pinned(client, lead, history, django_assert_max_num_queries):
    client.force_login(lead)
    client.get(DASHBOARD)
    # Cold, the board is built (one aggregate per panel); warm, it comes from the cache.
    for limit in (18, 7):
        with django_assert_max_num_queries(limit):
            assert client.get(DASHBOARD, {"workflow": history.pk}).status_code == 200
    for limit in (18, 3):
        with django_assert_max_num_queries(limit):
            response = client.get(DASHBOARD, {"period": "90d"}, headers={"HX-Request": "true"})
            assert response.status_code == 200


def test_filters_swap_only_the_board_partial(client, member, history):
    client.force_login(member)
    response = client.get(
        DASHBOARD,
        {"workflow": history.pk, "period": "custom", "since": "2020-01-01", "until": "2020-01-31"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="board"')
    assert "<html" not in body
    assert "1 Jan 2020 – 31 Jan 2020" in body


BACKWARDS = {"period": "custom", "since": "2025-02-01", "until": "2025-01-01"}


def test_a_range_that_ends_before_it_starts_shows_why_and_no_figures(client, member, history):
    client.force_login(member)
    response = client.get(DASHBOARD, {"workflow": history.pk, **BACKWARDS})
    assert response.status_code == 400
    page = response.content.decode()
    # The message stands under the field, and in the board's place: not the quarter's figures.
    assert page.count("The last day must be on or after the first day.") == 2
    assert 'id="id_until_error"' in page and 'aria-invalid="true"' in page
    assert "No figures shown: fix the filters above" in page
    assert f"{history.name} · Q" not in page and "big-number-value" not in page


def test_with_htmx_the_refused_range_comes_back_into_the_form_and_the_board(
    client, member, history
):
    client.force_login(member)
    headers = {"HX-Request": "true", "HX-Trigger": "scoreboard-filters"}
    response = client.get(DASHBOARD, BACKWARDS, headers=headers)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="scoreboard-filters"' in body and 'hx-swap-oob="true"' in body
    assert 'id="id_until_error"' in body and '<div id="board" class="scoreboard">' in body
    assert "X-Filter-Errors" in body
    # A good range from that form brings the form back without the message.
    good = {"period": "custom", "since": "2025-01-01", "until": "2025-02-01"}
    fixed = client.get(DASHBOARD, good, headers={**headers, "X-Filter-Errors": "1"})
    body = fixed.content.decode()
    assert 'hx-swap-oob="true"' in body and "id_until_error" not in body
    # A form without messages is left alone: a date being typed is never overwritten.
    body = client.get(DASHBOARD, good, headers=headers).content.decode()
    assert "scoreboard-filters" not in body
    # The board's own poll never replaces the form someone may be editing.
    poll = client.get(DASHBOARD, good, headers={"HX-Request": "true", "HX-Trigger": "board"})
    assert "scoreboard-filters" not in poll.content.decode()


def test_picking_custom_dates_asks_for_them_before_showing_figures(client, member, history):
    client.force_login(member)
    response = client.get(DASHBOARD, {"period": "custom"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Pick the first and last day of the window" in body
    assert "big-number-value" not in body and "field-error" not in body


def test_every_figure_is_for_the_chosen_range(client, member, history):
    """The big number follows a custom range like the cards beside it, and is compared with
    the same number of days before it."""
    client.force_login(member)
    today = timezone.localdate()
    since = today - datetime.timedelta(days=9)
    page = client.get(
        DASHBOARD,
        {"workflow": history.pk, "period": "custom", "since": since, "until": today},
    ).content.decode()
    label = f"{since:%-d %b %Y} – {today:%-d %b %Y}"
    assert "Average cycle time<span" in page
    assert page.count(f"· {label}</span>") == 3  # the headline, delivered, flow efficiency
    first, last = since - datetime.timedelta(days=10), since - datetime.timedelta(days=1)
    before = f"{first:%-d %b %Y} – {last:%-d %b %Y}"
    assert f"vs {before}" in page or f"No deliveries in {before}" in page
    assert "· now</span>" in page and "Aging work in progress · now" in page
    # The range holds the six recent deliveries and the bounced one, not last quarter's.
    assert '<span class="big-number-value" data-figure="delivered">7</span>' in page


def test_each_label_explains_itself_on_hover_focus_and_in_the_table(client, member, history):
    client.force_login(member)
    page = client.get(DASHBOARD, {"workflow": history.pk}).content.decode()
    most = page.index('<span class="stalled">most friction<')
    assert (
        'class="term" tabindex="0" aria-describedby="term-most_friction-' in page[most - 90 : most]
    )
    assert "The stage with the highest friction in the period" in page
    assert 'role="tooltip"' in page
    assert "These figures as a table, with what each means" in page
    assert "Working time in active stages ÷ cycle time" in page
    assert ">Friction<" in page  # the stage table's own column


def test_sandbox_workflows_are_not_offered_or_counted(client, member, history):
    sandbox = Workflow.objects.create(name="Practice", is_sandbox=True)
    client.force_login(member)
    page = client.get(DASHBOARD).content.decode()
    assert "Practice" not in page
    # Asked for by id, it is refused as a choice, field by field: no figures at all.
    response = client.get(DASHBOARD, {"workflow": sandbox.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_lead_sets_the_quarter_metric_and_target(client, lead, history):
    client.force_login(lead)
    url = reverse("scoreboard:target-set", args=[history.pk])
    response = client.post(url, {"metric": Metric.P85, "target_days": "2.5"})
    assert response.status_code == 302
    goal = QuarterTarget.objects.get(workflow=history)
    assert (goal.metric, goal.target, goal.set_by) == (
        Metric.P85,
        datetime.timedelta(days=2.5),
        lead,
    )
    page = client.get(DASHBOARD, {"workflow": history.pk}).content.decode()
    assert "85th percentile cycle time" in page
    assert "2.5 d" in page


def test_a_bad_target_changes_nothing(client, lead, history):
    client.force_login(lead)
    url = reverse("scoreboard:target-set", args=[history.pk])
    client.post(url, {"metric": "fastest", "target_days": "-1"})
    assert not QuarterTarget.objects.exists()


def test_viewers_and_outsiders_cannot_set_targets(client, viewer, outsider, history):
    url = reverse("scoreboard:target-set", args=[history.pk])
    for user in (viewer, outsider):
        client.force_login(user)
        assert client.post(url, {"metric": Metric.AVERAGE, "target_days": "3"}).status_code == 403
        assert "Save target" not in client.get(DASHBOARD, {"workflow": history.pk}).content.decode()
    assert not QuarterTarget.objects.exists()


def test_members_and_viewers_cannot_import(client, member, viewer):
    for user in (member, viewer):
        client.force_login(user)
        assert client.get(reverse("scoreboard:import")).status_code == 403
        assert client.post(reverse("scoreboard:import"), {"workflow": "X"}).status_code == 403
    assert not Workflow.objects.exists()


def test_a_lead_previews_then_imports_a_log(client, lead):
    client.force_login(lead)
    url = reverse("scoreboard:import")
    log = (
        b"case_id,activity,timestamp\n"
        b"A,Request,2025-01-01T10:00:00+00:00\nA,Ship,2025-01-03T10:00:00+00:00\n"
        b"B,Request,2025-01-02T10:00:00+00:00\nB,Ship,2025-01-02T22:00:00+00:00\n"
    )
    upload = SimpleUploadedFile("log.csv", log, content_type="text/csv")
    preview = client.post(url, {"workflow": "Baseline", "file": upload, "action": "preview"})
    page = preview.content.decode()
    assert "Request → Ship" in page
    assert not Workflow.objects.filter(name="Baseline").exists()  # a preview imports nothing
    token = preview.context["token"]
    done = client.post(url, {"workflow": "Baseline", "token": token, "action": "import"})
    assert done.status_code == 302
    workflow = Workflow.objects.get(name="Baseline")
    assert workflow.items.count() == 2
    assert f"workflow={workflow.pk}" in done["Location"]


def test_the_import_preview_lists_bad_lines(client, lead):
    client.force_login(lead)
    upload = SimpleUploadedFile("bad.csv", b"case_id,activity,timestamp\nA,,2025-01-01\nB,X,soon\n")
    response = client.post(
        reverse("scoreboard:import"), {"workflow": "Baseline", "file": upload, "action": "preview"}
    )
    page = response.content.decode()
    assert "2 problems in the file" in page
    assert "Activity is empty." in page
    assert "not ISO-8601" in page
    assert "token" not in response.context or not response.context.get("token")


def test_the_api_returns_the_designed_fields(client, member, history):
    client.force_login(member)
    since = (timezone.now() - datetime.timedelta(days=30)).date().isoformat()
    response = client.get("/api/v1/scoreboard/", {"workflow": history.pk, "since": since})
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 7
    for key in ("average", "p50", "p85", "p95"):
        assert data[f"{key}_cycle_time_seconds"] > 0
    assert {s["name"] for s in data["stages"]} == {"Qualify", "Ship"}
    assert data["handoffs_breakdown"][0]["bounces"] == 1
    assert "linear" in data["interpolation"]


def test_the_api_explains_bad_parameters(client, member, history):
    client.force_login(member)
    response = client.get("/api/v1/scoreboard/", {"since": "2025-02-01", "until": "2025-01-01"})
    assert response.status_code == 400
    assert "until" in response.json()
    assert client.get("/api/v1/scoreboard/", {"since": "soon"}).status_code == 400
