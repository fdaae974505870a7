"""Item forecasts: conditioned on the age in the stage, honest about thin history, readable
through the work-items API by whoever may read the item."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from handoffs.models import Event, WorkItem
from scoreboard.forecasting import live
from tests.scoreboard.helpers import build_item

pytestmark = pytest.mark.django_db
K = Event.Kind
D = datetime.timedelta(days=1)


def _history(workflow, count=40, *, bounce_every=0):
    """`count` delivered items: Qualify took 1..30 days (spread evenly), Ship one day."""
    qualify, ship = workflow.ordered_stages()
    start = timezone.now() - 400 * D
    for n in range(count):
        days = 1 + (n * 29) / (count - 1)
        steps = [(K.CREATED, 0 * D, None, qualify), (K.HANDOFF_SUBMITTED, days * D, qualify, ship)]
        end = days * D + D
        if bounce_every and n % bounce_every == 0:
            steps += [
                (K.HANDOFF_BOUNCED, end, ship, qualify),
                (K.HANDOFF_SUBMITTED, end + 10 * D, qualify, ship),
            ]
            end += 11 * D
        steps += [(K.HANDOFF_ACCEPTED, days * D, None, ship), (K.DELIVERED, end, ship, None)]
        steps.sort(key=lambda s: s[1])
        build_item(workflow, steps, title=f"Past {n}", start=start + n * 5 * D)


def _open_item(workflow, *, days_in_qualify, title="Open"):
    qualify, _ = workflow.ordered_stages()
    entered = timezone.now() - days_in_qualify * D
    item = build_item(workflow, [(K.CREATED, 0 * D, None, qualify)], title=title, start=entered)
    WorkItem.objects.filter(pk=item.pk).update(stage_entered_at=entered)
    item.refresh_from_db()
    return item


def _days_from_now(moment):
    return (moment - timezone.now()).total_seconds() / 86400


def test_an_item_long_in_its_stage_is_forecast_from_the_visits_that_lasted_as_long(workflow):
    _history(workflow)
    fresh = live.item_forecast(_open_item(workflow, days_in_qualify=0, title="Fresh"))
    aged = live.item_forecast(_open_item(workflow, days_in_qualify=25, title="Aged"))
    # Fresh: Qualify takes 1..30 days, then Ship a day.
    assert 12 < _days_from_now(fresh["p50_at"]) < 20
    assert _days_from_now(fresh["p95_at"]) > 25
    # 25 days in: only the visits of 25..30 days count, so at most 5 more days and Ship.
    assert 1 <= _days_from_now(aged["p50_at"]) <= _days_from_now(aged["p95_at"]) <= 6.1
    assert fresh["p50_at"] <= fresh["p85_at"] <= fresh["p95_at"]
    assert aged["simulations"] == 1000 and aged["history_items"] == 40
    assert aged["reason"] == ""


def test_bounces_seen_in_history_make_the_forecast_later(workflow, teams):
    from handoffs.models import Stage, Workflow

    _history(workflow)
    smooth = live.item_forecast(_open_item(workflow, days_in_qualify=0))
    bumpy = Workflow.objects.create(name="Bumpy")
    Stage.objects.create(workflow=bumpy, name="Qualify", position=1, team=teams["sales"])
    Stage.objects.create(workflow=bumpy, name="Ship", position=2, team=teams["fulfilment"])
    _history(bumpy, bounce_every=2)
    bounced = live.item_forecast(_open_item(bumpy, days_in_qualify=0))
    assert _days_from_now(bounced["p85_at"]) > _days_from_now(smooth["p85_at"]) + 5


def test_too_little_history_says_so_instead_of_inventing_a_date(workflow):
    _history(workflow, count=5)
    result = live.item_forecast(_open_item(workflow, days_in_qualify=1))
    assert result["p50_at"] is result["p85_at"] is result["p95_at"] is None
    assert result["reason"].startswith("Too little history: 5 delivered items")


def test_a_due_date_before_the_85_percent_date_marks_the_item_at_risk(workflow):
    _history(workflow)
    item = _open_item(workflow, days_in_qualify=0)
    item.due_date = timezone.localdate() + 2 * D
    item.save(update_fields=["due_date"])
    assert live.item_forecast(item)["at_risk"] is True
    item.due_date = timezone.localdate() + 90 * D
    assert live.item_forecast(item)["at_risk"] is False


def test_the_api_answers_the_forecast_to_whoever_may_read_the_item(workflow, viewer):
    _history(workflow)
    item = _open_item(workflow, days_in_qualify=3)
    client = APIClient()
    client.force_authenticate(viewer)
    response = client.get(f"/api/v1/work-items/{item.pk}/forecast/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"p50_at", "p85_at", "p95_at", "simulations", "history_items", "method"}
    assert body["simulations"] == 1000 and body["history_items"] == 40
    assert datetime.datetime.fromisoformat(body["p85_at"]) > timezone.now()


def test_the_api_refuses_strangers_and_answers_404_for_bad_ids(workflow, member):
    item = _open_item(workflow, days_in_qualify=1)
    anonymous = APIClient()
    assert anonymous.get(f"/api/v1/work-items/{item.pk}/forecast/").status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(member)
    for bad in ("abc", "9" * 30, "0", str(item.pk + 10_000)):
        response = client.get(f"/api/v1/work-items/{bad}/forecast/")
        assert response.status_code == 404, bad
        assert response.json()["detail"]
    assert client.post(f"/api/v1/work-items/{item.pk}/forecast/").status_code == 405


def test_a_delivered_item_has_no_forecast(workflow, member):
    _history(workflow)
    done = WorkItem.objects.filter(workflow=workflow, state=WorkItem.State.DONE).first()
    client = APIClient()
    client.force_authenticate(member)
    body = client.get(f"/api/v1/work-items/{done.pk}/forecast/").json()
    assert body["p85_at"] is None and body["reason"] == "The item is no longer open."


def test_the_periodic_task_rebuilds_the_models_of_workflows_with_open_work(workflow):
    from scoreboard.forecasting.tasks import forecast_warm_task

    _history(workflow)
    assert forecast_warm_task() == {"models": 0, "due_forecasts": 0}  # nothing open
    _open_item(workflow, days_in_qualify=1)
    assert forecast_warm_task()["models"] == 1
    assert live.workflow_model(workflow).history_items == 40


def test_items_due_before_their_85_percent_date_are_found_in_one_pass(workflow):
    _history(workflow)
    late = _open_item(workflow, days_in_qualify=0, title="Due soon")
    fine = _open_item(workflow, days_in_qualify=0, title="Due later")
    undated = _open_item(workflow, days_in_qualify=0, title="No date")
    WorkItem.objects.filter(pk=late.pk).update(due_date=timezone.localdate() + D)
    WorkItem.objects.filter(pk=fine.pk).update(due_date=timezone.localdate() + 120 * D)
    items = WorkItem.objects.filter(pk__in=[late.pk, fine.pk, undated.pk]).select_related(
        "workflow"
    )
    assert live.at_risk(items) == {late.pk}


def test_the_item_page_fragment_says_the_85_percent_date(workflow, client, member):
    _history(workflow)
    item = _open_item(workflow, days_in_qualify=2)
    client.force_login(member)
    response = client.get(f"/scoreboard/items/{item.pk}/forecast/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "85%: by " in text and "<html" not in text
    thin = _open_item(workflow, days_in_qualify=2)
    WorkItem.objects.filter(pk=thin.pk).update(state=WorkItem.State.CANCELLED)
    assert "no longer open" in client.get(f"/scoreboard/items/{thin.pk}/forecast/").content.decode()


def test_the_item_page_renders_the_forecast_once_its_model_is_built(workflow, client, member):
    """Until the workflow's model is built the page loads the forecast after it (the
    fragment builds it); from then on the page renders it, with no second request."""
    _history(workflow)
    item = _open_item(workflow, days_in_qualify=2)
    client.force_login(member)
    fragment = f"/scoreboard/items/{item.pk}/forecast/"
    page = client.get(item.get_absolute_url()).content.decode()
    assert f'hx-get="{fragment}" hx-trigger="load"' in page and "Forecasting…" in page
    assert "85%: by " in client.get(fragment).content.decode()  # builds the model
    page = client.get(item.get_absolute_url()).content.decode()
    assert "85%: by " in page and fragment not in page
    WorkItem.objects.filter(pk=item.pk).update(state=WorkItem.State.CANCELLED)
    page = client.get(item.get_absolute_url()).content.decode()
    assert 'id="item-forecast"' not in page  # a closed item has no forecast


def test_the_item_fragment_needs_a_login_and_a_real_item(workflow, client, member):
    item = _open_item(workflow, days_in_qualify=2)
    assert client.get(f"/scoreboard/items/{item.pk}/forecast/").status_code == 302
    client.force_login(member)
    assert client.get(f"/scoreboard/items/{item.pk + 10_000}/forecast/").status_code == 404


def test_the_board_gets_an_at_risk_marker_for_each_late_card_only(workflow, client, member):
    _history(workflow)
    late = _open_item(workflow, days_in_qualify=0, title="Due soon")
    fine = _open_item(workflow, days_in_qualify=0, title="Due later")
    WorkItem.objects.filter(pk=late.pk).update(due_date=timezone.localdate() + D)
    WorkItem.objects.filter(pk=fine.pk).update(due_date=timezone.localdate() + 120 * D)
    client.force_login(member)
    url = f"/scoreboard/workflows/{workflow.pk}/at-risk/"
    text = client.get(url, {"ids": f"{late.pk},{fine.pk},abc,,{'9' * 30}"}).content.decode()
    assert text.strip() == (
        f'<span id="risk-{late.pk}" class="stalled" hx-swap-oob="true">At risk</span>'
    )
    assert client.get(url).content.decode().strip() == ""
    board = client.get(f"/work/board/{workflow.pk}/").content.decode()
    assert f'id="risk-{late.pk}"' in board and "at-risk/?ids=" in board
