"""Celery tasks of the stall scan and the daily digest (docs/stalls.md). Their names keep their
first module's path so queued tasks and beat still find them."""

from celery import shared_task

from handoffs.stalls import channels, digest
from handoffs.stalls.detection import run_scan
from opshub.scheduler.models import Heartbeat


@shared_task(name="handoffs.tasks.scan_stalls_task")
def scan_stalls_task():
    """Every minute (CELERY_BEAT_SCHEDULE): detect, resolve, queue the due emails, beat.

    Safe with two schedulers: episodes open under a unique constraint and every notice is
    claimed by a conditional UPDATE, so the second run finds nothing left to do. The emails
    it queues are sent after each recipient's commit (opshub/mail/outbox.py).
    """
    return run_scan()


@shared_task(name="handoffs.tasks.send_notification_digest_task")
def send_notification_digest_task():
    """Hourly: each user on the daily digest gets it once their working day has started."""
    queued = digest.send_digests()
    Heartbeat.beat("notification_digest", sent=queued)
    return queued


@shared_task(name="handoffs.tasks.send_channel_deliveries_task")
def send_channel_deliveries_task(delivery_id=None):
    """One channel post after the commit that wrote it, or (no id: every minute from
    CELERY_BEAT_SCHEDULE) every due one; safe to run twice: each row is claimed."""
    if delivery_id is not None:
        return channels.send_one(delivery_id)
    sent, failed = channels.send_due()
    return {"sent": sent, "failed": failed}
