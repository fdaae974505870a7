"""Metric correctness on hand-built histories: where the time goes, percentiles, timezones."""

import datetime
import zoneinfo

import pytest

from handoffs.models import Event, Stage
from scoreboard import dashboard
from scoreboard.models import DeliveredItemFact, HandoffFact, StageTimeFact
from scoreboard.services import snapshot_rebuild
from tests.scoreboard.helpers import T0, D, H, bounced_and_blocked, build_item, simple, stages

pytestmark = pytest.mark.django_db
K = Event.Kind


def test_it_splits_a_bounced_and_blocked_item_into_working_waiting_and_blocked(workflow):
    item = bounced_and_blocked(workflow)
    snapshot_rebuild()
    qualify, ship = stages(workflow)
    fact = DeliveredItemFact.objects.get(item=item)
    assert fact.cycle_seconds == 48 * 3600
    assert fact.working_seconds == (3 + 21) * 3600
    assert fact.waiting_seconds == 5 * 3600
    assert fact.blocked_seconds == 19 * 3600
    assert (fact.handoffs, fact.bounces) == (2, 1)
    by_stage = {f.stage_id: f for f in StageTimeFact.objects.filter(item=item)}
    assert by_stage[qualify.pk].working_seconds == 3 * 3600
    assert by_stage[qualify.pk].blocked_seconds == 19 * 3600
    assert by_stage[ship.pk].waiting_seconds == 5 * 3600
    assert by_stage[ship.pk].working_seconds == 21 * 3600
    handoff = HandoffFact.objects.get(item=item)
    assert (handoff.from_stage_id, handoff.to_stage_id) == (qualify.pk, ship.pk)
    assert (handoff.submissions, handoff.bounces, handoff.first_pass) == (2, 1, False)
    assert handoff.wait_seconds == 5 * 3600


def test_flow_efficiency_counts_only_working_time_in_active_stages(workflow):
    qualify, ship = stages(workflow)
    Stage.objects.filter(pk=qualify.pk).update(kind=Stage.Kind.QUEUE)
    item = bounced_and_blocked(workflow)
    snapshot_rebuild()
    assert DeliveredItemFact.objects.get(item=item).active_seconds == 21 * 3600


def test_a_paused_decision_counts_as_awaiting_decision(workflow):
    qualify, ship = stages(workflow)
    item = build_item(
        workflow,
        [
            (K.CREATED, 0 * H, None, qualify),
            (K.HANDOFF_SUBMITTED, H, qualify, ship),
            (K.HANDOFF_ACCEPTED, H, None, ship),
            (K.DECISION_REQUESTED, 2 * H, None, None),
            (K.COMMENTED, 3 * H, None, None),
            (K.DECISION_APPROVED, 6 * H, None, None),
            (K.DELIVERED, 7 * H, ship, None),
        ],
    )
    snapshot_rebuild()
    fact = DeliveredItemFact.objects.get(item=item)
    assert fact.decision_seconds == 4 * 3600
    assert fact.working_seconds == 3 * 3600
    assert HandoffFact.objects.get(item=item).first_pass is True


def test_a_block_while_waiting_for_acceptance_resumes_waiting(workflow):
    qualify, ship = stages(workflow)
    item = build_item(
        workflow,
        [
            (K.CREATED, 0 * H, None, qualify),
            (K.HANDOFF_SUBMITTED, H, qualify, ship),
            (K.BLOCKED, 2 * H, None, None),
            (K.UNBLOCKED, 4 * H, None, None),
            (K.HANDOFF_ACCEPTED, 5 * H, None, ship),
            (K.DELIVERED, 6 * H, ship, None),
        ],
    )
    snapshot_rebuild()
    fact = DeliveredItemFact.objects.get(item=item)
    assert (fact.working_seconds, fact.waiting_seconds, fact.blocked_seconds) == (
        2 * 3600,
        2 * 3600,
        2 * 3600,
    )


def test_events_after_delivery_and_open_items_do_not_count(workflow):
    item = simple(workflow, 10)
    Event.objects.create(item=item, kind=K.COMMENTED, at=T0 + 30 * H)
    qualify, _ = stages(workflow)
    build_item(workflow, [(K.CREATED, 0 * H, None, qualify), (K.COMMENTED, H, None, None)])
    assert snapshot_rebuild() == 1
    assert DeliveredItemFact.objects.get(item=item).working_seconds == 10 * 3600


def test_percentiles_interpolate_linearly_like_numpy(workflow):
    for n, hours in enumerate([24, 48, 72, 96]):
        simple(workflow, hours, title=f"Item {n}")
    snapshot_rebuild()
    stats = DeliveredItemFact.objects.summary()
    day = 86400
    assert stats["count"] == 4
    assert stats["average"] == pytest.approx(2.5 * day)
    # numpy.percentile([1, 2, 3, 4], q): rank = q/100 * (n - 1), interpolated.
    assert stats["p50"] == pytest.approx(2.5 * day)
    assert stats["p85"] == pytest.approx(3.55 * day)
    assert stats["p95"] == pytest.approx(3.85 * day)


def test_sandbox_workflows_are_left_out(workflow):
    simple(workflow, 5)
    snapshot_rebuild()
    assert DeliveredItemFact.objects.counted().count() == 1
    workflow.is_sandbox = True
    workflow.save()
    assert DeliveredItemFact.objects.counted().count() == 0


def test_cycle_time_across_a_daylight_saving_change_is_elapsed_time(workflow):
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    start = datetime.datetime(2025, 3, 29, 12, 0, tzinfo=berlin)  # +01:00
    end = datetime.datetime(2025, 3, 30, 12, 0, tzinfo=berlin)  # +02:00: a 23-hour day
    item = simple(workflow, 23, start=start.astimezone(datetime.UTC))
    assert item.delivered_at == end  # noon to noon, local time
    snapshot_rebuild()
    assert DeliveredItemFact.objects.get(item=item).cycle_seconds == 23 * 3600


def test_quarters_follow_the_viewers_time_zone(workflow):
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    # 31 March 23:30 UTC is already 1 April in Berlin: Q2 there, Q1 in UTC.
    simple(workflow, 5, start=datetime.datetime(2025, 3, 31, 18, 30, tzinfo=datetime.UTC))
    snapshot_rebuild()
    facts = DeliveredItemFact.objects.all()
    today = datetime.date(2025, 5, 1)
    berlin_q2 = dashboard.headline(facts, workflow, dashboard.quarter_period(today, berlin))
    utc_q2 = dashboard.headline(facts, workflow, dashboard.quarter_period(today, datetime.UTC))
    assert (berlin_q2["this"]["count"], berlin_q2["last"]["count"]) == (1, 0)
    assert (utc_q2["this"]["count"], utc_q2["last"]["count"]) == (0, 1)


def test_weekly_trend_buckets_by_week(workflow):
    simple(workflow, 10, start=T0)
    simple(workflow, 20, start=T0 + D)
    simple(workflow, 30, start=T0 + 7 * D)
    snapshot_rebuild()
    weeks = list(DeliveredItemFact.objects.weekly(datetime.UTC))
    assert [w["count"] for w in weeks] == [2, 1]
    assert weeks[0]["average"] == 15 * 3600
