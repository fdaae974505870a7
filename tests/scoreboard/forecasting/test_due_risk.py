"""The due-date risk: the forecast task stores each open item's 85% date, the stall scan
opens a due_at_risk episode from it (one alert, no duplicate), a moved due date resolves it,
and list, inbox and item page mark the item "At risk"."""

import datetime

import pytest
from django.utils import timezone

from handoffs.models import DueForecast, Event, Stage, StallEpisode, WorkItem
from handoffs.stalls.detection import run_scan
from opshub.mail.outbox import send_due
from scoreboard.forecasting.due import refresh_due_forecasts, stage_sum_seconds
from scoreboard.forecasting.live import workflow_model
from tests.scoreboard.helpers import build_item

pytestmark = pytest.mark.django_db
K = Event.Kind
D = datetime.timedelta(days=1)


def _history(workflow, count=30, qualify_days=9):
    """`count` delivered items: Qualify took `qualify_days` (± a few hours), Ship a day."""
    qualify, ship = workflow.ordered_stages()
    start = timezone.now() - 400 * D
    for n in range(count):
        days = qualify_days + (n % 5) / 10
        steps = [
            (K.CREATED, 0 * D, None, qualify),
            (K.HANDOFF_SUBMITTED, days * D, qualify, ship),
            (K.HANDOFF_ACCEPTED, days * D, None, ship),
            (K.DELIVERED, days * D + D, ship, None),
        ]
        build_item(workflow, steps, title=f"Past {n}", start=start + n * 5 * D)


def _open(workflow, seller, *, due_in_days, title="ACME order #1"):
    qualify, _ = workflow.ordered_stages()
    now = timezone.now()
    item = build_item(workflow, [(K.CREATED, 0 * D, None, qualify)], title=title, start=now)
    WorkItem.objects.filter(pk=item.pk).update(
        stage_entered_at=now,
        assignee=seller,
        due_date=timezone.localdate() + datetime.timedelta(days=due_in_days),
    )
    item.refresh_from_db()
    return item


def _scan_and_send():
    run_scan()
    return send_due()


def test_an_item_due_in_two_days_with_ten_left_gets_one_due_at_risk_alert(
    workflow, seller, smtp_mailers
):
    _history(workflow)
    item = _open(workflow, seller, due_in_days=2)
    assert refresh_due_forecasts() == 1
    stored = DueForecast.objects.get(item=item)
    assert stored.method == DueForecast.Method.FORECAST
    assert 9 <= (stored.p85_at - timezone.now()).days <= 11
    _scan_and_send()
    _scan_and_send()
    episode = StallEpisode.objects.get(kind="due_at_risk")
    assert episode.due_date == item.due_date and episode.owner == seller
    mails = [m for m in smtp_mailers.parsed() if "likely to miss its due date" in m["Subject"]]
    assert len(mails) == 1 and mails[0]["To"] == seller.email
    # A promised date has no target to be over: the subject names the date, not "0 minutes".
    due = item.due_date
    assert f"(due {due:%a} {due.day} {due:%b %Y})" in mails[0]["Subject"]
    assert "Stalled" not in mails[0]["Subject"] and "target" not in mails[0]["Subject"]
    assert "its 85% forecast falls after that date" in mails[0].get_body(("plain",)).get_content()


def test_moving_the_due_date_past_the_forecast_resolves_the_risk(workflow, seller):
    _history(workflow)
    item = _open(workflow, seller, due_in_days=2)
    refresh_due_forecasts()
    run_scan()
    assert StallEpisode.objects.open().filter(kind="due_at_risk").count() == 1
    WorkItem.objects.filter(pk=item.pk).update(
        due_date=timezone.localdate() + datetime.timedelta(days=30)
    )
    run_scan()
    assert StallEpisode.objects.open().filter(kind="due_at_risk").count() == 0


def test_a_due_date_moved_but_still_at_risk_starts_a_new_episode(workflow, seller):
    _history(workflow)
    item = _open(workflow, seller, due_in_days=2)
    refresh_due_forecasts()
    run_scan()
    WorkItem.objects.filter(pk=item.pk).update(
        due_date=timezone.localdate() + datetime.timedelta(days=3)
    )
    run_scan()
    episodes = StallEpisode.objects.filter(kind="due_at_risk").order_by("pk")
    assert [e.resolved_at is None for e in episodes] == [False, True]
    assert episodes.last().due_date == timezone.localdate() + datetime.timedelta(days=3)


