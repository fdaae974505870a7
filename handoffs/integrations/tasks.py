"""Celery tasks of outbound webhooks (docs/integrations.md). Names keep their first module's path
so queued tasks and beat still find them."""

from celery import shared_task

from handoffs.integrations import webhooks
from opshub.scheduler.models import Heartbeat


@shared_task(name="handoffs.tasks.dispatch_webhooks_task")
def dispatch_webhooks_task():
    """Every 30 s (CELERY_BEAT_SCHEDULE): new events become deliveries, due ones are POSTed.

    Safe with two schedulers: rows are inserted under a unique constraint and every
    attempt is claimed by a conditional UPDATE with a lease.
    """
    created = webhooks.sweep()
    sent = webhooks.send_due()
    Heartbeat.beat("webhooks", created=created, attempted=len(sent))
    return {"created": created, "attempted": len(sent)}


@shared_task(name="handoffs.tasks.deliver_webhook_task")
def deliver_webhook_task(delivery_id):
    """One attempt at one delivery (the "send test" button); a second run finds it claimed."""
    return webhooks.deliver(delivery_id)
