"""In-app notifications with their email: sent at once, or collected into a daily digest.

`notify()` runs inside the caller's transaction. It writes the Notification and an outbox
row (NotificationEmail) per person; immediate emails are enqueued with enqueue_on_commit, so
a rolled-back decision sends nothing. Sending is at-least-once: a worker claims the outbox
row with a lease (a conditional UPDATE, committed), sends outside any transaction, then marks
it sent. A worker killed mid-send leaves the lease to expire and the catch-up sweep sends the
row again; a failed send gives the lease back for the retry.
"""

import datetime
import logging
import smtplib
import zoneinfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from handoffs.models import EmailDelivery, Notification, NotificationEmail, StallNotice
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


# A worker that claimed an email and has not marked it sent after this long is presumed dead
# (well above the SMTP timeout), and the catch-up sweep may send the row again.
SEND_LEASE = datetime.timedelta(minutes=5)


def send_immediate(email_id, *, now=None):
    """Sends one outbox row if still unsent and unclaimed. Returns True when this call sent it.

    The row is claimed by a conditional UPDATE (a lease) that commits at once, so no
    transaction or row lock is held while the relay takes its time.
    """
    now = now or timezone.now()
    claimed = (
        NotificationEmail.objects.filter(pk=email_id, sent_at=None)
        .filter(Q(claimed_until=None) | Q(claimed_until__lte=now))
        .update(claimed_until=now + SEND_LEASE)
    )
    if claimed != 1:
        return False
    email = NotificationEmail.objects.select_related("user", "notification").get(pk=email_id)
    try:
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
    except Exception:
        # Give the lease back: the task's retry (or the sweep) may send it at once.
        NotificationEmail.objects.filter(pk=email_id, sent_at=None).update(claimed_until=None)
        raise
    NotificationEmail.objects.filter(pk=email_id).update(sent_at=timezone.now())
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
            sent += send_immediate(pk, now=now)
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
    """One digest per user whose digest is due. Returns how many digests were sent.

    The digest carries both the user's notifications and their stall notices parked for it
    (handoffs.alerts), so a person on the digest gets ONE email a day. It goes through the
    stall outbox (EmailDelivery, kind digest): retried with backoff, visible to admins.
    """
    from handoffs.alerts import send_one

    now = now or timezone.now()
    waiting = set(
        NotificationEmail.objects.filter(delivery=NotificationEmail.Delivery.DIGEST, sent_at=None)
        .values_list("user_id", flat=True)
        .distinct()[:DIGEST_BATCH]
    )
    waiting.update(
        StallNotice.objects.filter(delivery=None, recipient__isnull=False)
        .values_list("recipient_id", flat=True)
        .distinct()[:DIGEST_BATCH]
    )
    sent = 0
    for user in User.objects.filter(pk__in=waiting, is_active=True).exclude(email=""):
        delivery = _queue_digest(user, now)
        if delivery is not None:
            sent += 1
            send_one(delivery.pk, now=now)  # a failure stays in the outbox for its retry
    return sent


def _last_digest_at(user):
    outbox = (
        EmailDelivery.objects.filter(recipient=user, kind=EmailDelivery.Kind.DIGEST)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    # Digests sent before they went through the outbox left only this trace.
    legacy = (
        NotificationEmail.objects.filter(
            user=user, delivery=NotificationEmail.Delivery.DIGEST, sent_at__isnull=False
        )
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)
        .first()
    )
    return max(filter(None, (outbox, legacy)), default=None)


@transaction.atomic
def _queue_digest(user, now):
    """Composes the user's digest into the outbox, at most once a day. Returns it or None."""
    # One digest composer per user at a time (no_key: inserts referencing the user go on).
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
    if not digest_is_due(user, _last_digest_at(user), now):
        return None
    emails = list(
        NotificationEmail.objects.select_related("notification")
        .filter(user=user, delivery=NotificationEmail.Delivery.DIGEST, sent_at=None)
        .order_by("created_at", "pk")
    )
    notices = list(
        StallNotice.objects.select_related(
            "episode__item__workflow", "episode__item__stage", "episode__owner"
        )
        .filter(recipient=user, delivery=None)
        .order_by("created_at", "pk")
    )
    if not emails and not notices:
        return None
    from handoffs import alerts, email_preferences

    stalls = alerts.digest_entries(user, notices, now)
    context = {
        "user": user,
        "base_url": settings.OPSHUB_BASE_URL,
        "entries": [
            {
                "email": email,
                "link": absolute_url(email.notification.url) if email.notification.url else "",
            }
            for email in emails
        ],
        "stall_sections": alerts.sections(stalls),
        "stall_count": len(stalls),
        "notifications_link": absolute_url(reverse("handoffs:notification-list")),
        "stalls_url": absolute_url(reverse("handoffs:stall-list")),
        "unsubscribe_url": email_preferences.switch_url(user, User.Delivery.IMMEDIATE),
    }
    delivery = EmailDelivery.objects.create(
        recipient=user,
        to_email=user.email,
        kind=EmailDelivery.Kind.DIGEST,
        subject=_digest_subject(len(emails), len(stalls)),
        body_text=render_to_string("handoffs/email/notification_digest.txt", context),
        body_html=render_to_string("handoffs/email/notification_digest.html", context),
        message_id=alerts.message_id(),
        created_at=now,
        next_attempt_at=now,
    )
    NotificationEmail.objects.filter(pk__in=[e.pk for e in emails]).update(sent_at=now)
    StallNotice.objects.filter(pk__in=[n.pk for n in notices]).update(delivery=delivery)
    return delivery


def _digest_subject(notes, stalls):
    parts = [f"{notes} new"] if notes else []
    if stalls:
        parts.append(f"{stalls} stalled work item{'s' if stalls != 1 else ''}")
    return "opshub daily digest: " + ", ".join(parts)
