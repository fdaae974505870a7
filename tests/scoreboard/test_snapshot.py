"""The snapshot: incremental updates equal the full recompute; delivery enqueues the update."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoffs.models import Event
from handoffs.work.transitions import handoff_accept, handoff_submit, item_deliver
from scoreboard.models import DeliveredItemFact, HandoffFact, StageTimeFact
from scoreboard.services import snapshot_rebuild, snapshot_update
from tests.scoreboard.helpers import T0, build_item, stages

K = Event.Kind
STEP = st.sampled_from(["submit", "accept", "bounce", "block", "unblock", "decide", "answer"])


def _history(qualify, ship, choices, gaps):
    """A valid event sequence for two stages, steered by hypothesis' choices."""
    steps, at, stage, state = [(K.CREATED, datetime.timedelta(0), None, qualify)], 0, qualify, "in"
    resume = None
    for choice, gap in zip(choices, gaps, strict=False):
        at += gap
        offset = datetime.timedelta(minutes=at)
        if choice == "submit" and state == "in" and stage == qualify:
            steps.append((K.HANDOFF_SUBMITTED, offset, qualify, ship))
            stage, state = ship, "waiting"
        elif choice == "accept" and state == "waiting":
            steps.append((K.HANDOFF_ACCEPTED, offset, None, ship))
            state = "in"
        elif choice == "bounce" and state == "waiting":
            steps.append((K.HANDOFF_BOUNCED, offset, ship, qualify))
            stage, state, resume = qualify, "blocked", "in"
        elif choice == "block" and state in ("in", "waiting"):
            steps.append((K.BLOCKED, offset, None, None))
            state, resume = "blocked", state
        elif choice == "unblock" and state == "blocked":
            steps.append((K.UNBLOCKED, offset, None, None))
            state = resume
        elif choice == "decide" and state == "in":
            steps.append((K.DECISION_REQUESTED, offset, None, None))
            state = "decision"
        elif choice == "answer" and state == "decision":
            steps.append((K.DECISION_APPROVED, offset, None, None))
            state = "in"
    return steps + [(K.DELIVERED, datetime.timedelta(minutes=at + 1), stage, None)]


def _rows():
    def dump(model, *exclude):
        return sorted(
            tuple(sorted((k, v) for k, v in row.items() if k not in exclude))
            for row in model.objects.values()
        )

    return (
        dump(DeliveredItemFact, "computed_at"),
        dump(StageTimeFact, "id"),
        dump(HandoffFact, "id"),
    )


histories = st.lists(
    st.tuples(
        st.lists(STEP, min_size=0, max_size=12),
        st.lists(st.integers(min_value=0, max_value=3000), min_size=12, max_size=12),
    ),
    min_size=1,
    max_size=4,
)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories=histories)
def test_incremental_updates_equal_the_full_recompute(workflow, histories):
    qualify, ship = stages(workflow)
    with transaction.atomic():
        items = [
            build_item(workflow, _history(qualify, ship, choices, gaps), title=f"H{n}", start=T0)
            for n, (choices, gaps) in enumerate(histories)
        ]
        for item in items:  # one delivery at a time, as the hook does
            snapshot_update(item_ids=[item.pk])
        snapshot_update(item_ids=[items[0].pk])  # running an update twice changes nothing
        incremental = _rows()
        snapshot_rebuild()  # every fingerprint matches: nothing to re-derive
        assert _rows() == incremental
        snapshot_rebuild(force=True)  # every item re-derived in one pass
        assert _rows() == incremental
        assert len(incremental[0]) == len(items)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_two_full_recomputes_leave_the_same_rows(workflow):
    qualify, ship = stages(workflow)
    build_item(workflow, _history(qualify, ship, ["submit", "bounce", "unblock"], [5] * 3))
    snapshot_rebuild()
    first = _rows()
    snapshot_rebuild()
    assert _rows() == first


@pytest.mark.django_db
def test_the_recompute_re_derives_only_items_whose_inputs_changed(workflow):
    from handoffs.models import Stage, WorkItem

    qualify, ship = stages(workflow)
    kept, moved, reopened = (
        build_item(workflow, _history(qualify, ship, ["submit", "accept"], [30] * 2), title=t)
        for t in ("kept", "moved", "reopened")
    )
    assert snapshot_rebuild() == 3
    kept_active = DeliveredItemFact.objects.get(item=kept).active_seconds
    # A late event before delivery (an import), a stage switched to a queue, a reopened item.
    Event.objects.create(item=moved, kind=K.BLOCKED, at=moved.requested_at)
    Stage.objects.filter(pk=ship.pk).update(kind=Stage.Kind.QUEUE)
    WorkItem.objects.filter(pk=reopened.pk).update(
        state=WorkItem.State.IN_PROGRESS, delivered_at=None
    )

    assert snapshot_rebuild() == 2
    after = _rows()
    # Its events did not change, but ship's kind did: no more active time there.
    assert DeliveredItemFact.objects.get(item=kept).active_seconds < kept_active
    assert not StageTimeFact.objects.filter(item=reopened).exists()
    assert not HandoffFact.objects.filter(item=reopened).exists()
    snapshot_rebuild(force=True)
    assert _rows() == after
    assert DeliveredItemFact.objects.get(item=moved).blocked_seconds > 0


@pytest.mark.django_db
def test_delivering_an_item_enqueues_the_snapshot_update_on_commit(
    workflow, item, seller, lead, django_capture_on_commit_callbacks, monkeypatch
):
    from scoreboard import tasks

    sent = []
    monkeypatch.setattr(tasks.snapshot_update_task, "delay", lambda ids: sent.append(ids))
    handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )
    handoff_accept(item=item, by=lead)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        item_deliver(item=item, by=lead)
    assert sent == []  # nothing leaves before the delivering transaction commits
    for callback in callbacks:
        callback()
    assert sent == [[item.pk]]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_updates_the_snapshot_after_delivery(
    workflow, item, seller, lead, celery_worker_process
):
    import time

    handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )
    handoff_accept(item=item, by=lead)
    item_deliver(item=item, by=lead)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not DeliveredItemFact.objects.filter(item=item).exists():
        time.sleep(0.2)
    fact = DeliveredItemFact.objects.get(item=item)
    item.refresh_from_db()
    assert fact.cycle_seconds == pytest.approx(
        (item.delivered_at - item.requested_at).total_seconds()
    )
    assert HandoffFact.objects.get(item=item).first_pass is True


@pytest.mark.django_db(transaction=True)
def test_two_workers_updating_at_once_leave_one_correct_snapshot(workflow):
    """Two real connections: item updates and full recomputes racing on the same items."""
    import threading

    from django.db import connection

    qualify, ship = stages(workflow)
    items = [
        build_item(workflow, _history(qualify, ship, ["submit", "bounce", "unblock"], [9] * 3))
        for _ in range(3)
    ]
    ids = [item.pk for item in items]
    barrier, errors = threading.Barrier(4), []

    def run(work):
        try:
            barrier.wait()
            for _ in range(3):
                work()
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    jobs = [
        lambda: snapshot_update(item_ids=ids),
        lambda: snapshot_update(item_ids=list(reversed(ids))),
        snapshot_rebuild,
        lambda: snapshot_update(item_ids=ids[:1]),
    ]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    raced = _rows()
    snapshot_rebuild()
    assert _rows() == raced
    assert DeliveredItemFact.objects.count() == 3
