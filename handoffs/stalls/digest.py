"""The daily digest: one email a day per person on the digest, carrying their waiting
notifications (opshub/mail/notifications.py) and their stall notices (alerts.py).

It reads both, so it stands in the stalls area, above the mail it writes to the outbox.
"""

import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from handoffs.stalls import alerts
from handoffs.stalls.models import StallNotice
from opshub.accounts.models import User
from opshub.mail import outbox
from opshub.mail import preferences as email_preferences
from opshub.mail.models import EmailDelivery, Notification

DIGEST_HOUR = datetime.time(8, 0)
DIGEST_BATCH = 200


def digest_is_due(user, last_sent, now):
    """Once a day, from the start of the user's working day in their time zone."""
    tz = user.zone
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
    """One digest per user whose digest is due. Returns how many digests were queued.

    The digest carries both the user's notifications and their stall notices parked for it
    (handoffs/stalls/alerts.py), so a person on the digest gets ONE email a day. It is an outbox row
    (kind digest), sent after the commit like every other email.
    """
    now = now or timezone.now()
    waiting = set(
        Notification.objects.filter(awaits_digest=True)
        .values_list("user_id", flat=True)
        .distinct()[:DIGEST_BATCH]
    )
    waiting.update(
        StallNotice.objects.filter(delivery=None, recipient__isnull=False)
        .values_list("recipient_id", flat=True)
        .distinct()[:DIGEST_BATCH]
    )
    queued = 0
    for user in User.objects.filter(pk__in=waiting, is_active=True).exclude(email=""):
        queued += _queue_digest(user, now) is not None
    return queued


def _last_digest_at(user):
    return (
        EmailDelivery.objects.filter(recipient=user, kind=EmailDelivery.Kind.DIGEST)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


@transaction.atomic
def _queue_digest(user, now):
    """Composes the user's digest into the outbox, at most once a day. Returns it or None."""
    # One digest composer per user at a time (no_key: inserts referencing the user go on).
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
    if not digest_is_due(user, _last_digest_at(user), now):
        return None
    notes = list(
        Notification.objects.filter(user=user, awaits_digest=True).order_by("created_at", "pk")
    )
    notices = list(
        StallNotice.objects.select_related(
            "episode__item__workflow", "episode__item__stage", "episode__owner"
        )
        .filter(recipient=user, delivery=None)
        .order_by("created_at", "pk")
    )
    if not notes and not notices:
        return None
    stalls = alerts.digest_entries(user, notices, now)
    delivery = outbox.enqueue(
        to=user,
        kind=EmailDelivery.Kind.DIGEST,
        subject=_digest_subject(len(notes), len(stalls)),
        template="handoffs/email/notification_digest",
        context={
            "entries": [
                {"note": note, "link": outbox.absolute_url(note.url) if note.url else ""}
                for note in notes
            ],
            "stall_sections": alerts.sections(stalls),
            "stall_count": len(stalls),
            "notifications_link": outbox.absolute_url(reverse("handoffs:notification-list")),
            "stalls_url": outbox.absolute_url(reverse("handoffs:stall-list")),
            "unsubscribe_url": email_preferences.switch_url(user, User.Delivery.IMMEDIATE),
        },
        now=now,
    )
    Notification.objects.filter(pk__in=[n.pk for n in notes]).update(
        awaits_digest=False, email=delivery
    )
    StallNotice.objects.filter(pk__in=[n.pk for n in notices]).update(delivery=delivery)
    return delivery


def _digest_subject(notes, stalls):
    parts = [f"{notes} new"] if notes else []
    if stalls:
        parts.append(f"{stalls} stalled work item{'s' if stalls != 1 else ''}")
    return "opshub daily digest: " + ", ".join(parts)
