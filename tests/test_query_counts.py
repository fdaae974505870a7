"""Query counts of every page and every API read, pinned, so N+1 queries cannot creep in.

Each GET that answers 200 in the permission matrix (tests/test_permissions_matrix.py)
has a row here: the most queries it may make, on seed_demo's organisation, where every
list has several rows (so a per-row query shows up as a jump, not as one more query).
`make bench` shows what the pages cost at 100,000 items; these pins keep the benchmark's
results from silently regressing. A pattern without a row fails the test. To draft rows,
run

    OPSHUB_QUERY_RECORD=1 pytest tests/test_query_counts.py -s

which prints the observed counts in the table's format; a jump over the old pin is a
regression to fix (select_related / prefetch_related / one aggregate), not a row to raise.
"""

import os

import pytest
from django.test import Client

from tests.test_permissions_matrix import MATRIX, _path, _routes, org  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

RECORD = os.environ.get("OPSHUB_QUERY_RECORD") == "1"
PERSONAS = ("anon", "viewer", "member", "outsider", "lead", "admin")

# route: the most queries one GET may make (the lead's view, or the admin's where only
# admins get in). Counted on the second request, with caches warm.
LIMITS = {
    # The board comes from the cache when warm (scoreboard.board_cache; cold: 14 queries,
    # pinned in tests/scoreboard/test_board_cache.py).
    "": 4,
    "account/2fa/": 4,
    "account/2fa/setup/": 4,
    "account/2fa/verify/": 3,
    "account/channels/": 4,
    "account/settings/": 4,
    "accounts/login/": 3,
    "accounts/password_change/": 2,
    "accounts/password_change/done/": 2,
    "accounts/password_reset/": 3,
    "accounts/password_reset/done/": 3,
    "accounts/reset/<uidb64>/<token>/": 4,
    "accounts/reset/done/": 3,
    "api/docs/": 2,
    "api/schema/": 2,
    "api/v1/": 2,
    "api/v1/action-items/": 4,
    "api/v1/action-items/<pk>/": 3,
    "api/v1/baselines/": 4,
    "api/v1/baselines/<pk>/": 3,
    "api/v1/baselines/<pk>/discovery/": 3,
    "api/v1/breakages/": 7,
    "api/v1/breakages/<pk>/": 6,
    "api/v1/decisions/": 5,
    "api/v1/decisions/<pk>/": 4,
    "api/v1/intake-sources/": 4,
    "api/v1/intake-sources/<pk>/": 3,
    "api/v1/intake-sources/<pk>/deliveries/": 5,
    "api/v1/notification-channels/": 4,
    "api/v1/notification-channels/<pk>/": 3,
    "api/v1/scoreboard/": 5,
    "api/v1/stalls/": 4,
    "api/v1/stalls/<pk>/": 3,
    "api/v1/teams/": 5,
    "api/v1/teams/<pk>/": 4,
    "api/v1/users/": 6,
    "api/v1/users/<pk>/": 5,
    "api/v1/webhook-subscriptions/": 4,
    "api/v1/webhook-subscriptions/<pk>/": 3,
    "api/v1/webhook-subscriptions/<pk>/deliveries/": 4,
    "api/v1/work-items/": 4,
    "api/v1/work-items/<pk>/": 3,
    "api/v1/work-items/<pk>/events/": 5,
    # The workflow's forecast model comes from Redis when warm (scoreboard.forecasting.live);
    # two more: the working calendar of the item's stage's team and its closed days.
    "api/v1/work-items/<str:pk>/forecast/": 4,
    "api/v1/workflows/": 7,
    "api/v1/workflows/<str:pk>/escalation-policy/": 4,
    "api/v1/workflows/<pk>/": 6,
    "discovery/": 4,
    "discovery/<str:pk>/": 5,
    "email/delivery/<str:token>/": 4,
    "email/delivery/<str:token>/one-click/": 4,
    "healthz": 2,
    "integrations/": 5,
    "integrations/deliveries/<int:pk>/": 4,
    "integrations/intake/<int:pk>/": 7,
    "integrations/intake/<int:pk>/edit/": 6,
    "integrations/intake/new/": 5,
    "integrations/webhooks/": 4,
    "integrations/webhooks/<int:pk>/": 5,
    "integrations/webhooks/<int:pk>/delete/": 5,
    "integrations/webhooks/<int:pk>/edit/": 4,
    "invitations/<str:token>/": 4,
    "map/": 10,
    "notifications/": 5,
    "ops/scheduler/": 12,
    "people/": 6,
    # The person, their teams, open items and recoveries (counts and the first 20), the
    # teams they lead and the reassignment choices: a fixed set, not per row.
    "people/<int:pk>/": 12,
    "people/invite/": 5,
    "ping/": 3,
    "protocols/<int:pk>/": 11,  # + repeats at this handoff
    "protocols/<int:pk>/draft/": 13,
    "protocols/<int:pk>/draft/problems/": 5,
    "protocols/<int:pk>/print/": 7,
    "reviews/": 22,
    "reviews/<int:pk>/": 43,
    # The agenda is built once to count what the close would freeze undiscussed.
    "reviews/<int:pk>/close/": 27,
    "reviews/<int:pk>/projector/": 33,
    # One query per published protocol version (bounded by the configuration, not the data).
    "reviews/audit/": 45,
    "reviews/breakages/<int:pk>/": 10,
    "reviews/breakages/new/": 6,
    "reviews/actions/overdue/": 6,
    "reviews/p/<str:token>/": 30,
    "reviews/patterns/": 12,
    "scoreboard/import/": 3,
    "scoreboard/import/<str:pk>/": 4,
    # The stage editor and the workflow page show the escalation policy section: its levels,
    # the people of the named-person list (one query for every row), the workflow's teams.
    "stages/<int:pk>/": 14,
    "stalls/": 5,
    "stalls/<int:pk>/": 5,
    "styleguide/": 3,
    "teams/": 5,  # with the one query that says whether the People link shows
    "teams/<int:pk>/": 7,
    "teams/<int:pk>/calendar/": 7,  # with the calendar's closed days in one prefetch
    "teams/<int:pk>/channels/": 5,
    "teams/<int:pk>/edit/": 6,
    "teams/new/": 4,
    "work/": 10,
    # 8 here; one more (the stage's calendar) when the forecast's model is built and the
    # forecast is rendered in the page. The decision form is read when opened (below).
    "work/<int:pk>/": 9,
    "work/<int:pk>/decisions/": 12,
    # With the working calendar of the item's stage's team and its closed days.
    "scoreboard/items/<int:pk>/forecast/": 3,
    "scoreboard/workflows/<int:pk>/at-risk/": 2,
    # The flow figures and the throughput forecast come from the cache when warm.
    "scoreboard/workflows/<int:pk>/flow/": 5,
    "work/board/<int:workflow_pk>/": 8,
    "work/import/": 6,
    "work/import/<int:pk>/": 11,
    "work/inbox/": 11,
    # My work: six short lists, one query each (bench target: within 2× the trivial page).
    "work/mine/": 4,
    "work/new/": 5,
    "workflows/": 7,
    "workflows/<int:pk>/": 12,
    "workflows/<int:pk>/decisions/": 10,
    "workflows/<int:pk>/decisions/log/": 7,
    "workflows/<int:pk>/decisions/print/": 9,
    "workflows/<int:pk>/decisions/types/<int:type_pk>/": 6,
    "workflows/<int:pk>/decisions/types/<int:type_pk>/<str:role>/": 11,
    "workflows/<int:pk>/decisions/types/new/": 4,
    "workflows/<int:pk>/edit/": 6,
    "workflows/<int:pk>/export/events.csv": 4,
    "workflows/<int:pk>/export/items.csv": 5,
    "workflows/new/": 3,
}


