"""/api/v1/notification-channels/: the URL shown once, then masked; who manages what."""

import pytest

from handoffs.models import ChannelDelivery, NotificationChannel
from opshub.accounts.models import ApiToken

pytestmark = pytest.mark.django_db

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7aB/"


def _auth(user):
    _, raw = ApiToken.issue(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Token {raw}"}


def _post(client, user, body):
    return client.post(
        "/api/v1/notification-channels/", body, content_type="application/json", **_auth(user)
    )


def test_a_lead_adds_a_team_channel_and_sees_the_url_once(client, lead, teams):
    body = {"name": "#fulfilment", "url": SLACK, "team": teams["fulfilment"].pk,
            "events": ["stall_alert", "stall_escalation"]}  # fmt: skip
    response = _post(client, lead, body)
    assert response.status_code == 201, response.json()
    assert response.json()["shown_url"] == SLACK
    assert response.json()["service"] == "Slack"
    channel_id = response.json()["id"]
    again = client.get(f"/api/v1/notification-channels/{channel_id}/", **_auth(lead)).json()
    assert "shown_url" not in again and "url" not in again
    assert "TIiajkdn" not in again["masked_url"]


def test_a_member_adds_a_personal_channel_but_not_a_team_one(client, member, teams):
    mine = {"name": "Phone", "url": SLACK, "user": member.pk, "events": ["stall_alert"]}
    assert _post(client, member, mine).status_code == 201
    team = {"name": "#x", "url": SLACK, "team": teams["fulfilment"].pk, "events": ["stall_alert"]}
    assert _post(client, member, team).status_code == 403
    assert NotificationChannel.objects.count() == 1


def test_someone_elses_personal_channel_is_refused(client, member, lead):
    body = {"name": "Phone", "url": SLACK, "user": lead.pk, "events": ["stall_alert"]}
    assert _post(client, member, body).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "url": "mailto://a@b.c", "events": ["stall_alert"]}, "url"),
        ({"name": "x", "url": "json://127.0.0.1/x", "events": ["stall_alert"]}, "url"),
        ({"name": "x", "url": SLACK, "events": []}, "events"),
        ({"name": "x", "url": SLACK, "events": ["nope"]}, "events"),
        ({"name": "x", "url": SLACK, "events": ["stall_alert"]}, "team"),
    ],
)
def test_bad_channels_get_a_message_per_field(client, member, body, field, settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = False
    response = _post(client, member, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not NotificationChannel.objects.exists()


def test_send_test_queues_one_notice(client, member):
    channel = NotificationChannel.objects.create(
        user=member, name="Phone", url=SLACK, events=["stall_alert"]
    )
    url = f"/api/v1/notification-channels/{channel.pk}/send-test/"
    assert client.post(url, **_auth(member)).status_code == 202
    assert ChannelDelivery.objects.get().title.startswith("Test from opshub")


def test_others_cannot_see_or_touch_a_channel(client, member, seller, viewer):
    channel = NotificationChannel.objects.create(
        user=member, name="Phone", url=SLACK, events=["stall_alert"]
    )
    url = f"/api/v1/notification-channels/{channel.pk}/"
    assert client.get(url, **_auth(seller)).status_code == 404
    assert client.delete(url, **_auth(seller)).status_code == 404
    assert client.delete(url, **_auth(viewer)).status_code == 403
    assert client.delete(url, **_auth(member)).status_code == 204


def test_a_channel_hears_only_what_its_kind_can_as_on_the_pages(client, member, lead, teams):
    personal = {"name": "Phone", "url": SLACK, "user": member.pk, "events": ["handoff_waiting"]}
    response = _post(client, member, personal)
    assert response.status_code == 400
    assert "team channel" in response.json()["events"][0]
    team = {"name": "#f", "url": SLACK, "team": teams["fulfilment"].pk,
            "events": ["stall_alert", "action_reminder"]}  # fmt: skip
    response = _post(client, lead, team)
    assert response.status_code == 400
    assert "personal channel" in response.json()["events"][0]
    assert not NotificationChannel.objects.exists()

    team["events"] = ["stall_alert"]
    channel_id = _post(client, lead, team).json()["id"]
    response = client.patch(
        f"/api/v1/notification-channels/{channel_id}/",
        {"events": ["action_reminder"]},
        content_type="application/json",
        **_auth(lead),
    )
    assert response.status_code == 400 and "events" in response.json()
    assert NotificationChannel.objects.get().events == ["stall_alert"]
