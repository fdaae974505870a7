"""Stall detection and alert emails, through a real SMTP server, with time travel."""

import datetime

import pytest
import time_machine

from handoffs.models import EmailDelivery, Event, Notification, StallEpisode, StallNotice
from handoffs.stalls.detection import run_scan, stalled_now
from handoffs.work import services, transitions
from opshub.mail.outbox import send_due

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
# A Monday morning, UTC.
MONDAY = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def _handed_off(workflow, seller, title="ACME order #1"):
    item = services.work_item_create(workflow=workflow, title=title, by=seller)
    return transitions.handoff_submit(
        item=item, by=seller, checklist=["signed"], fields={"po_number": "PO-1", "amount": "120"}
    )


def _scan_and_send():
    run_scan()
    return send_due()


def test_a_handoff_left_unaccepted_sends_one_email_to_its_owner(
    clock, workflow, seller, lead, smtp_mailers, settings
):
    settings.OPSHUB_BASE_URL = "https://ops.example.com"
    item = _handed_off(workflow, seller)
    clock.shift(3 * H)
    _scan_and_send()
    assert not StallEpisode.objects.exists()

    clock.shift(2 * H)
    assert _scan_and_send() == (1, 0)
    [message] = smtp_mailers.parsed()
    assert message["To"] == "lead@example.com"
    assert message["Subject"] == (
        "Stalled 5 h: ACME order #1 — waiting for acceptance (target 4 h)"
    )
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Waiting 5 h against a target of 4 h: 1 h over." in text
    assert f"https://ops.example.com/work/{item.pk}/" in text
    assert "https://ops.example.com/stalls/" in html
    episode = StallEpisode.objects.get()
    assert episode.kind == StallEpisode.Kind.HANDOFF_UNACCEPTED and episode.owner == lead
    assert item.events.filter(kind=Event.Kind.STALL_STARTED).count() == 1
    assert Notification.objects.filter(user=lead, item=item).count() == 1

    clock.shift(H / 60)
    assert _scan_and_send() == (0, 0)
    assert len(smtp_mailers.messages) == 1


def test_it_escalates_to_the_lead_and_reminds_the_owner_while_unresolved(
    clock, workflow, seller, lead, member, smtp_mailers, settings
):
    settings.OPSHUB_REMINDER_INTERVAL_HOURS = 24
    item = _handed_off(workflow, seller)
    services.work_item_assign(item=item, by=lead, assignee=member)
    clock.shift(5 * H)
    _scan_and_send()
    clock.shift(2 * H)
    _scan_and_send()
    assert [m["To"] for m in smtp_mailers.parsed()] == ["member@example.com"]

    # Twice the 4 h acceptance target after the handoff: the lead hears about it, once.
    clock.shift(H)
    _scan_and_send()
    _scan_and_send()
    escalation = smtp_mailers.parsed()[-1]
    assert escalation["To"] == "lead@example.com"
    assert escalation["Subject"].startswith("Escalation: ACME order #1 stalled 8 h")
    assert len(smtp_mailers.messages) == 2

    # Reminders 24 h after the alert, then 48 h after that (they back off), to the owner.
    clock.shift(21 * H)
    _scan_and_send()
    reminder = smtp_mailers.parsed()[-1]
    assert reminder["To"] == "member@example.com"
    assert reminder["Subject"].startswith("Still stalled 1 d 5 h: ACME order #1")
    clock.shift(47 * H)
    _scan_and_send()
    assert len(smtp_mailers.messages) == 3
    clock.shift(H)
    _scan_and_send()
    assert len(smtp_mailers.messages) == 4
    assert list(
        StallNotice.objects.filter(kind=StallNotice.Kind.REMINDER).values_list(
            "sequence", flat=True
        )
    ) == [1, 2]


def test_resolution_stops_alerts_and_sends_one_resolved_notice(
    clock, workflow, seller, lead, smtp_mailers
):
    item = _handed_off(workflow, seller)
    clock.shift(5 * H)
    _scan_and_send()
    transitions.handoff_accept(item=item, by=lead)
    clock.shift(H / 60)
    _scan_and_send()
    resolved = smtp_mailers.parsed()[-1]
    assert resolved["Subject"] == "Resolved: ACME order #1 is moving again after 5 h 1 min"
    episode = StallEpisode.objects.get()
    assert episode.resolved_at is not None
    assert item.events.filter(kind=Event.Kind.STALL_RESOLVED).count() == 1

    for _ in range(3):
        clock.shift(30 * H)
        _scan_and_send()
    assert len(smtp_mailers.messages) == 2
    assert stalled_now() == []


