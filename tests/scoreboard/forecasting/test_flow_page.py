"""The forecasts-and-flow page: commitment point, lead vs cycle time, CFD, throughput,
the handoff pain ranking and the service-level bands."""

import datetime

import pytest
from django.utils import timezone

from handoffs.models import Event, Recovery, Workflow
from scoreboard.forecasting import flow
from scoreboard.metrics import rebuild_all_facts
from scoreboard.models import CommitmentPoint
from tests.scoreboard.helpers import build_item

pytestmark = pytest.mark.django_db
K = Event.Kind
D = datetime.timedelta(days=1)
H = datetime.timedelta(hours=1)


def _delivered(workflow, count=6):
    """Qualify 2 days, a handoff wait of 5 hours, Ship 1 day; finished in the last days."""
    qualify, ship = workflow.ordered_stages()
    now = timezone.now()
    for n in range(count):
        build_item(
            workflow,
            [
                (K.CREATED, 0 * D, None, qualify),
                (K.HANDOFF_SUBMITTED, 2 * D, qualify, ship),
                (K.HANDOFF_ACCEPTED, 2 * D + 5 * H, None, ship),
                (K.DELIVERED, 3 * D + 5 * H, ship, None),
            ],
            title=f"Done {n}",
            start=now - 4 * D - n * H,
        )
    rebuild_all_facts()


def _url(workflow):
    return f"/scoreboard/workflows/{workflow.pk}/flow/"


def test_cycle_time_starts_at_the_commitment_point_lead_time_at_the_request(workflow, client, lead):
    _delivered(workflow)
    client.force_login(lead)
    since, until = timezone.now() - 30 * D, timezone.now() + D
    before = flow.lead_and_cycle(workflow, since, until)
    assert before["cycle"] == before["lead"] and before["commitment"] == "from the request"
    ship = workflow.ordered_stages()[1]
    response = client.post(f"/scoreboard/workflows/{workflow.pk}/commitment/", {"stage": ship.pk})
    assert response.status_code == 302
    after = flow.lead_and_cycle(workflow, since, until)
    assert after["lead"]["p50"] == pytest.approx((3 * D + 5 * H).total_seconds())
    assert after["cycle"]["p50"] == pytest.approx((D + 5 * H).total_seconds())
    page = client.get(_url(workflow)).content.decode()
    assert "Cycle time (from “Ship” to delivery)" in page


def test_only_the_workflows_leads_set_the_commitment_point(workflow, client, member, outsider):
    ship = workflow.ordered_stages()[1]
    for user in (member, outsider):
        client.force_login(user)
        response = client.post(
            f"/scoreboard/workflows/{workflow.pk}/commitment/", {"stage": ship.pk}
        )
        assert response.status_code == 403
    assert not CommitmentPoint.objects.exists()


def test_a_stage_of_another_workflow_is_refused_and_nothing_changes(workflow, client, lead, teams):
    other = Workflow.objects.create(name="Other")
    from handoffs.models import Stage

    foreign = Stage.objects.create(workflow=other, name="X", position=1, team=teams["sales"])
    client.force_login(lead)
    client.post(f"/scoreboard/workflows/{workflow.pk}/commitment/", {"stage": foreign.pk})
    assert not CommitmentPoint.objects.exists()


def test_the_page_shows_flow_ranking_and_bands_with_tables(workflow, client, member):
    _delivered(workflow)
    client.force_login(member)
    response = client.get(_url(workflow))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Cumulative flow as a table",
        "Throughput as a table",
        "Standardise this one next",
        "Qualify → Ship",
        "Sustain",
        "Lead time (request → delivery)",
    ):
        assert text in page, text


def test_the_pain_ranking_adds_waits_and_bounce_recoveries_in_days(workflow, lead):
    _delivered(workflow, count=2)
    item = workflow.items.first()
    handoff = workflow.handoffs.get()
    Recovery.objects.create(
        item=item, handoff=handoff, kind=Recovery.Kind.BOUNCE, missing_input="PO",
        next_check_at=timezone.now(), opened_at=timezone.now() - 2 * D,
        closed_at=timezone.now() - D, cause="process",
    )  # fmt: skip
    since, until = timezone.now() - 30 * D, timezone.now() + D
    (top,) = flow.pain_ranking(workflow, since, until)
    assert top["handoff"] == handoff
    assert top["wait_days"] == pytest.approx(10 / 24)
    assert top["recovery_days"] == pytest.approx(1)
    assert top["delay_days"] == pytest.approx(1 + 10 / 24)


def test_the_cumulative_flow_counts_items_per_stage_each_day(workflow):
    _delivered(workflow, count=3)
    now = timezone.now()
    cfd = flow.cumulative_flow(workflow, now - 6 * D, now)
    qualify, ship = (counts for _, counts in cfd["stages"])
    # Six days ago nothing had started; three days ago all three were in Qualify... then Ship.
    assert qualify[0] == ship[0] == 0 and cfd["delivered"][0] == 0
    assert cfd["delivered"][-1] == 3
    assert max(qualify) == 3


def test_the_dashboard_loads_the_summary_for_a_workflow(workflow, client, member):
    _delivered(workflow)
    client.force_login(member)
    dashboard = client.get(f"/?workflow={workflow.pk}").content.decode()
    assert 'id="flow-summary"' in dashboard
    summary = client.get(_url(workflow), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="flow-summary")
    text = summary.content.decode()
    assert "Open items done · 85%" in text and "<html" not in text


def test_the_coverage_partial_states_last_quarters_share(workflow, client, member):
    client.force_login(member)
    response = client.get(_url(workflow), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="flow-coverage")
    assert "too little history" in response.content.decode()
    assert "hx-trigger" not in response.content.decode()


def test_a_forecast_question_is_answered_in_its_partial(workflow, client, member):
    client.force_login(member)
    response = client.get(
        _url(workflow), {"items": "abc"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="flow-forecast"
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="flow-forecast"' in text and "Enter a whole number." in text
    both = {"items": "3", "until": "2999-01-01"}
    text = client.get(
        _url(workflow), both, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="flow-forecast"
    ).content.decode()
    assert "Ask for a number of items or a date, not both." in text


def test_anonymous_visitors_go_to_login_and_sandboxes_are_404(workflow, client, member):
    assert client.get(_url(workflow)).status_code == 302
    client.force_login(member)
    sandbox = Workflow.objects.create(name="Play", is_sandbox=True)
    assert client.get(_url(sandbox)).status_code == 404


def test_the_scoreboard_api_gives_lead_and_cycle_time_and_the_commitment(workflow, lead):
    from rest_framework.test import APIClient

    _delivered(workflow)
    CommitmentPoint.objects.create(workflow=workflow, stage=workflow.ordered_stages()[1])
    api = APIClient()
    api.force_authenticate(lead)
    since = (timezone.now() - 30 * D).date().isoformat()
    body = api.get("/api/v1/scoreboard/", {"workflow": workflow.pk, "since": since}).json()
    assert body["commitment_point"]["label"] == "from “Ship”"
    assert body["lead_time_seconds"]["p50"] == body["p50_cycle_time_seconds"]
    assert body["cycle_time_seconds"]["p50"] == pytest.approx((D + 5 * H).total_seconds())


def test_ids_out_of_range_are_404_not_500(client, member):
    client.force_login(member)
    huge = "9" * 25
    for url in (
        f"/scoreboard/workflows/{huge}/flow/",
        f"/scoreboard/items/{huge}/forecast/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/scoreboard/workflows/{huge}/commitment/").status_code == 404
