"""Many people of the sending team handing one item off at once, each request on its own
database connection: one moves it, every other one is told it lost the race (409), not that
it may not act (403), and the item moves once."""

import threading
import time

import psycopg
import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from handoffs.models import Event, WorkItem

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"checklist": ["signed"], "fields": {"po_number": "PO-1", "amount": "10"}}


def _waiting_on_a_lock():
    """Sessions of this test database blocked on a lock, read on a connection of its own so
    every count is fresh (pg_stat_activity is a snapshot per transaction)."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], autocommit=True
    ) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            [settings["NAME"]],
        ).fetchone()[0]


def _handoffs_all_routed_before_the_first_commits(item, users):
    """Holds the item's row lock until every request has read the item and waits on the
    lock, then lets them go: each saw the item in its first stage."""
    answers = [None] * len(users)

    def post(i, user):
        try:
            client = APIClient()
            client.force_authenticate(user)
            answers[i] = client.post(f"/api/v1/work-items/{item.pk}/handoff/", BODY, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i, u)) for i, u in enumerate(users)]
    with transaction.atomic():
        WorkItem.objects.select_for_update().filter(pk=item.pk).values_list("pk").get()
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 15
        while _waiting_on_a_lock() < len(users) and time.monotonic() < deadline:
            time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_concurrent_handoffs_of_one_item_one_wins_and_the_rest_get_409(item, seller, teams):
    sales = list(teams["sales"].members.all())
    users = (sales * 6)[:6]
    answers = _handoffs_all_routed_before_the_first_commits(item, users)

    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * (len(users) - 1), [a.json() for a in answers]
    lost = next(a for a in answers if a.status_code == 409).json()["detail"]
    assert "moved to another stage while you were handing it off" in lost
    item.refresh_from_db()
    assert item.state == WorkItem.State.WAITING_ACCEPTANCE
    assert item.events.filter(kind=Event.Kind.HANDOFF_SUBMITTED).count() == 1


def test_an_outsider_racing_the_team_still_gets_403(item, seller, outsider):
    answers = _handoffs_all_routed_before_the_first_commits(item, [seller, outsider])

    assert [a.status_code for a in answers] == [200, 403]
    assert item.events.filter(kind=Event.Kind.HANDOFF_SUBMITTED).count() == 1
