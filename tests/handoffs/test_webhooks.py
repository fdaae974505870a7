"""Outbound webhooks: events become signed deliveries, retried with backoff, delivered once."""

import datetime
import http.server
import json
import threading
import time

import pytest
import time_machine
from django.utils import timezone

from handoffs.integrations import webhooks
from handoffs.models import Event, WebhookDelivery
from handoffs.work import transitions
from opshub.lib.signing import verify
from tests.conftest import free_port


class Receiver:
    """A tiny HTTP endpoint on a free loopback port: answers `codes` in turn, then 200."""

    def __init__(self):
        self.codes = []
        self.requests = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/opshub"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self):
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver(settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on loopback
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def subscription(receiver, admin_user, db):
    return webhooks.subscription_create(
        name="ERP",
        url=receiver.url,
        event_kinds=["handoff_submitted", "handoff_accepted", "delivered"],
        by=admin_user,
    )


def hand_off(item, seller):
    return transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "10"}
    )


def test_a_handoff_is_delivered_signed_once_even_when_swept_twice(
    subscription, receiver, item, seller
):
    hand_off(item, seller)

    assert webhooks.sweep() == 1
    assert webhooks.sweep() == 0
    assert webhooks.send_due() == ["delivered"]
    assert webhooks.send_due() == []

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert (
        verify(
            subscription.secret,
            timestamp=headers["X-Opshub-Timestamp"],
            signature=headers["X-Opshub-Signature"],
            body=body,
        )
        is None
    )
    event = Event.objects.get(kind="handoff_submitted")
    assert headers["X-Opshub-Event-Id"] == f"evt_{event.pk}"
    payload = json.loads(body)
    assert payload["kind"] == "handoff_submitted"
    assert payload["item"]["title"] == "ACME order #1"
    assert (payload["from_stage"], payload["to_stage"]) == ("Qualify", "Ship")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)


def test_only_subscribed_kinds_after_the_subscription_are_sent(
    receiver, item, seller, lead, admin_user
):
    item = hand_off(item, seller)  # before the subscription: history is not replayed
    subscription = webhooks.subscription_create(
        name="Only deliveries", url=receiver.url, event_kinds=["delivered"], by=admin_user
    )
    transitions.handoff_accept(item=item, by=lead)

    assert webhooks.sweep() == 0
    assert not subscription.deliveries.exists()


def test_failures_are_retried_with_exponential_backoff_and_delivered_once(
    subscription, receiver, item, seller
):
    receiver.codes = [500, 503]
    hand_off(item, seller)
    webhooks.sweep()
    start = timezone.now()

    with time_machine.travel(start, tick=False) as clock:
        assert webhooks.send_due() == ["pending"]
        first = WebhookDelivery.objects.get()
        assert first.next_attempt_at == start + datetime.timedelta(seconds=30)
        assert "500" in first.last_error and first.response_code == 500
        assert webhooks.send_due() == []  # not due yet

        clock.shift(datetime.timedelta(seconds=30))
        assert webhooks.send_due() == ["pending"]
        second = WebhookDelivery.objects.get()
        assert second.next_attempt_at - timezone.now() == datetime.timedelta(seconds=60)

        clock.shift(datetime.timedelta(seconds=60))
        assert webhooks.send_due() == ["delivered"]
        clock.shift(datetime.timedelta(hours=1))
        assert webhooks.send_due() == []

    assert [r[0]["X-Opshub-Event-Id"] for r in receiver.requests] == [
        receiver.requests[0][0]["X-Opshub-Event-Id"]
    ] * 3
    assert len({body for _, body in receiver.requests}) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, "")


def test_an_unreachable_subscriber_is_given_up_after_the_last_attempt(subscription, item, seller):
    subscription.url = f"http://127.0.0.1:{free_port()}/closed"
    subscription.save()
    hand_off(item, seller)
    webhooks.sweep()

    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(webhooks.MAX_ATTEMPTS):
            assert len(webhooks.send_due()) == 1
            clock.shift(webhooks.BACKOFF_CAP)
        assert webhooks.send_due() == []

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert delivery.last_error


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(subscription, receiver, item, seller):
    hand_off(item, seller)
    webhooks.sweep()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="sending", next_attempt_at=timezone.now() + webhooks.LEASE
    )

    assert webhooks.deliver(delivery.pk) is None
    assert receiver.requests == []


def test_a_late_committed_event_behind_the_cursor_is_still_sent(
    subscription, receiver, item, seller
):
    hand_off(item, seller)
    event = Event.objects.get(kind="handoff_submitted")
    subscription.dispatched_through_event_id = event.pk + 5  # a newer event was swept first
    subscription.save()

    assert webhooks.sweep() == 1


@pytest.mark.worker
def test_send_test_is_delivered_by_a_real_worker(
    celery_worker_process, receiver, admin_user, client
):
    subscription = webhooks.subscription_create(
        name="ERP", url=receiver.url, event_kinds=["delivered"], by=admin_user
    )
    client.force_login(admin_user)

    response = client.post(f"/integrations/webhooks/{subscription.pk}/test/")

    assert response.status_code == 302
    deadline = time.monotonic() + 15
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    assert receiver.bodies()[0]["kind"] == "test"
    assert receiver.requests[0][0]["X-Opshub-Event-Id"].startswith("test_")
