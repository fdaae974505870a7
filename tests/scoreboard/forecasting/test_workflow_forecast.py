"""Workflow forecasts from throughput: when will N be done, how many by a date."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from handoffs.models import Event, Workflow
from scoreboard.metrics import rebuild_all_facts
from tests.scoreboard.helpers import build_item

pytestmark = pytest.mark.django_db
K = Event.Kind
D = datetime.timedelta(days=1)
URL = "/api/v1/scoreboard/forecast/"


def _two_a_day(workflow, days=90):
    """Two items delivered every day of the last `days` (so 14 a week)."""
    qualify, ship = workflow.ordered_stages()
    today = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    for day in range(1, days + 1):
        for n in range(2):
            build_item(
                workflow,
                [(K.CREATED, 0 * D, None, qualify), (K.DELIVERED, D, qualify, None)],
                title=f"Day {day} #{n}",
                start=today - (day + 1) * D,
            )
    rebuild_all_facts()


@pytest.fixture
def client(member):
    api = APIClient()
    api.force_authenticate(member)
    return api


def test_when_will_n_items_be_done_follows_the_throughput(workflow, client):
    _two_a_day(workflow)
    body = client.get(URL, {"workflow": workflow.pk, "items": 28}).json()
    assert body["simulations"] == 10_000 and body["throughput_per_week"] == 14.0
    today = timezone.now().astimezone(datetime.UTC).date()
    # Exactly two a day: 28 items take 14 days, whatever the draws.
    for key in ("p50_at", "p85_at", "p95_at"):
        assert datetime.datetime.fromisoformat(body[key]).date() == today + 14 * D


def test_how_many_by_a_date_counts_at_least_that_many(workflow, client):
    _two_a_day(workflow)
    until = timezone.now().astimezone(datetime.UTC).date() + 10 * D
    body = client.get(URL, {"workflow": workflow.pk, "until": until.isoformat()}).json()
    assert (body["days"], body["p50_items"], body["p85_items"], body["p95_items"]) == (
        10, 20, 20, 20,
    )  # fmt: skip


def test_no_throughput_says_so(workflow, client):
    body = client.get(URL, {"workflow": workflow.pk, "items": 5}).json()
    assert body["reason"].startswith("Nothing was delivered")
    assert body["p85_at"] is None


def test_bad_questions_are_400_with_a_message_per_field(workflow, client):
    sandbox = Workflow.objects.create(name="Play", is_sandbox=True)
    yesterday = timezone.now().date() - D
    for params, field in (
        ({}, "workflow"),
        ({"workflow": "abc"}, "workflow"),
        ({"workflow": sandbox.pk}, "workflow"),
        ({"workflow": workflow.pk, "items": -1}, "items"),
        ({"workflow": workflow.pk, "items": "x"}, "items"),
        ({"workflow": workflow.pk, "until": yesterday.isoformat()}, "until"),
        ({"workflow": workflow.pk, "until": "2027-02-30"}, "until"),
        ({"workflow": workflow.pk, "items": 3, "until": "2999-01-01"}, "until"),
    ):
        response = client.get(URL, params)
        assert response.status_code == 400, params
        assert field in response.json()["errors"], params


def test_anonymous_callers_are_refused(workflow):
    assert APIClient().get(URL, {"workflow": workflow.pk}).status_code in (401, 403)


def test_both_forecasts_are_in_the_openapi_schema(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    item = paths["/api/v1/work-items/{id}/forecast/"]["get"]
    assert {"p50_at", "p85_at", "p95_at", "simulations", "history_items", "method"} <= set(
        item["responses"]["200"]["content"]["application/json"]["schema"].get("properties", {})
        or _component(client, item)
    )
    params = {p["name"] for p in paths["/api/v1/scoreboard/forecast/"]["get"]["parameters"]}
    assert {"workflow", "items", "until"} <= params


def _component(client, operation):
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    return set(schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])