def test_quiet_hours_defer_the_alert_to_the_start_of_the_working_day(
    clock, workflow, seller, lead, smtp_mailers
):
    lead.time_zone = "Europe/Berlin"
    lead.work_starts, lead.work_ends = datetime.time(9), datetime.time(17)
    lead.save()
    clock.move_to(datetime.datetime(2026, 3, 2, 13, 0, tzinfo=datetime.UTC))  # 14:00 Berlin
    _handed_off(workflow, seller)
    clock.shift(5 * H)  # 19:00 Berlin: stalled, but after hours
    _scan_and_send()
    assert StallEpisode.objects.get().alerted_at is None
    assert smtp_mailers.messages == []

    clock.move_to(datetime.datetime(2026, 3, 3, 7, 59, tzinfo=datetime.UTC))  # 08:59 Berlin
    _scan_and_send()
    assert smtp_mailers.messages == []
    clock.shift(H / 30)  # 09:01 Berlin
    _scan_and_send()
    [message] = smtp_mailers.parsed()
    assert message["Subject"].startswith("Stalled 19 h 1 min: ACME order #1")


def test_several_stalls_starting_together_reach_their_owner_in_one_email(
    clock, workflow, seller, smtp_mailers
):
    _handed_off(workflow, seller, title="ACME order #1")
    _handed_off(workflow, seller, title="Globex renewal")
    clock.shift(5 * H)
    _scan_and_send()
    [message] = smtp_mailers.parsed()
    assert message["Subject"].strip() == "2 stalled work items: ACME order #1 (5 h) and 1 more"
    text = message.get_body(("plain",)).get_content()
    assert "ACME order #1" in text and "Globex renewal" in text
    assert EmailDelivery.objects.get().notices.count() == 2


def test_smtp_refusing_then_accepting_delivers_the_alert_once(
    clock, workflow, seller, smtp_mailers
):
    _handed_off(workflow, seller)
    clock.shift(5 * H)
    smtp_mailers.refuse = True
    assert _scan_and_send() == (0, 1)
    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.PENDING and delivery.attempts == 1
    assert "451" in delivery.last_error

    smtp_mailers.refuse = False
    assert send_due() == (0, 0)  # backing off for a minute
    clock.shift(H / 30)
    assert send_due() == (1, 0)
    assert send_due() == (0, 0)
    assert len(smtp_mailers.messages) == 1
    delivery.refresh_from_db()
    assert delivery.status == EmailDelivery.Status.SENT and delivery.attempts == 2


def test_a_worker_that_died_mid_send_is_replaced_after_its_lease(
    clock, workflow, seller, smtp_mailers
):
    _handed_off(workflow, seller)
    clock.shift(5 * H)
    run_scan()
    # A worker claimed the row, then was SIGKILLed before it could send or mark it.
    EmailDelivery.objects.update(
        status=EmailDelivery.Status.SENDING, next_attempt_at=MONDAY + 5 * H + H / 12, attempts=1
    )
    assert send_due() == (0, 0)
    clock.shift(H / 10)
    assert send_due() == (1, 0)
    assert len(smtp_mailers.messages) == 1


def test_an_overdue_recovery_stalls_and_alerts_its_owner(
    clock, workflow, seller, member, smtp_mailers
):
    item = _handed_off(workflow, seller)
    clock.shift(H)
    transitions.handoff_bounce(item=item, by=member, missing_input="Delivery address")
    clock.shift(25 * H)
    _scan_and_send()
    episode = StallEpisode.objects.get(kind=StallEpisode.Kind.RECOVERY_OVERDUE)
    assert episode.owner == seller
    [message] = smtp_mailers.parsed()
    assert message["To"] == "seller@example.com"
    assert "recovery past its check time" in message["Subject"]


def test_a_stage_without_target_falls_back_to_its_own_85th_percentile(
    clock, workflow, seller, lead, member, smtp_mailers
):
    ship = workflow.stages.get(name="Ship")
    for n in range(6):
        past = _handed_off(workflow, seller, title=f"Past order {n}")
        transitions.handoff_accept(item=past, by=member)
        clock.shift(H)
        transitions.item_deliver(item=past, by=member)
    now_item = _handed_off(workflow, seller, title="Slow order")
    transitions.handoff_accept(item=now_item, by=member)
    clock.shift(H / 2)
    run_scan()
    assert not StallEpisode.objects.filter(kind=StallEpisode.Kind.STAGE_OVER_TARGET).exists()
    clock.shift(H)
    run_scan()
    episode = StallEpisode.objects.get(kind=StallEpisode.Kind.STAGE_OVER_TARGET)
    assert episode.item == now_item and episode.target_source == "p85"
    assert episode.target == H
    assert episode.owner == member and episode.item.stage == ship


def test_sandbox_workflows_never_stall(clock, workflow, seller, smtp_mailers):
    workflow.is_sandbox = True
    workflow.save()
    _handed_off(workflow, seller)
    clock.shift(50 * H)
    _scan_and_send()
    assert not StallEpisode.objects.exists()


def test_the_scan_beats_the_heartbeat_that_healthz_reads(clock, client):
    run_scan()
    checks = client.get("/healthz").json()["checks"]
    assert checks["scheduler"]["status"] == "ok"
    clock.shift(6 * 60 * H / 60)
    assert client.get("/healthz").json()["checks"]["scheduler"]["status"] == "degraded"
