"""The weekly breakage review: breakages, reviews, their agenda decisions, action items and
the read-only projector links."""

import datetime
import secrets

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Cause

User = settings.AUTH_USER_MODEL

REPEAT_WINDOW = datetime.timedelta(weeks=4)
REPEAT_CHECK_DELAY = datetime.timedelta(weeks=4)


def week_of(value=None):
    """The Monday that starts the (ISO) week of a date or datetime, in the site's time zone."""
    value = value or timezone.now()
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    return value - datetime.timedelta(days=value.weekday())


def week_bounds(week):
    """[start, end) of a week as aware datetimes."""
    start = timezone.make_aware(datetime.datetime.combine(week, datetime.time.min))
    return start, start + datetime.timedelta(days=7)


# --- Breakages ----------------------------------------------------------------------------


class BreakageQuerySet(models.QuerySet):
    def for_list(self):
        return self.select_related(
            # The handoff's name reads its next stage through its workflow.
            "workflow",
            "stage",
            "handoff__from_stage__workflow",
            "reporter",
        ).prefetch_related("items")

    def in_week(self, week):
        return self.filter(week=week)

    def repeat_groups(self, *, until):
        """(place, kind) groups seen twice or more in the four weeks before `until`."""
        return (
            self.filter(occurred_at__gt=until - REPEAT_WINDOW, occurred_at__lte=until)
            .values("workflow_id", "stage_id", "handoff_id", "kind")
            .annotate(times=Count("pk"))
            .filter(times__gte=2)
        )

    def same_place(self, breakage):
        return self.filter(
            workflow_id=breakage.workflow_id,
            stage_id=breakage.stage_id,
            handoff_id=breakage.handoff_id,
            kind=breakage.kind,
        )


class Breakage(models.Model):
    """Something that broke: what, where, which kind, the items it touched, and what it cost."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Logged by hand"
        BOUNCE = "bounce", "Bounced handoff"
        RECOVERY = "recovery", "Blocked work"
        STALL = "stall", "Stall"
        SLOW = "slow", "Slow delivery (above p95)"

    title = models.CharField("What broke?", max_length=200)
    description = models.TextField("What happened?", blank=True)
    workflow = models.ForeignKey(
        "handoffs.Workflow", on_delete=models.PROTECT, related_name="breakages"
    )
    stage = models.ForeignKey(
        "handoffs.Stage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handoff = models.ForeignKey(
        "handoffs.Handoff",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="breakages",
    )
    kind = models.CharField(max_length=12, choices=Cause.choices)
    system_factor = models.TextField(
        "What in the system made this likely?",
        blank=True,
        help_text="No blame: what about the process, tools or expectations set the person up?",
    )
    items = models.ManyToManyField("handoffs.WorkItem", blank=True, related_name="breakages")
    reporter = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cost_days = models.DecimalField(
        "Cost (cycle-time days)",
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Days the linked items took beyond the workflow's median, where computable.",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    # "recovery:12", "stall:3", "slow:44": the candidate this breakage was logged from.
    source_key = models.CharField(max_length=40, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    week = models.DateField(help_text="Monday of the week it is reviewed in.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = BreakageQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="person") | ~Q(system_factor=""),
                name="breakage_person_has_system_factor",
            ),
            models.UniqueConstraint(
                fields=["source_key"], condition=~Q(source_key=""), name="breakage_unique_source"
            ),
        ]
        indexes = [
            # The week's agenda and the weekly heatmap columns.
            models.Index(fields=["week"], name="breakage_week"),
            # Repeat detection: same place and kind within four weeks.
            models.Index(fields=["workflow", "kind", "occurred_at"], name="breakage_place_kind"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("reviews:breakage-detail", args=[self.pk])

    def clean(self):
        if self.kind == Cause.PERSON and not (self.system_factor or "").strip():
            raise ValidationError(
                {
                    "system_factor": "When a person slipped, say what in the system made it "
                    "likely: a missing check, a confusing tool, an unclear expectation."
                }
            )
        for name in ("stage", "handoff"):
            place = getattr(self, name)
            if place is not None and self.workflow_id and place.workflow_id != self.workflow_id:
                raise ValidationError({name: f"This {name} belongs to another workflow."})

    @property
    def place(self):
        return self.handoff or self.stage or self.workflow

    @property
    def place_label(self):
        if self.handoff_id:
            return f"{self.workflow.name} · handoff {self.handoff}"
        if self.stage_id:
            return f"{self.workflow.name} · {self.stage.name}"
        return self.workflow.name

    @property
    def place_key(self):
        return (self.workflow_id, self.stage_id, self.handoff_id, self.kind)


# --- Reviews ------------------------------------------------------------------------------


class ReviewQuerySet(models.QuerySet):
    def with_counts(self):
        breakages = (
            Breakage.objects.filter(week=OuterRef("week"))
            .order_by()
            .values("week")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(
            action_count=Count("action_items", distinct=True),
            breakage_count=Coalesce(Subquery(breakages), 0),
        )


class Review(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    week = models.DateField(unique=True, help_text="Monday of the week under review.")
    facilitator = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attendees = models.ManyToManyField(User, blank=True, related_name="reviews_attended")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-week"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at=None)
                | Q(status="closed", closed_at__isnull=False),
                name="review_closed_has_date",
            ),
        ]

    def __str__(self):
        return f"Breakage review, week of {self.week:%d %b %Y}"

    def get_absolute_url(self):
        return reverse("reviews:review-detail", args=[self.pk])

    @property
    def is_open(self):
        return self.status == self.Status.OPEN

    @property
    def week_label(self):
        year, number, _ = self.week.isocalendar()
        return f"W{number:02d} {year}"

    @property
    def week_end(self):
        return self.week + datetime.timedelta(days=6)


class AgendaEntry(models.Model):
    """The facilitator's verdict on one agenda entry (entries themselves are computed)."""

    class State(models.TextChoices):
        REVIEWED = "reviewed", "Reviewed"
        DISMISSED = "dismissed", "Dismissed"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="entries")
    key = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=State.choices)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "key"], name="agenda_entry_unique_key"),
        ]
        verbose_name_plural = "agenda entries"

    def __str__(self):
        return f"{self.key}: {self.state}"


class ActionItemQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ActionItem.Status.OPEN)

    def overdue(self, today=None):
        return self.open().filter(due_date__lt=today or timezone.localdate())

    def for_list(self):
        return self.select_related(
            "owner", "review", "breakage__workflow", "handoff__from_stage", "protocol_version"
        )


class ActionItem(models.Model):
    """The one small change that would prevent one repeat, owned by one person."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    breakage = models.ForeignKey(
        Breakage, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    title = models.CharField("The one small change", max_length=200)
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="review_actions")
    due_date = models.DateField()
    handoff = models.ForeignKey(
        "handoffs.Handoff",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The handoff protocol this change will edit.",
    )
    protocol_version = models.ForeignKey(
        "handoffs.ProtocolVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_type = models.CharField(
        max_length=120, blank=True, help_text="The decision right this change will edit."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Any change, reopening included (closed_at goes back to empty): the API's updated_since.
    updated_at = models.DateTimeField(auto_now=True)
    repeat_check_due = models.DateField(
        null=True, blank=True, help_text="When the review asks: did the breakage repeat?"
    )
    outcome = models.TextField(
        blank=True, max_length=2000, help_text="What came of it, said when it is closed."
    )

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at=None)
                | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="action_closed_has_date",
            ),
        ]
        indexes = [
            # Open and overdue actions on every agenda.
            models.Index(fields=["due_date"], condition=Q(status="open"), name="action_open_due"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self):
        return self.status == self.Status.OPEN

    @property
    def is_overdue(self):
        return self.is_open and self.due_date < timezone.localdate()

    def repeats_since_close(self):
        """Breakages at the same place and of the same kind since this action was closed."""
        if not (self.closed_at and self.breakage_id):
            return Breakage.objects.none()
        return (
            Breakage.objects.same_place(self.breakage)
            .filter(occurred_at__gt=self.closed_at)
            .exclude(pk=self.breakage_id)
        )


class ActionReminder(models.Model):
    """One reminder about one action item, for one period: the claim that makes two workers
    (or two beats) remind once. The unique constraint is the claim; the row is written in
    the transaction that queues the email, so both commit or neither."""

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", "Due soon"
        OVERDUE = "overdue", "Overdue"

    action = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The due date a due-soon reminder was about (a moved due date earns a new one), or the
    # first day of the overdue week it covers (overdue reminders repeat weekly).
    period = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["action", "kind", "period"], name="action_reminder_once"
            ),
        ]

    def __str__(self):
        return f"{self.kind} reminder for {self.action_id} ({self.period})"


# --- Read-only projector links ---------------------------------------------------------------


def _new_nonce():
    return secrets.token_urlsafe(16)


def _default_link_expiry():
    return timezone.now() + datetime.timedelta(days=ProjectorLink.DEFAULT_DAYS)


class ProjectorLinkQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at=None, expires_at__gt=timezone.now())


class ProjectorLink(models.Model):
    """A signed URL that opens one review's projector view without logging in, read-only.

    The signature stops forged URLs; the row (nonce + revoked_at) makes a leaked URL revocable.
    """

    SALT = "reviews.projector-link"
    # A leaked URL must stop working by itself: the facilitator picks how long at creation.
    LIFETIME_DAYS = {1: "1 day", 7: "7 days", 30: "30 days"}
    DEFAULT_DAYS = 7

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="projector_links")
    nonce = models.CharField(max_length=32, default=_new_nonce, editable=False)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_default_link_expiry)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProjectorLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Projector link for {self.review} ({'revoked' if self.revoked_at else 'active'})"

    def get_absolute_url(self):
        return reverse("reviews:projector-public", args=[self.token])

    @property
    def token(self):
        return signing.dumps({"link": self.pk, "nonce": self.nonce}, salt=self.SALT)

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

    @classmethod
    def from_token(cls, token):
        """The unrevoked link a token names, expired or not (the page says which), or None
        (bad signature, unknown, or revoked)."""
        try:
            data = signing.loads(token, salt=cls.SALT)
        except signing.BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        return (
            cls.objects.filter(revoked_at=None)
            .select_related("review")
            .filter(pk=data.get("link"), nonce=data.get("nonce"))
            .first()
        )
