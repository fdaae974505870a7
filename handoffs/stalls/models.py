import datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from handoffs.work.models import Recovery, WorkItem
from handoffs.workflows.models import TeamCalendar, team_ids_of
from opshub.lib import chat
from opshub.mail.models import EmailDelivery

User = settings.AUTH_USER_MODEL


# How long an acknowledgement keeps a stall quiet, in the team's working time.
ACKNOWLEDGE_FOR = datetime.timedelta(hours=24)
# Reminders wait 1×, 2×, 4× the reminder interval, then 4× for as long as it stays open.
REMINDER_BACKOFF_CAP = 4


class StallEpisodeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at=None)

    def for_list(self):
        return self.select_related(
            "item", "item__workflow", "item__stage", "owner", "acknowledged_by"
        )

    def quiet_until_now(self, now):
        """Not acknowledged (or the acknowledgement has expired) and not snoozed past now:
        reminders and escalation may go out."""
        return self.filter(Q(acknowledged_at=None) | Q(acknowledged_until__lte=now)).filter(
            Q(snoozed_until=None) | Q(snoozed_until__lte=now)
        )


class StallEpisode(models.Model):
    """One stretch of a work item waiting longer than its target, from detection to resolution.

    The scan (handoffs/stalls.py) opens and resolves episodes; the alert pass
    (handoffs/alerts.py) claims each send by a conditional UPDATE of its timestamp.
    """

    class Kind(models.TextChoices):
        HANDOFF_UNACCEPTED = "handoff_unaccepted", "Handoff not accepted"
        STAGE_OVER_TARGET = "stage_over_target", "Stage over target"
        RECOVERY_OVERDUE = "recovery_overdue", "Recovery past its check time"
        DECISION_UNANSWERED = "decision_unanswered", "Decision unanswered"
        DUE_MISSED = "due_missed", "Due date missed"
        DUE_AT_RISK = "due_at_risk", "Due date at risk"

    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="stall_episodes")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    recovery = models.ForeignKey(
        Recovery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="stalls_owned"
    )
    escalate_to = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the wait began; the item is stalled from started_at + target on.
    started_at = models.DateTimeField()
    target = models.DurationField()
    target_source = models.CharField(max_length=20, blank=True)
    escalation_delay = models.DurationField()
    # due_at_risk: the due date it was at risk of missing (a moved due date resolves it).
    due_date = models.DateField(null=True, blank=True)
    detected_at = models.DateTimeField(default=timezone.now)
    alerted_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Quiet until then (ACKNOWLEDGE_FOR of the team's working time); reminders resume after.
    acknowledged_until = models.DateTimeField(null=True, blank=True)
    # Reminders since the alert or the last acknowledgement: each waits twice as long.
    reminder_count = models.PositiveIntegerField(default=0, db_default=0)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_notified_at = models.DateTimeField(null=True, blank=True)
    # The resolved notice to the lead it escalated to (claimed like the owner's).
    lead_resolution_notified_at = models.DateTimeField(null=True, blank=True)
    # When the wait became a stall: started_at + target in the owning team's working time
    # (set by the scan's first escalation check; stalled_since falls back to calendar time).
    stalled_at = models.DateTimeField(null=True, blank=True)
    # The escalation policy's progress (handoffs.stalls.escalation, docs/stalls.md):
    # the highest level told (0: the owner), the working seconds into the wait when it
    # last told anyone, how often the current level was told again since, and how many
    # times it told anyone (numbers the escalation notices).
    escalation_level = models.PositiveSmallIntegerField(default=0, db_default=0)
    escalation_elapsed = models.FloatField(null=True, blank=True)
    escalation_repeats = models.PositiveIntegerField(default=0, db_default=0)
    escalation_step = models.PositiveIntegerField(default=0, db_default=0)
    # People due an escalation notice from the last step: each is claimed out of the
    # array by the email pass, exactly once.
    escalation_pending = ArrayField(
        models.BigIntegerField(), default=list, db_default=models.Value("{}"), blank=True
    )
    # The level after the current one, for the stall page ("next: …").
    next_escalate_to = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the policy must look at this stall again; NULL: nothing more will come.
    next_check_at = models.DateTimeField(null=True, blank=True, default=timezone.now)

    objects = StallEpisodeQuerySet.as_manager()

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            # The scan's INSERT … ON CONFLICT relies on this: one open episode per item and kind.
            models.UniqueConstraint(
                fields=["item", "kind"],
                condition=Q(resolved_at=None),
                name="stall_one_open_per_item_kind",
            ),
        ]
        indexes = [
            # Alert pass: open episodes nobody has been told about yet.
            models.Index(
                fields=["owner", "detected_at"],
                condition=Q(resolved_at=None, alerted_at=None),
                name="stall_unalerted",
            ),
            # Escalation and reminder passes: open, alerted episodes by start.
            models.Index(
                fields=["started_at"],
                condition=Q(resolved_at=None, alerted_at__isnull=False),
                name="stall_alerted_open",
            ),
            # Escalation check: only the open episodes whose next check has come (at
            # 100,000 open episodes a pass over all of them was most of a scan).
            models.Index(
                fields=["next_check_at"],
                condition=Q(resolved_at=None, next_check_at__isnull=False),
                name="stall_next_check",
            ),
            # Escalation notices waiting to be claimed by the email pass.
            models.Index(
                fields=["id"],
                condition=Q(resolved_at=None, escalation_pending__len__gt=0),
                name="stall_escalation_pending",
            ),
            # Reminder pass: open, alerted episodes by when they were last reminded.
            models.Index(
                Coalesce("last_reminded_at", "alerted_at"),
                condition=Q(resolved_at=None, alerted_at__isnull=False),
                name="stall_reminder_due",
            ),
            # Resolved-notice pass: resolved after an alert, notice not yet sent.
            models.Index(
                fields=["resolved_at"],
                condition=Q(
                    resolved_at__isnull=False,
                    alerted_at__isnull=False,
                    resolution_notified_at=None,
                ),
                name="stall_resolved_unnotified",
            ),
            # The same for the lead it escalated to.
            models.Index(
                fields=["resolved_at"],
                condition=Q(
                    resolved_at__isnull=False,
                    escalated_at__isnull=False,
                    lead_resolution_notified_at=None,
                ),
                name="stall_resolved_lead_unnotified",
            ),
            # The dashboard's stalled-now list and the admin page's counts.
            models.Index(
                fields=["kind", "started_at"], condition=Q(resolved_at=None), name="stall_open"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.item_id}"

    def get_absolute_url(self):
        return reverse("handoffs:stall-detail", args=[self.pk])

    @property
    def is_open(self):
        return self.resolved_at is None

    @property
    def stalled_since(self):
        return self.stalled_at or self.started_at + self.target

    @property
    def counts_working_time(self):
        """The stall moment fell later than the target in clock time: working time counted."""
        return self.stalled_at is not None and self.stalled_at != self.started_at + self.target

    @property
    def waited(self):
        return (self.resolved_at or timezone.now()) - self.started_at

    @property
    def is_snoozed(self):
        return self.snoozed_until is not None and self.snoozed_until > timezone.now()

    def can_act(self, user):
        """The owner, whoever it escalates to, the item's team, and admins."""
        if not user.is_authenticated or not user.can_write:
            return False
        return (
            user.is_admin
            or user.pk in (self.owner_id, self.escalate_to_id)
            or self.item.stage.team_id in team_ids_of(user)
        )

    def acknowledge(self, *, by, hours=None):
        """Quiet for `hours` (default ACKNOWLEDGE_FOR) of the item's team's working time;
        then reminders resume, backing off from the first interval again. Returns False
        when someone acknowledged first (and it has not expired) or it resolved."""
        now = timezone.now()
        seconds = (hours or ACKNOWLEDGE_FOR.total_seconds() / 3600) * 3600
        calendar = TeamCalendar.objects.filter(team_id=self.item.stage.team_id).first()
        until = (
            calendar.as_work_calendar().add(now, seconds)
            if calendar
            else now + datetime.timedelta(seconds=seconds)
        )
        done = (
            StallEpisode.objects.filter(pk=self.pk, resolved_at=None)
            .filter(Q(acknowledged_at=None) | Q(acknowledged_until__lte=now))
            .update(
                acknowledged_at=now,
                acknowledged_by=by,
                acknowledged_until=until,
                reminder_count=0,
                escalation_repeats=0,
            )
        )
        if done:
            self.acknowledged_at, self.acknowledged_by = now, by
            self.acknowledged_until, self.reminder_count = until, 0
        return bool(done)

    @property
    def is_acknowledged(self):
        return self.acknowledged_at is not None and (
            self.acknowledged_until is None or self.acknowledged_until > timezone.now()
        )

    def snooze(self, *, until, reason):
        StallEpisode.objects.filter(pk=self.pk, resolved_at=None).update(
            snoozed_until=until, snooze_reason=reason
        )
        self.snoozed_until, self.snooze_reason = until, reason


# The kinds whose targets count the owning team's working time (docs/calendars.md).
WORKING_TIME_KINDS = (StallEpisode.Kind.HANDOFF_UNACCEPTED, StallEpisode.Kind.STAGE_OVER_TARGET)


class StallNotice(models.Model):
    """What one email told about one episode. The constraints make a double send impossible."""

    class Kind(models.TextChoices):
        ALERT = "alert", "Alert"
        ESCALATION = "escalation", "Escalation"
        REMINDER = "reminder", "Reminder"
        RESOLVED = "resolved", "Resolved"
        RESOLVED_LEAD = "resolved_lead", "Resolved (to the lead it escalated to)"

    episode = models.ForeignKey(StallEpisode, on_delete=models.CASCADE, related_name="notices")
    # NULL while the notice waits for its recipient's daily digest (docs/stalls.md).
    delivery = models.ForeignKey(
        EmailDelivery, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    recipient = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # For reminders, which reminder it is (1, 2, …); 0 otherwise.
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # Backs the alert/escalation/resolved/reminder claims on StallEpisode.
            # Escalations are numbered by the episode's escalation step and may go to
            # several people at one level (the admins): once per recipient and step.
            models.UniqueConstraint(
                fields=["episode", "kind", "sequence", "recipient"],
                name="stall_notice_once",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            # The daily digest: a recipient's notices not yet in an email.
            models.Index(
                fields=["recipient", "created_at"],
                condition=Q(delivery=None),
                name="stall_notice_digest_pending",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for episode {self.episode_id}"


# --- Integrations: intake webhooks, outbound webhooks, spreadsheet imports (docs/integrations.md)


class NotificationChannel(models.Model):
    """A chat or push destination (an Apprise URL) for a team or one person (docs/channels.md).

    The URL carries the service's token: it is shown once, when saved, then masked."""

    class Event(models.TextChoices):
        STALL_ALERT = "stall_alert", "Stall alerts, reminders and resolutions"
        STALL_ESCALATION = "stall_escalation", "Stall escalations"
        ACTION_REMINDER = "action_reminder", "Action item reminders (personal channels)"
        DECISION_REQUEST = "decision_request", "Red decisions waiting for an answer"
        HANDOFF_WAITING = "handoff_waiting", "Handoffs waiting for the team to accept"

    team = models.ForeignKey(
        "handoffs.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="channels"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="channels",
    )
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=2000)
    events = ArrayField(models.CharField(max_length=30, choices=Event.choices), default=list)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(team__isnull=True, user__isnull=False)
                | models.Q(team__isnull=False, user__isnull=True),
                name="channel_team_xor_user",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def masked_url(self):
        return chat.masked(self.url)

    @property
    def service(self):
        return chat.label(self.url)

    @property
    def event_labels(self):
        return [self.Event(event).label for event in self.events if event in self.Event.values]


class ChannelDelivery(models.Model):
    """One notice to one channel: the chat side of the outbox (handoffs.channels).

    The unique key is the claim that a notice is written once per channel (two scanners,
    an owner's and a lead's email about the same stall); sending claims the row with a
    lease like an email, so two workers never post it twice at once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        REFUSED = "refused", "Refused"

    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="deliveries"
    )
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=250)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "channel deliveries"
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="channel_delivery_once"),
        ]
        indexes = [
            # Sender pass: rows to post whose attempt (or expired lease) is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="channel_delivery_due",
            ),
        ]

    def __str__(self):
        return f"{self.title} → {self.channel} ({self.status})"
