"""GET /api/v1/stalls/ and acknowledge/snooze through the API, under the page's rules."""

import datetime

import pytest
from django.utils import timezone

from handoffs.models import StallEpisode, WorkItem
from handoffs.stalls.detection import run_scan
from handoffs.work import services, transitions
from opshub.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def _auth(user):
    _, raw = ApiToken.issue(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Token {raw}"}


def _stall(workflow, seller, title="ACME order #1"):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    WorkItem.objects.filter(pk=item.pk).update(
        state_changed_at=timezone.now() - datetime.timedelta(hours=5)
    )
    run_scan()
    return StallEpisode.objects.get(item=item)


@pytest.fixture
def episode(workflow, seller):
    return _stall(workflow, seller)


def test_the_list_gives_item_kind_target_owner_and_level(client, episode, lead, member):
    data = client.get("/api/v1/stalls/", **_auth(member)).json()
    [row] = data["results"]
    assert row["item"] == episode.item_id and row["item_title"] == "ACME order #1"
    assert row["kind"] == "handoff_unaccepted" and row["state"] == "open"
    assert row["target"] == 4 * 3600
    assert row["owner"] == lead.pk and row["owner_email"] == "lead@example.com"
    assert row["escalation_level"] == 0 and row["escalation_person"] == lead.pk
    assert row["acknowledged_at"] is None and row["snoozed_until"] is None


def test_filters_narrow_the_list(client, workflow, seller, lead, teams, member):
    first = _stall(workflow, seller).item_id
    second = _stall(workflow, seller, title="Globex renewal").item_id
    open_one = StallEpisode.objects.open().get(item_id=first)
    resolved = StallEpisode.objects.open().get(item_id=second)
    StallEpisode.objects.filter(pk=resolved.pk).update(resolved_at=timezone.now())
    headers = _auth(member)

    def ids(query):
        response = client.get(f"/api/v1/stalls/?{query}", **headers)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("state=open") == {open_one.pk}
    assert ids("state=resolved") == {resolved.pk}
    assert ids("kind=handoff_unaccepted") == {open_one.pk, resolved.pk}
    assert ids("kind=decision_unanswered") == set()
    assert ids(f"workflow={workflow.pk}&owner={lead.pk}") == {open_one.pk, resolved.pk}
    assert ids(f"team={teams['fulfilment'].pk}") == {open_one.pk, resolved.pk}
    assert ids(f"team={teams['sales'].pk}") == set()


@pytest.mark.parametrize("query", ["state=closed", "kind=nope", "team=abc", "owner=-1"])
def test_a_bad_filter_is_a_400_naming_it(client, member, query):
    response = client.get(f"/api/v1/stalls/?{query}", **_auth(member))
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_the_owner_acknowledges_once(client, episode, lead):
    url = f"/api/v1/stalls/{episode.pk}/acknowledge/"
    response = client.post(url, **_auth(lead))
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == lead.pk
    assert client.post(url, **_auth(lead)).status_code == 409


def test_someone_outside_the_stall_cannot_acknowledge_it(client, episode, outsider, viewer):
    url = f"/api/v1/stalls/{episode.pk}/acknowledge/"
    assert client.post(url, **_auth(outsider)).status_code == 403
    assert client.post(url, **_auth(viewer)).status_code == 403
    episode.refresh_from_db()
    assert episode.acknowledged_at is None


def test_snooze_takes_until_and_reason(client, episode, member):
    until = timezone.now() + datetime.timedelta(days=1)
    response = client.post(
        f"/api/v1/stalls/{episode.pk}/snooze/",
        {"until": until.isoformat(), "reason": "Waiting for the customer's PO"},
        content_type="application/json",
        **_auth(member),
    )
    assert response.status_code == 200, response.json()
    episode.refresh_from_db()
    assert abs(episode.snoozed_until - until) < datetime.timedelta(seconds=1)
    assert episode.snooze_reason == "Waiting for the customer's PO"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"until": "2000-01-01T00:00:00Z", "reason": "x"}, "until"),
        ({"until": "2999-01-01T00:00:00Z", "reason": "x"}, "until"),
        ({"until": "tomorrow", "reason": "x"}, "until"),
        ({"reason": "x"}, "until"),
        ({"until": "2999-01-01T00:00:00Z"}, "reason"),
    ],
)
def test_a_bad_snooze_is_a_400_per_field_and_changes_nothing(client, episode, member, body, field):
    response = client.post(
        f"/api/v1/stalls/{episode.pk}/snooze/",
        body,
        content_type="application/json",
        **_auth(member),
    )
    assert response.status_code == 400
    assert field in response.json()
    episode.refresh_from_db()
    assert episode.snoozed_until is None


def test_an_extreme_offset_is_stored_in_utc(client, episode, member):
    until = (timezone.now() + datetime.timedelta(days=2)).astimezone(
        datetime.timezone(datetime.timedelta(hours=23, minutes=30))
    )
    response = client.post(
        f"/api/v1/stalls/{episode.pk}/snooze/",
        {"until": until.isoformat(), "reason": "Far east"},
        content_type="application/json",
        **_auth(member),
    )
    assert response.status_code == 200, response.json()


def test_a_resolved_stall_answers_409(client, episode, lead):
    StallEpisode.objects.filter(pk=episode.pk).update(resolved_at=timezone.now())
    assert (
        client.post(f"/api/v1/stalls/{episode.pk}/acknowledge/", **_auth(lead)).status_code == 409
    )


def test_the_list_costs_a_fixed_number_of_queries(
    client, workflow, seller, member, django_assert_max_num_queries
):
    for n in range(8):
        _stall(workflow, seller, title=f"Order {n}")
    headers = _auth(member)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/stalls/", **headers)
    assert response.json()["count"] == 8
