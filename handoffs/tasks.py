"""Celery tasks of the handoffs app. Each takes ids, re-fetches, and is safe to run twice."""

import smtplib

from celery import shared_task

from handoffs import notifications
from handoffs.models import Heartbeat


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
