"""The outbox and in-app notifications: rows every app writes, so they live in the shell.

They keep the `handoffs` app label they were born with, so their tables, migrations and the
admin stay where they were (`handoffs.models` re-exports them). A notification's item is
named by string: the shell imports no feature.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

User = settings.AUTH_USER_MODEL


class NotificationQuerySet(models.QuerySet):
    def unread_count_for(self, user: Any) -> int:
        return self.filter(user=user, read_at=None).count()


class Notification(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=300)
    item = models.ForeignKey(
        "handoffs.WorkItem", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # The detail its email carries under the message (what was decided, why).
    body = models.TextField(blank=True)
    # Its email: set when written to the outbox (at once, or in the daily digest).
    email = models.ForeignKey(
        "EmailDelivery",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    # Waiting for its user's daily digest; cleared when the digest is composed, so a
    # deleted outbox row never puts a notification back in the queue.
    awaits_digest = models.BooleanField(default=False)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        app_label = "handoffs"
        ordering = ["-created_at"]
        indexes = [
            # The unread badge in the navigation, on every page.
            models.Index(fields=["user"], condition=Q(read_at=None), name="notification_unread"),
            # The digest task: a user's notifications waiting for their digest.
            models.Index(
                fields=["user", "created_at"],
                condition=Q(awaits_digest=True),
                name="notification_digest_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.message


class EmailDelivery(models.Model):
    """The outbox: every email opshub sends is one row, to one person, composed when queued
    (opshub.mail.outbox.enqueue, inside the caller's transaction) and sent by a claiming worker.

    Delivery is at-least-once (docs/operations.md): a row is claimed with a lease
    (status=sending, next_attempt_at = end of lease); a worker killed mid-send leaves the
    lease to expire and the next worker sends again, with the same Message-ID.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    class Kind(models.TextChoices):
        STALL = "stall", "Stall alert"
        DIGEST = "digest", "Daily digest"
        NOTIFICATION = "notification", "Notification"
        REVIEW_SUMMARY = "review_summary", "Review summary"
        TEST = "test", "Test alert"
        INVITATION = "invitation", "Invitation"

    recipient = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_email = models.EmailField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STALL)
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When a sender may (re)claim the row: the retry time after a failure, or the end of
    # a sending worker's lease, after which a worker that died mid-send is presumed dead.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "handoffs"
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "email deliveries"
        indexes = [
            # Sender pass: unsent rows whose next attempt (or expired lease) is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=~Q(status="sent"),
                name="email_unsent_due",
            ),
            # Scheduler page: the last email sent.
            models.Index(fields=["-sent_at"], condition=Q(status="sent"), name="email_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email} ({self.status})"
