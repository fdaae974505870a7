"""Stall notices posted to chat channels through the outbox: once, under two workers."""

import datetime
import http.server
import json
import threading

import pytest
from django.db import connection
from django.utils import timezone

from handoffs.models import ChannelDelivery, NotificationChannel, WorkItem
from handoffs.work import services, transitions

Event = NotificationChannel.Event


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, status=200):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status, self.posts = status, []


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append((self.path, json.loads(body)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _stalled(workflow, seller, title="ACME order #1"):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )
    WorkItem.objects.filter(pk=item.pk).update(
        state_changed_at=timezone.now() - datetime.timedelta(hours=5)
    )
    return item


def _channels(receiver, lead, teams):
    base = f"json://127.0.0.1:{receiver.server_address[1]}"
    NotificationChannel.objects.create(
        user=lead, name="My phone", url=f"{base}/lead", events=[Event.STALL_ALERT]
    )
    NotificationChannel.objects.create(
        team=teams["fulfilment"],
        name="#fulfilment",
        url=f"{base}/team",
        events=[Event.STALL_ALERT, Event.STALL_ESCALATION],
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_and_two_beats_post_each_notice_once(
    workflow, seller, lead, teams, receiver, smtp_mailers
):
    from handoffs.stalls.channels import send_due
    from handoffs.stalls.detection import run_scan
    from opshub.mail.outbox import send_due as send_emails

    _channels(receiver, lead, teams)
    _stalled(workflow, seller)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=10)
            run_scan()
            send_due()
            send_emails()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    for _ in range(2):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert sorted(path for path, _ in receiver.posts) == ["/lead", "/team"]
    assert len(smtp_mailers.messages) == 1
    lead_post = dict(receiver.posts)["/lead"]
    assert "ACME order #1" in lead_post["title"]
    assert "Acknowledge: http" in lead_post["message"] and "?t=" in lead_post["message"]
    team_post = dict(receiver.posts)["/team"]
    assert "?t=" not in team_post["message"]  # a team channel gets no personal signed link
    assert set(ChannelDelivery.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_a_refused_target_is_marked_and_never_retried(workflow, seller, lead, teams, settings):
    from handoffs.stalls.channels import send_due
    from handoffs.stalls.detection import run_scan

    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = False
    NotificationChannel.objects.create(
        user=lead, name="Internal", url="json://10.0.0.5/hook", events=[Event.STALL_ALERT]
    )
    _stalled(workflow, seller)
    run_scan()
    assert send_due() == (0, 1)
    delivery = ChannelDelivery.objects.get()
    assert delivery.status == "refused" and "internal" in delivery.last_error
    assert send_due(now=timezone.now() + datetime.timedelta(days=1)) == (0, 0)


@pytest.mark.django_db
def test_a_failing_service_is_retried_with_backoff(workflow, seller, lead, teams, settings):
    from handoffs.stalls.channels import send_due
    from handoffs.stalls.detection import run_scan

    settings.OPSHUB_WEBHOOK_ALLOW_PRIVATE = True
    server = Receiver(status=503)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        NotificationChannel.objects.create(
            user=lead,
            name="Flaky",
            url=f"json://127.0.0.1:{server.server_address[1]}/",
            events=[Event.STALL_ALERT],
        )
        _stalled(workflow, seller)
        run_scan()
        now = timezone.now()
        assert send_due(now=now) == (0, 1)
        assert send_due(now=now + datetime.timedelta(seconds=30)) == (0, 0)  # backing off
        server.status = 200
        assert send_due(now=now + datetime.timedelta(minutes=2)) == (1, 0)
        assert len(server.posts) == 2
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_a_channel_not_subscribed_to_alerts_gets_none(workflow, seller, lead, teams, receiver):
    from handoffs.stalls.detection import run_scan

    NotificationChannel.objects.create(
        user=lead,
        name="Escalations only",
        url=f"json://127.0.0.1:{receiver.server_address[1]}/",
        events=[Event.STALL_ESCALATION],
    )
    _stalled(workflow, seller)
    run_scan()
    assert not ChannelDelivery.objects.exists()


@pytest.mark.django_db
def test_the_scheduler_page_lists_channel_deliveries(client, admin_user, lead, teams):
    channel = NotificationChannel.objects.create(
        user=lead, name="My <b>phone</b>", url="json://93.184.215.14/x", events=[Event.STALL_ALERT]
    )
    ChannelDelivery.objects.create(channel=channel, key="k", title="Stalled: ACME", body="b")
    client.force_login(admin_user)
    body = client.get("/ops/scheduler/").content.decode()
    assert "Chat channel deliveries" in body
    assert "My &lt;b&gt;phone&lt;/b&gt;" in body and "Stalled: ACME" in body
    assert "93.184.215.14/x" not in body  # the URL is a secret
