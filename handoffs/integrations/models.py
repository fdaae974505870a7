from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from handoffs.work.models import Event, WorkItem
from handoffs.workflows.models import Stage, Workflow

User = settings.AUTH_USER_MODEL


class IntakeSource(models.Model):
    """A sender (a CRM, a form) whose signed webhooks become work items.

    The secret is stored as-is: verifying an HMAC needs the raw key on the server, so it
    cannot be hashed like an API token. It is shown once, when the source is created or
    its secret rotated, and never again (pages and the API show only a hint).
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True, help_text="The URL: /api/v1/intake/<slug>/")
    secret = models.CharField(max_length=128)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="+", help_text="Where new items start."
    )
    assignee = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who owns new items; defaults to the lead of the stage's team.",
    )
    # {"title": "deal.name", "external_ref": "deal.id", "requested_at": "deal.closed_at",
    #  "fields": {"po_number": "deal.po"}}; a value with {braces} is a template (intake.py).
    mapping = models.JSONField(default=dict, blank=True)
    event_id_path = models.CharField(
        max_length=200, blank=True, help_text="Payload path of the event id, if no header."
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)  # the API's `updated_since` filter

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("handoffs:intake-detail", args=[self.pk])

    @property
    def item_source(self):
        """WorkItem.source of the items it creates: (source, external_ref) is unique."""
        return f"intake:{self.slug}"

    @property
    def secret_hint(self):
        return f"…{self.secret[-4:]}" if self.secret else ""


class IntakeDelivery(models.Model):
    """One webhook call as received: accepted, duplicate (a replay) or rejected, and why."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"

    source = models.ForeignKey(IntakeSource, on_delete=models.CASCADE, related_name="deliveries")
    received_at = models.DateTimeField(default=timezone.now)
    event_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField()
    reason = models.TextField(blank=True)
    payload = models.JSONField(null=True, blank=True)
    body = models.TextField(blank=True, help_text="The raw body when it was not JSON.")
    headers = models.JSONField(default=dict, blank=True)
    signature = models.CharField(
        max_length=64, blank=True, help_text="The verified HMAC (hex) of an authentic delivery."
    )
    item = models.ForeignKey(
        WorkItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name_plural = "intake deliveries"
        constraints = [
            # Idempotency: one accepted delivery per sender event id. Replays and rejected
            # calls are logged beside it, so the constraint covers accepted rows only.
            models.UniqueConstraint(
                fields=["source", "event_id"],
                condition=Q(status="accepted"),
                name="intake_event_once",
            ),
            # The event id header is not signed: one accepted delivery per signed message,
            # so a captured delivery re-sent with a new event id creates nothing. Its
            # index also serves the replay lookup in intake._earlier_item_id.
            models.UniqueConstraint(
                fields=["source", "signature"],
                condition=Q(status="accepted") & ~Q(signature=""),
                name="intake_signature_once",
            ),
        ]
        indexes = [
            # The source page's delivery log, newest first.
            models.Index(fields=["source", "-received_at"], name="intake_delivery_log"),
        ]

    def __str__(self):
        return f"{self.source} · {self.event_id or '-'} · {self.status}"


class WebhookSubscription(models.Model):
    """An outside URL that receives signed events (docs/integrations.md)."""

    KINDS = [
        ("handoff_submitted", "Handoff submitted"),
        ("handoff_accepted", "Handoff accepted"),
        ("handoff_bounced", "Handoff bounced"),
        ("delivered", "Delivered"),
        ("stall_started", "Stall started"),
        ("decision_requested", "Decision requested"),
    ]

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128)
    event_kinds = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    # Events with ids up to here were turned into deliveries; a new subscription starts at
    # the newest event, so it does not receive the whole history (webhooks.py).
    start_after_event_id = models.BigIntegerField(default=0)
    dispatched_through_event_id = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)  # the API's `updated_since` filter
    # Deleting keeps the row (soft delete), so its delivery log stays readable.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("handoffs:webhook-detail", args=[self.pk])

    @property
    def secret_hint(self):
        return f"…{self.secret[-4:]}" if self.secret else ""

    def kind_labels(self):
        labels = dict(self.KINDS)
        return [labels.get(kind, kind) for kind in self.event_kinds]


class WebhookDelivery(models.Model):
    """Outbox: one event for one subscriber, POSTed by a claiming worker with backoff.

    At-least-once: a worker that dies mid-POST leaves its lease to expire and another sends
    again; receivers deduplicate on the X-Opshub-Event-Id header (the same on every try).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=24)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # The sweep inserts with ON CONFLICT DO NOTHING: one delivery per event and subscriber.
            models.UniqueConstraint(
                fields=["subscription", "event"],
                condition=Q(event__isnull=False),
                name="webhook_event_once",
            ),
        ]
        indexes = [
            # The sender pass: unsent rows whose attempt (or expired lease) is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="webhook_due",
            ),
            # The subscription page's delivery log.
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self):
        return f"{self.kind} → {self.subscription} ({self.status})"

    @property
    def delivery_id(self):
        """What receivers deduplicate on: stable across retries."""
        return f"evt_{self.event_id}" if self.event_id else f"test_{self.pk}"