def test_delivering_the_item_resolves_the_risk_and_drops_its_stored_date(workflow, seller):
    _history(workflow)
    item = _open(workflow, seller, due_in_days=2)
    refresh_due_forecasts()
    run_scan()
    WorkItem.objects.filter(pk=item.pk).update(
        state=WorkItem.State.DONE, delivered_at=timezone.now()
    )
    run_scan()
    assert StallEpisode.objects.open().filter(kind="due_at_risk").count() == 0
    refresh_due_forecasts()
    assert not DueForecast.objects.exists()


def test_an_item_on_track_is_not_at_risk(workflow, seller):
    _history(workflow)
    _open(workflow, seller, due_in_days=30)
    refresh_due_forecasts()
    run_scan()
    assert not StallEpisode.objects.filter(kind="due_at_risk").exists()


def test_an_overdue_item_is_due_missed_not_also_at_risk(workflow, seller):
    _history(workflow)
    _open(workflow, seller, due_in_days=-1)
    refresh_due_forecasts()
    run_scan()
    kinds = set(StallEpisode.objects.open().values_list("kind", flat=True))
    assert "due_missed" in kinds and "due_at_risk" not in kinds


def test_with_too_little_history_the_remaining_stages_85th_percentiles_are_summed(workflow, seller):
    _history(workflow, count=6)  # under the forecast's 20, over the 5 visits a stage needs
    item = _open(workflow, seller, due_in_days=2)
    refresh_due_forecasts()
    stored = DueForecast.objects.get(item=item)
    assert stored.method == DueForecast.Method.STAGE_P85
    # Qualify's p85 (9.3 days, none of it spent yet) plus Ship's (a day).
    assert 10 <= (stored.p85_at - timezone.now()).total_seconds() / 86400 <= 10.5
    run_scan()
    assert StallEpisode.objects.get(kind="due_at_risk").target_source == "stage_p85"


def test_the_stage_sum_counts_what_is_left_of_the_current_stage_and_the_targets_without_visits(
    workflow,
):
    _history(workflow, count=6)
    model = workflow_model(workflow, refresh=True)
    qualify, ship = workflow.ordered_stages()
    Stage.objects.filter(pk=ship.pk).update(target=datetime.timedelta(hours=6))
    third = Stage.objects.create(
        workflow=workflow, name="Invoice", position=3, team=ship.team, target=D
    )
    stages = [qualify, ship, third]
    seconds = stage_sum_seconds(model, stages, [0, 2], [20 * 86400, 3600])
    # 20 days into Qualify: nothing left of it, then Ship's p85 (a day), Invoice's target.
    assert seconds[0] == pytest.approx(2 * 86400)
    assert seconds[1] == pytest.approx(86400 - 3600)


def test_list_inbox_and_item_page_mark_the_item_at_risk(client, workflow, seller, lead):
    _history(workflow)
    item = _open(workflow, seller, due_in_days=2)
    _open(workflow, seller, due_in_days=30, title="Calm order")
    refresh_due_forecasts()
    client.force_login(seller)
    listing = client.get("/work/").content.decode()
    row = listing[listing.index("ACME order #1") :]
    assert "At risk" in row[: row.index("</tr>")]
    calm = listing[listing.index("Calm order") :]
    assert "At risk" not in calm[: calm.index("</tr>")]
    risky_only = client.get("/work/?due=at_risk").content.decode()
    assert "ACME order #1" in risky_only and "Calm order" not in risky_only
    assert "At risk" in client.get(f"/work/{item.pk}/").content.decode()
    WorkItem.objects.filter(pk=item.pk).update(state=WorkItem.State.IN_PROGRESS)
    inbox = client.get("/work/inbox/").content.decode()
    assert "At risk" in inbox[inbox.index("ACME order #1") :]


def test_the_list_due_filter_refuses_an_unknown_choice_without_failing(client, seller):
    client.force_login(seller)
    assert client.get("/work/?due=%C2%B2").status_code == 200
