"""Celery tasks of the email outbox. Each takes ids, re-fetches,
and is safe to run twice. Task names keep their first module's path so queued tasks and beat
still find them."""

from celery import shared_task

from opshub.mail import outbox


@shared_task(name="handoffs.tasks.send_email_task")
def send_email_task(delivery_id: int) -> bool | None:
    """One outbox email, after the commit that wrote it. A refused send stays in the outbox
    with its backoff for the sweep; a second run finds the row sent or leased and leaves it."""
    return outbox.send_one(delivery_id)


@shared_task(name="handoffs.tasks.send_due_emails_task")
def send_due_emails_task() -> dict[str, int]:
    """Every minute (CELERY_BEAT_SCHEDULE): the outbox sweep. Sends what the per-email task
    did not (Redis was down at the commit, a worker died mid-send, the relay refused)."""
    sent, failed = outbox.send_due()
    return {"sent": sent, "failed": failed}
