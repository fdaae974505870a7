"""The dashboard's board cache: shared by viewers, invalidated by snapshot and target
changes, refreshed after FRESH seconds, warmed after a snapshot update, skipped when Redis
is down."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from handoffs.work import services, transitions
from opshub.lib.cache import cache_get
from scoreboard import board_cache
from scoreboard.services import snapshot_rebuild
from tests.scoreboard.helpers import simple

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("scoreboard:dashboard")


@pytest.fixture
def history(workflow):
    now = timezone.now()
    for n in range(4):
        simple(workflow, 10 + n, start=now - datetime.timedelta(days=n + 1), title=f"Now {n}")
    snapshot_rebuild()
    return workflow


def _delivered_count(page):
    return int(re.search(r'<span class="big-number-value" data-figure="delivered">(\d+)', page)[1])


def _deliver(workflow, seller, lead, title):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    item = transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    item = transitions.handoff_accept(item=item, by=lead)
    return transitions.item_deliver(item=item, by=lead)


def test_a_delivery_shows_on_the_next_render(
    client, lead, seller, history, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    assert _delivered_count(client.get(DASHBOARD).content.decode()) == 4
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(history, seller, lead, "Rush order for Initech")
    page = client.get(DASHBOARD).content.decode()
    assert _delivered_count(page) == 5
    assert "Rush order for Initech" in page


def test_a_new_target_shows_on_the_next_render(
    client, lead, history, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    assert "none set" in client.get(DASHBOARD, {"workflow": history.pk}).content.decode()
    url = reverse("scoreboard:target-set", args=[history.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"metric": "p85", "target_days": "2.5"})
    page = client.get(DASHBOARD, {"workflow": history.pk}).content.decode()
    assert "85th percentile cycle time" in page and "2.5 d" in page


def test_the_stored_board_is_served_until_fresh_runs_out(client, lead, seller, history):
    client.force_login(lead)
    client.get(DASHBOARD)
    # A new open item changes no snapshot fact: the stored board is served as is ...
    services.work_item_create(workflow=history, title="Late arrival", by=seller)
    assert "Late arrival" not in client.get(DASHBOARD).content.decode()
    # ... until it is FRESH seconds old; then the first request rebuilds it.
    later = timezone.now() + datetime.timedelta(seconds=board_cache.FRESH + 1)
    with time_machine.travel(later, tick=False):
        assert "Late arrival" in client.get(DASHBOARD).content.decode()


def test_the_stored_board_holds_nothing_personal(client, lead, viewer, history):
    client.force_login(lead)
    lead_page = client.get(DASHBOARD, {"workflow": history.pk}).content.decode()
    assert "Save target" in lead_page
    client.force_login(viewer)
    hx = {"HX-Request": "true"}  # the board alone: the layout's log-out form has a token too
    viewer_page = client.get(DASHBOARD, {"workflow": history.pk}, headers=hx).content.decode()
    assert "Save target" not in viewer_page
    assert "csrfmiddlewaretoken" not in viewer_page
    assert f"{history.name} · Q" in viewer_page  # the same board, from the cache


def test_a_warm_board_costs_no_aggregate_queries(
    client, lead, history, django_assert_num_queries, django_assert_max_num_queries
):
    client.force_login(lead)
    client.get("/ping/")  # the session and the user are loaded once either way
    with django_assert_max_num_queries(18):  # cold: every panel's aggregate
        client.get(DASHBOARD, {"workflow": history.pk})
    # Warm: session, user, unread count, the filter's workflow and its choices, and the
    # target rights (the lead's teams, the workflow's stages); no aggregate.
    with django_assert_num_queries(7):
        client.get(DASHBOARD, {"workflow": history.pk})
    with django_assert_max_num_queries(18):
        client.get(DASHBOARD, headers={"HX-Request": "true"})
    # The partial, all workflows: the session and the user (no navigation, so no counts).
    with django_assert_num_queries(2):
        client.get(DASHBOARD, headers={"HX-Request": "true"})


def test_a_snapshot_update_warms_the_default_board(lead, history, item):
    from scoreboard.tasks import snapshot_update_task

    snapshot_update_task([item.pk])
    tz = lead.zone
    today = timezone.localdate(timezone=tz)
    period = board_cache.dashboard.window_period("quarter", None, None, tz, today)
    key = board_cache._key(board_cache.version(), workflow=None, period=period, tz=tz, today=today)
    stored = cache_get(key)
    assert stored is not None and "Now 0" in stored["body"]


def test_with_redis_unreachable_the_board_is_computed(client, lead, history, settings):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    client.force_login(lead)
    for _ in range(2):
        page = client.get(DASHBOARD).content.decode()
        assert _delivered_count(page) == 4
