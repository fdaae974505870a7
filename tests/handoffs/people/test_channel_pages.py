"""Chat channel pages: a team's (its lead, admins) and your own; the URL shown once; send test."""

import pytest

from handoffs.models import ChannelDelivery, NotificationChannel

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _add(client, page, **fields):
    body = {"name": "#fulfilment", "events": ["stall_alert", "handoff_waiting"], **fields}
    return client.post(page, body, **HTMX)


def test_a_lead_adds_a_team_channel_and_sees_its_url_once(client, lead, teams, chat_receiver):
    team = teams["fulfilment"]
    client.force_login(lead)
    url = chat_receiver.url("team-secret-token")
    response = _add(client, f"/teams/{team.pk}/channels/", url=url)
    assert response.status_code == 200 and "<html" not in response.text
    assert url in response.text and "this once" in response.text
    channel = NotificationChannel.objects.get()
    assert channel.team == team and channel.events == ["stall_alert", "handoff_waiting"]
    assert channel.created_by == lead

    page = client.get(f"/teams/{team.pk}/channels/")
    assert "team-secret-token" not in page.text and channel.masked_url in page.text
    assert "Handoffs waiting for the team to accept" in page.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": "mailto://a@b.c"}, "url", "Use an Apprise URL"),
        ({"url": "json://10.0.0.5/hook"}, "url", "Channels may only call public addresses"),
        ({"url": "slack://T1/"}, "url", "incomplete or malformed"),
        ({"url": ""}, "url", "This field is required."),
        ({"url": "json://93.184.215.14/x", "events": []}, "events", "Pick at least one event"),
        ({"url": "json://93.184.215.14/x", "events": ["action_reminder"]}, "events", "valid"),
        ({"url": "json://93.184.215.14/x", "name": ""}, "name", "This field is required."),
    ],
)
def test_a_bad_channel_is_refused_on_its_field_and_nothing_is_saved(
    client, lead, teams, fields, field, message, settings
):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(lead)
    response = _add(client, f"/teams/{teams['fulfilment'].pk}/channels/", **fields)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.text and message in response.text
    assert not NotificationChannel.objects.exists()


def test_members_and_other_leads_cannot_see_or_add_a_teams_channels(
    client, member, outsider, teams
):
    url = f"/teams/{teams['fulfilment'].pk}/channels/"
    for person in (member, outsider):
        client.force_login(person)
        assert client.get(url).status_code == 403
        assert _add(client, url, url="json://93.184.215.14/x").status_code == 403
    assert not NotificationChannel.objects.exists()


def test_a_member_manages_their_own_channels_under_settings(client, member, chat_receiver):
    client.force_login(member)
    assert 'href="/account/channels/"' in client.get("/account/settings/").text
    response = _add(
        client, "/account/channels/", name="My phone", url=chat_receiver.url("me"),
        events=["stall_alert", "decision_request", "action_reminder"],
    )  # fmt: skip
    assert response.status_code == 200
    channel = NotificationChannel.objects.get()
    assert channel.user == member and channel.team is None
    handoffs = _add(client, "/account/channels/", url=chat_receiver.url("x"))
    assert handoffs.status_code == 400  # a handoff waits for a team, not for a person


def test_a_viewer_reads_their_channel_page_but_cannot_add(client, viewer):
    client.force_login(viewer)
    assert "Viewers cannot add channels" in client.get("/account/channels/").text
    assert _add(client, "/account/channels/", url="json://93.184.215.14/x").status_code == 403


def test_send_test_posts_through_the_outbox_and_answers_in_place(
    client, lead, teams, chat_receiver
):
    channel = NotificationChannel.objects.create(
        team=teams["fulfilment"], name="#f", url=chat_receiver.url("f"), events=["stall_alert"]
    )
    client.force_login(lead)
    response = client.post(f"/channels/{channel.pk}/test/", **HTMX)
    assert response.status_code == 200
    assert f'id="test-result-{channel.pk}"' in response.text and "Posted" in response.text
    [post] = chat_receiver.messages("f")
    assert post["title"] == "Test from opshub: this channel reaches you"
    assert ChannelDelivery.objects.get().status == ChannelDelivery.Status.SENT


def test_send_test_shows_a_failing_service_and_leaves_the_retry_to_the_outbox(
    client, lead, teams, chat_receiver
):
    chat_receiver.status = 500
    channel = NotificationChannel.objects.create(
        team=teams["fulfilment"], name="#f", url=chat_receiver.url("f"), events=["stall_alert"]
    )
    client.force_login(lead)
    response = client.post(f"/channels/{channel.pk}/test/", **HTMX)
    assert response.status_code == 200 and "Not posted yet" in response.text
    delivery = ChannelDelivery.objects.get()
    assert delivery.status == ChannelDelivery.Status.PENDING and delivery.attempts == 1


def test_a_lead_deletes_a_channel_but_a_member_cannot(client, lead, member, teams):
    channel = NotificationChannel.objects.create(
        team=teams["fulfilment"], name="#f", url="json://93.184.215.14/x", events=["stall_alert"]
    )
    client.force_login(member)
    assert client.post(f"/channels/{channel.pk}/delete/").status_code == 403
    assert client.post(f"/channels/{channel.pk}/test/").status_code == 403
    client.force_login(lead)
    response = client.post(f"/channels/{channel.pk}/delete/")
    assert (
        response.status_code == 302
        and response["Location"] == f"/teams/{teams['fulfilment'].pk}/channels/"
    )
    assert not NotificationChannel.objects.exists()
