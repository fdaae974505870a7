"""In-app notifications with their email: sent at once, or collected into a daily digest.

`notify()` runs inside the caller's transaction. It writes the Notification and an outbox
row (NotificationEmail) per person; immediate emails are enqueued with enqueue_on_commit, so
a rolled-back decision sends nothing. Sending is at-least-once: a worker locks the outbox
row, sends, then marks it sent in the same transaction. A crash between the SMTP server's
"250 OK" and the commit repeats one email; a failed send leaves the row unsent for a retry.
"""

import datetime
import logging
import smtplib
import zoneinfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Notification, NotificationEmail
from opshub.accounts.models import User
from opshub.lib.tasks import enqueue_on_commit

log = logging.getLogger(__name__)

DIGEST_HOUR = datetime.time(8, 0)
DIGEST_BATCH = 200


def absolute_url(path):
    return f"{settings.OPSHUB_BASE_URL}{path}"


def notify(users, *, message, item=None, url="", subject, body=""):
    """One notification (and its email) per distinct, active user. Returns the notifications."""
    people = {u.pk: u for u in users if u is not None and u.is_active}
    notes = []
    for user in people.values():
        note = Notification.objects.create(user=user, message=message[:300], item=item, url=url)
        email = NotificationEmail.objects.create(
            notification=note,
            user=user,
            delivery=(
                NotificationEmail.Delivery.DIGEST
                if user.email_delivery == User.Delivery.DIGEST
                else NotificationEmail.Delivery.IMMEDIATE
            ),
            subject=subject[:200],
            body=body,
        )
        if email.delivery == NotificationEmail.Delivery.IMMEDIATE:
            from handoffs.tasks import send_notification_email_task

            enqueue_on_commit(send_notification_email_task, email.pk)
        notes.append(note)
    return notes


def _message(*, to, subject, template, context):
    context = {**context, "base_url": settings.OPSHUB_BASE_URL}
    msg = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"handoffs/email/{template}.txt", context),
        to=[to],
    )
    html = render_to_string(f"handoffs/email/{template}.html", context)
    msg.attach_alternative(html, "text/html")
    return msg


def send_immediate(email_id):
    """Sends one outbox row if still unsent. Returns True when this call sent it."""
    with transaction.atomic():
        email = (
            NotificationEmail.objects.select_for_update(skip_locked=True)
            .select_related("user", "notification")
            .filter(pk=email_id, sent_at=None)
            .first()
        )
        if email is None:
            return False
        _message(
            to=email.user.email,
            subject=email.subject,
            template="notification",
            context={
                "email": email,
                "user": email.user,
                "link": absolute_url(email.notification.url) if email.notification.url else "",
            },
        ).send()
        email.sent_at = timezone.now()
        email.save(update_fields=["sent_at"])
    return True


# An immediate email still unsent this long after it was written lost its task (Redis was
# down at the commit, or the task's retries ran out): the catch-up sweep sends it.
CATCH_UP_AFTER = datetime.timedelta(minutes=2)
CATCH_UP_BATCH = 100


def send_overdue_immediate(*, now=None):
    """Sends immediate emails whose task never ran. Returns how many this call sent."""
    now = now or timezone.now()
    ids = (
        NotificationEmail.objects.filter(
            delivery=NotificationEmail.Delivery.IMMEDIATE,
            sent_at=None,
            created_at__lte=now - CATCH_UP_AFTER,
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:CATCH_UP_BATCH]
    )
    sent = 0
    for pk in list(ids):
        try:
            sent += send_immediate(pk)
        except (smtplib.SMTPException, OSError) as exc:
            # The relay is refusing: stop here, the next sweep starts again from this row.
            log.warning("notification email failed; will retry", extra={"error": str(exc)})
            break
    return sent


def digest_is_due(user, last_sent, now):
    """Once a day, from the start of the user's working day in their time zone."""
    try:
        tz = zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC
    local = now.astimezone(tz)
    start = local.replace(
        hour=(user.work_starts or DIGEST_HOUR).hour,
        minute=(user.work_starts or DIGEST_HOUR).minute,
        second=0,
        microsecond=0,
    )
    if local < start:
        return False
    return last_sent is None or last_sent < start


def send_digests(*, now=None):
    """One digest per user whose digest is due. Returns how many digests were sent."""
    now = now or timezone.now()
    user_ids = (
        NotificationEmail.objects.filter(delivery=NotificationEmail.Delivery.DIGEST, sent_at=None)
        .values_list("user_id", flat=True)
        .distinct()[:DIGEST_BATCH]
    )
    sent = 0
    for user in User.objects.filter(pk__in=list(user_ids), is_active=True):
        if _send_digest(user, now):
            sent += 1
    return sent


def _send_digest(user, now):
    with transaction.atomic():
        last_sent = (
            NotificationEmail.objects.filter(
                user=user, delivery=NotificationEmail.Delivery.DIGEST, sent_at__isnull=False
            )
            .order_by("-sent_at")
            .values_list("sent_at", flat=True)
            .first()
        )
        if not digest_is_due(user, last_sent, now):
            return False
        # skip_locked: a second worker running the same digest finds nothing left to claim.
        emails = list(
            NotificationEmail.objects.select_for_update(skip_locked=True)
            .select_related("notification")
            .filter(user=user, delivery=NotificationEmail.Delivery.DIGEST, sent_at=None)
            .order_by("created_at", "pk")
        )
        if not emails:
            return False
        _message(
            to=user.email,
            subject=f"opshub daily digest: {len(emails)} new",
            template="notification_digest",
            context={
                "user": user,
                "entries": [
                    {
                        "email": email,
                        "link": absolute_url(email.notification.url)
                        if email.notification.url
                        else "",
                    }
                    for email in emails
                ],
                "notifications_link": absolute_url(reverse("handoffs:notification-list")),
            },
        ).send()
        NotificationEmail.objects.filter(pk__in=[e.pk for e in emails]).update(sent_at=now)
    return True
