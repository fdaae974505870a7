"""Two people acting on one item at once, each on their own database connection."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from handoffs.models import Event, WorkItem
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db(transaction=True)


def _at_once(*actions):
    """Runs each action in its own thread (so its own connection), released together."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(i, action):
        try:
            barrier.wait(timeout=5)
            results[i] = action()
        except Exception as exc:  # the outcome is what the test inspects
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    return results


def _handed_off(item, seller):
    return transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )


def test_two_people_accepting_at_once_one_wins_and_one_event(item, seller, member, lead):
    _handed_off(item, seller)
    results = _at_once(
        lambda: transitions.handoff_accept(item=item, by=member),
        lambda: transitions.handoff_accept(item=item, by=lead),
    )
    winners = [r for r in results if isinstance(r, WorkItem)]
    losers = [r for r in results if isinstance(r, services.StateConflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    item.refresh_from_db()
    assert item.assignee_id == winners[0].assignee_id
    assert item.events.filter(kind=Event.Kind.HANDOFF_ACCEPTED).count() == 1


def test_accept_and_bounce_at_once_through_the_api_one_gets_409(item, seller, member, lead):
    _handed_off(item, seller)

    def post(user, path, data=None):
        client = APIClient()
        client.force_authenticate(user)
        return client.post(f"/api/v1/work-items/{item.pk}/{path}/", data or {}, format="json")

    results = _at_once(
        lambda: post(member, "accept"),
        lambda: post(lead, "reject", {"missing_input": "PO number"}),
    )
    assert sorted(r.status_code for r in results) == [200, 409], results
    item.refresh_from_db()
    decided = item.events.filter(
        kind__in=[Event.Kind.HANDOFF_ACCEPTED, Event.Kind.HANDOFF_BOUNCED]
    ).count()
    assert decided == 1
    assert item.replayed_state() == (item.stage_id, item.state, item.assignee_id, None)


def test_the_one_who_waited_for_the_lock_gets_a_conflict_not_an_error(item, seller, member, lead):
    """B blocks on A's row lock; once A commits, B must see the new state (StateConflict)."""
    import time

    from django.db import transaction

    _handed_off(item, seller)
    a_holds_lock = threading.Event()

    def first():
        with transaction.atomic():
            transitions.handoff_accept(item=item, by=member)
            a_holds_lock.set()
            time.sleep(0.5)  # commit only after B is waiting on the lock
        return "committed"

    def second():
        a_holds_lock.wait(timeout=5)
        return transitions.handoff_accept(item=item, by=lead)

    results = _at_once(first, second)
    assert results[0] == "committed"
    assert isinstance(results[1], services.StateConflict), results
    assert item.events.filter(kind=Event.Kind.HANDOFF_ACCEPTED).count() == 1