def _pages():
    """{route: persona} for every pattern whose GET answers 200 to the lead or the admin."""
    pages = {}
    for key in _routes():
        if key not in MATRIX:
            continue
        answers = dict(zip(PERSONAS, MATRIX[key][1].split(), strict=True))
        for persona in ("lead", "admin"):
            if answers[persona] == "200":
                pages[key] = persona
                break
    return pages


def _get(client, path):
    response = client.get(path)
    if response.streaming:  # CSV exports query as they stream
        b"".join(response.streaming_content)
    return response


def test_every_page_and_api_read_has_a_pinned_query_count():
    missing = sorted(set(_pages()) - set(LIMITS))
    stale = sorted(set(LIMITS) - set(_pages()))
    assert not missing or RECORD, f"pages without a pinned query count in LIMITS: {missing}"
    assert not stale, f"LIMITS rows for pages that no longer answer 200: {stale}"


def test_no_page_makes_more_queries_than_pinned(org, django_assert_max_num_queries):  # noqa: F811
    clients = {}
    for persona in ("lead", "admin"):
        clients[persona] = Client()
        clients[persona].force_login(org["personas"][persona])
    recorded = {}
    for key, persona in sorted(_pages().items()):
        kind = MATRIX[key][0]
        path = _path(key, org[kind] if kind else {})
        client = clients[persona]
        client.get(path)  # caches warm, sessions touched: count the steady state
        if RECORD:
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                _get(client, path)
            recorded[key] = len(ctx.captured_queries)
            continue
        limit = LIMITS.get(key)
        if limit is None:
            continue
        with django_assert_max_num_queries(limit, info=f"GET {path} as {persona}"):
            response = _get(client, path)
        assert response.status_code == 200, (path, response.status_code)
    if RECORD:
        print("\nLIMITS = {")
        for key, count in sorted(recorded.items()):
            print(f'    "{key}": {count},')
        print("}")
