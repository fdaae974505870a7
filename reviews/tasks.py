"""Periodic work of the breakage review (scheduled in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from reviews import reminders


@shared_task(name="reviews.send_action_reminders")
def send_action_reminders_task():
    """Safe to run twice at once: each reminder is claimed by a unique row."""
    return reminders.send_action_reminders()
