"""Stall pages: acknowledge and snooze from the email link or the UI, the scheduler page."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from handoffs.models import EmailDelivery, StallEpisode, WorkItem
from handoffs.stalls.alerts import action_token
from handoffs.stalls.detection import run_scan, stalled_now
from handoffs.work import services, transitions

pytestmark = pytest.mark.django_db


@pytest.fixture
def episode(workflow, seller):
    item = services.work_item_create(workflow=workflow, title="ACME order #1", by=seller)
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    WorkItem.objects.filter(pk=item.pk).update(
        state_changed_at=timezone.now() - datetime.timedelta(hours=5)
    )
    run_scan()
    return StallEpisode.objects.get()


def _detail(episode):
    return reverse("handoffs:stall-detail", args=[episode.pk])


def _ack(episode):
    return reverse("handoffs:stall-acknowledge", args=[episode.pk])


def _snooze(episode):
    return reverse("handoffs:stall-snooze", args=[episode.pk])


def test_anonymous_visitors_without_a_link_are_sent_to_login(client, episode):
    for url in (reverse("handoffs:stall-list"), _detail(episode), reverse("handoffs:scheduler")):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(_ack(episode), {"t": "forged"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    episode.refresh_from_db()
    assert episode.acknowledged_at is None


def test_the_emailed_link_acknowledges_without_a_password(client, episode, lead):
    token = action_token(episode, lead)
    page = client.get(f"{_detail(episode)}?t={token}")
    assert page.status_code == 200
    assert b"Acknowledge" in page.content
    response = client.post(_ack(episode), {"t": token})
    assert response.status_code == 302
    episode.refresh_from_db()
    assert episode.acknowledged_by == lead


def test_a_link_made_for_another_episode_does_not_work(client, episode, lead, workflow, seller):
    other = StallEpisode.objects.create(
        item=episode.item,
        kind=StallEpisode.Kind.STAGE_OVER_TARGET,
        started_at=timezone.now(),
        target=datetime.timedelta(hours=1),
        escalation_delay=datetime.timedelta(hours=2),
    )
    response = client.post(_ack(episode), {"t": action_token(other, lead)})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_outsiders_and_viewers_cannot_acknowledge_or_snooze(client, episode, outsider, viewer):
    for user in (outsider, viewer):
        client.force_login(user)
        assert client.post(_ack(episode)).status_code == 403
        assert client.post(_snooze(episode), {"until": "2099-01-01T09:00"}).status_code == 403
    episode.refresh_from_db()
    assert episode.acknowledged_at is None and episode.snoozed_until is None


def test_the_owner_acknowledges_from_the_ui_with_htmx(client, episode, lead):
    client.force_login(lead)
    response = client.post(_ack(episode), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"Acknowledged" in response.content and b"<html" not in response.content
    episode.refresh_from_db()
    assert episode.acknowledged_by == lead


def test_snooze_needs_a_future_time_and_a_reason(client, episode, lead):
    client.force_login(lead)
    response = client.post(_snooze(episode), {"until": "2001-01-01T09:00", "reason": ""})
    assert response.status_code == 400
    assert b"Pick a time in the future." in response.content
    assert b"This field is required." in response.content
    episode.refresh_from_db()
    assert episode.snoozed_until is None

    until = (timezone.now() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(_snooze(episode), {"until": until, "reason": "Waiting for the PO"})
    assert response.status_code == 302
    episode.refresh_from_db()
    assert episode.snooze_reason == "Waiting for the PO" and episode.is_snoozed


def test_the_stall_list_shows_mine_first_in_bounded_queries(
    client, episode, lead, django_assert_max_num_queries
):
    client.force_login(lead)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("handoffs:stall-list"))
    assert response.status_code == 200
    assert [e.pk for e in response.context["mine"]] == [episode.pk]


def test_stalled_now_selects_what_the_dashboard_shows(episode, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = stalled_now(5)
        assert [(e.item.title, str(e.owner), e.item.stage.name) for e in rows] == [
            ("ACME order #1", "Lead", "Ship")
        ]


def test_the_scheduler_page_is_for_admins_only(client, lead, admin_user, episode):
    client.force_login(lead)
    assert client.get(reverse("handoffs:scheduler")).status_code == 403
    assert client.post(reverse("handoffs:scheduler-test-alert")).status_code == 403
    client.force_login(admin_user)
    page = client.get(reverse("handoffs:scheduler"))
    assert page.status_code == 200
    assert page.context["counts"]["total"] == 1
    assert b"Send me a test alert now" in page.content


def test_send_me_a_test_alert_goes_through_the_outbox(
    client, admin_user, smtp_mailers, django_capture_on_commit_callbacks
):
    from opshub.mail.outbox import send_due

    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("handoffs:scheduler-test-alert"))
    assert response.status_code == 302
    delivery = EmailDelivery.objects.get(kind=EmailDelivery.Kind.TEST)
    assert delivery.to_email == "admin@example.com"
    send_due()
    [message] = smtp_mailers.parsed()
    assert message["Subject"] == "Test alert from opshub: stall emails reach you"


def test_the_item_page_names_each_open_stall(client, episode, lead):
    StallEpisode.objects.create(
        item=episode.item,
        kind=StallEpisode.Kind.STAGE_OVER_TARGET,
        started_at=timezone.now(),
        target=datetime.timedelta(hours=1),
        escalation_delay=datetime.timedelta(hours=2),
    )
    client.force_login(lead)
    html = client.get(episode.item.get_absolute_url()).content.decode()
    assert "Stalled: handoff not accepted" in html
    assert "Stalled: stage over target" in html
