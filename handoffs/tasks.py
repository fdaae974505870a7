"""Celery tasks of the handoffs app. Each takes ids, re-fetches, and is safe to run twice."""

import smtplib

from celery import shared_task

from handoffs import notifications
from handoffs.models import Heartbeat
from opshub.lib.tasks import enqueue_on_commit


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_kwargs={"max_retries": 8},
)
def send_notification_email_task(email_id):
    """One immediate notification email; a second run finds it sent and does nothing."""
    return notifications.send_immediate(email_id)


@shared_task
def send_notification_digest_task():
    """Hourly: each user on the daily digest gets it once their working day has started."""
    sent = notifications.send_digests()
    Heartbeat.beat("notification_digest", sent=sent)
    return sent


# --- Stalls (docs/stalls.md) -------------------------------------------------------------------


@shared_task
def scan_stalls_task():
    """Every minute (CELERY_BEAT_SCHEDULE): detect, resolve, queue the due emails, beat.

    Safe with two schedulers: episodes open under a unique constraint and every send is
    claimed by a conditional UPDATE, so the second run finds nothing left to do.
    """
    from handoffs.stalls import run_scan

    result = run_scan()
    enqueue_on_commit(send_stall_alerts_task)
    return result


@shared_task
def send_stall_alerts_task():
    """Sends the due outbox rows (new ones, and failed ones whose backoff has passed)."""
    from handoffs.alerts import send_due_emails

    sent, failed = send_due_emails()
    return {"sent": sent, "failed": failed}


# --- Outbound webhooks (docs/integrations.md) -------------------------------------------------


@shared_task
def dispatch_webhooks_task():
    """Every 30 s (CELERY_BEAT_SCHEDULE): new events become deliveries, due ones are POSTed.

    Safe with two schedulers: rows are inserted under a unique constraint and every
    attempt is claimed by a conditional UPDATE with a lease.
    """
    from handoffs import webhooks

    created = webhooks.sweep()
    sent = webhooks.send_due()
    Heartbeat.beat("webhooks", created=created, attempted=len(sent))
    return {"created": created, "attempted": len(sent)}


@shared_task
def deliver_webhook_task(delivery_id):
    """One attempt at one delivery (the "send test" button); a second run finds it claimed."""
    from handoffs import webhooks

    return webhooks.deliver(delivery_id)
