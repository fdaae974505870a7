"""Celery tasks of the handoffs app. Each takes ids, re-fetches, and is safe to run twice."""

from celery import shared_task

from handoffs import notifications, outbox
from handoffs.models import Heartbeat

# --- Email (handoffs/outbox.py, docs/operations.md) -------------------------------------------


@shared_task
def send_email_task(delivery_id):
    """One outbox email, after the commit that wrote it. A refused send stays in the outbox
    with its backoff for the sweep; a second run finds the row sent or leased and leaves it."""
    return outbox.send_one(delivery_id)


@shared_task
def send_due_emails_task():
    """Every minute (CELERY_BEAT_SCHEDULE): the outbox sweep. Sends what the per-email task
    did not (Redis was down at the commit, a worker died mid-send, the relay refused)."""
    sent, failed = outbox.send_due()
    return {"sent": sent, "failed": failed}


@shared_task
def send_notification_digest_task():
    """Hourly: each user on the daily digest gets it once their working day has started."""
    queued = notifications.send_digests()
    Heartbeat.beat("notification_digest", sent=queued)
    return queued


# --- Stalls (docs/stalls.md) -------------------------------------------------------------------


@shared_task
def scan_stalls_task():
    """Every minute (CELERY_BEAT_SCHEDULE): detect, resolve, queue the due emails, beat.

    Safe with two schedulers: episodes open under a unique constraint and every notice is
    claimed by a conditional UPDATE, so the second run finds nothing left to do. The emails
    it queues are sent after each recipient's commit (handoffs.outbox).
    """
    from handoffs.stalls import run_scan

    return run_scan()


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
