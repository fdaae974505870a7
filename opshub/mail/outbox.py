"""The outbox: the one way opshub sends email (docs/operations.md, "Email").

Every email (decision notifications, daily digests, stall alerts and escalations, the
review summary, the scheduler's test alert) is an EmailDelivery row written by `enqueue`
inside the caller's transaction: a rolled-back action sends nothing. Its send task is
enqueued after the commit; the `send-emails` beat sweep sends whatever that task did not
(Redis was down, a worker died, the relay refused).

Sending is at-least-once, because losing a stall alert or an escalation is worse than a
rare duplicate: `send_one` claims a row with a lease (a conditional UPDATE that commits at
once, so no transaction or row lock is held while the relay takes its time), sends, then
marks it sent. A worker killed between the send and the mark leaves the lease to expire and
the row is sent again with the same Message-ID, which lets mail clients fold the copies.
A refused send puts the row back with exponential backoff; nothing is ever dropped.
"""

import datetime
import logging
import smtplib
from collections.abc import Mapping
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from celery import signature
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from opshub.accounts.models import User
from opshub.lib.tasks import enqueue_on_commit
from opshub.mail import preferences as email_preferences
from opshub.mail.models import EmailDelivery

logger = logging.getLogger(__name__)

Kind = EmailDelivery.Kind
# Named, not imported: the task module imports this one (mail/tasks.py).
SEND_TASK = "handoffs.tasks.send_email_task"
BATCH = 500
# A worker that claimed a row and has not marked it sent after this long is presumed dead
# (well above the SMTP timeout), and the next sweep may send the row again.
SEND_LEASE = datetime.timedelta(minutes=5)
# Retry after 1, 2, 4 … minutes, capped at an hour: never dropped, never hammering the relay.
BACKOFF_CAP = datetime.timedelta(hours=1)
# Which List-Unsubscribe headers a kind carries (email_preferences.list_unsubscribe_headers).
_UNSUBSCRIBE: dict[str, str] = {Kind.STALL: "alert", Kind.DIGEST: "digest"}


def absolute_url(path: str) -> str:
    """A link in an email: the site's base URL (OPSHUB_BASE_URL) and the path."""
    return f"{settings.OPSHUB_BASE_URL}{path}"


def message_id() -> str:
    return make_msgid(domain=urlsplit(settings.OPSHUB_BASE_URL).hostname or "opshub.local")


def enqueue(
    *,
    to: User,
    kind: str,
    subject: str,
    template: str,
    context: Mapping[str, Any],
    html: bool = True,
    now: datetime.datetime | None = None,
) -> EmailDelivery:
    """Writes one email to `to` (a User) into the outbox; it is sent after the commit.

    The one place messages are built: `template`.txt (and `template`.html unless `html` is
    False) rendered with `context`, `user` and `base_url`. Call it inside the transaction
    that decides the email is due, so both commit or neither.
    """
    now = now or timezone.now()
    context = {**context, "user": to, "base_url": settings.OPSHUB_BASE_URL}
    delivery = EmailDelivery.objects.create(
        recipient=to,
        to_email=to.email,
        kind=kind,
        subject=subject[:250],
        body_text=render_to_string(f"{template}.txt", context),
        body_html=render_to_string(f"{template}.html", context) if html else "",
        message_id=message_id(),
        created_at=now,
        next_attempt_at=now,
    )
    enqueue_on_commit(signature(SEND_TASK), delivery.pk)
    return delivery


def send_due(*, now: datetime.datetime | None = None, limit: int = BATCH) -> tuple[int, int]:
    """Sends every due row this worker manages to claim: new ones, ones whose backoff has
    passed, ones whose sender's lease ran out. Returns (sent, failed)."""
    now = now or timezone.now()
    due = (
        EmailDelivery.objects.exclude(status=EmailDelivery.Status.SENT)
        .filter(next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = failed = 0
    for pk in list(due):
        outcome = send_one(pk, now=now)
        sent += outcome is True
        failed += outcome is False
    return sent, failed


def send_one(pk: int, *, now: datetime.datetime | None = None) -> bool | None:
    """True when sent, False when the relay failed (retried later), None when not ours
    (sent already, leased by another worker, or backing off)."""
    now = now or timezone.now()
    claimed = (
        EmailDelivery.objects.filter(pk=pk, next_attempt_at__lte=now)
        .exclude(status=EmailDelivery.Status.SENT)
        .update(
            status=EmailDelivery.Status.SENDING,
            next_attempt_at=now + SEND_LEASE,
            attempts=F("attempts") + 1,
        )
    )
    if claimed != 1:
        return None
    delivery = EmailDelivery.objects.select_related("recipient").get(pk=pk)
    try:
        _message(delivery).send()
    except (smtplib.SMTPException, OSError) as exc:
        EmailDelivery.objects.filter(pk=pk, status=EmailDelivery.Status.SENDING).update(
            status=EmailDelivery.Status.PENDING,
            next_attempt_at=now + backoff(delivery.attempts),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            last_failed_at=now,
        )
        logger.warning(
            "email failed; will retry",
            extra={"delivery": pk, "attempts": delivery.attempts, "error": str(exc)},
        )
        return False
    EmailDelivery.objects.filter(pk=pk).update(
        status=EmailDelivery.Status.SENT, sent_at=timezone.now()
    )
    return True


def backoff(attempts: int) -> datetime.timedelta:
    return min(datetime.timedelta(minutes=2 ** (attempts - 1)), BACKOFF_CAP)


def _message(delivery: EmailDelivery) -> EmailMultiAlternatives:
    headers = email_preferences.list_unsubscribe_headers(
        delivery.recipient, _UNSUBSCRIBE.get(delivery.kind, "")
    )
    message = EmailMultiAlternatives(
        subject=delivery.subject,
        body=delivery.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.to_email],
        headers={"Message-ID": delivery.message_id, **headers},
    )
    if delivery.body_html:
        message.attach_alternative(delivery.body_html, "text/html")
    return message


# Due rows no sender has touched for this long mean the worker or the beat is gone.
OVERDUE_AFTER = datetime.timedelta(minutes=5)


def overdue(now: datetime.datetime) -> QuerySet[EmailDelivery]:
    """The unsent rows due longer than OVERDUE_AFTER, oldest first (on email_unsent_due)."""
    return (
        EmailDelivery.objects.exclude(status=EmailDelivery.Status.SENT)
        .filter(next_attempt_at__lte=now - OVERDUE_AFTER)
        .order_by("next_attempt_at")
    )
