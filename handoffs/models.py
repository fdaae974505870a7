import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Count, F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, NullIf, Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

User = settings.AUTH_USER_MODEL


class Cause(models.TextChoices):
    """Why something broke or went missing: the breakage review's four kinds."""

    PERSON = "person", "Person"
    PROCESS = "process", "Process"
    TOOL = "tool", "Tool"
    EXPECTATION = "expectation", "Expectation"


# --- Teams ------------------------------------------------------------------------


class TeamQuerySet(models.QuerySet):
    def of_user(self, user):
        return self.filter(Q(members=user) | Q(lead=user)).distinct()

    def led_by(self, user):
        return self.filter(lead=user)


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    lead = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams"
    )
    members = models.ManyToManyField(User, blank=True, related_name="teams")

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.slug = self.slug or slugify(self.name)
        super().save(*args, **kwargs)

    def has_member(self, user):
        return self.lead_id == user.pk or self.members.filter(pk=user.pk).exists()


def team_ids_of(user):
    """Ids of the teams a user belongs to or leads (cached on the user for one request)."""
    if not user.is_authenticated:
        return set()
    if not hasattr(user, "_team_ids"):
        user._team_ids = set(Team.objects.of_user(user).values_list("pk", flat=True))
    return user._team_ids


def led_team_ids_of(user):
    if not user.is_authenticated:
        return set()
    if not hasattr(user, "_led_team_ids"):
        user._led_team_ids = set(Team.objects.led_by(user).values_list("pk", flat=True))
    return user._led_team_ids


# --- Workflows and stages -------------------------------------------------------------


class WorkflowQuerySet(models.QuerySet):
    def counted(self):
        """Excludes sandboxes: what the scoreboard and the reviews measure."""
        return self.filter(is_sandbox=False)


class Workflow(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    is_sandbox = models.BooleanField(
        default=False, help_text="A place for safe mistakes: usable, excluded from the scoreboard."
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            # A name without letters or digits ("__") slugifies to nothing.
            base = slugify(self.name)[:110] or "workflow"
            self.slug, n = base, 2
            while Workflow.objects.filter(slug=self.slug).exclude(pk=self.pk).exists():
                self.slug, n = f"{base}-{n}", n + 1
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("handoffs:workflow-detail", args=[self.pk])

    def can_edit(self, user):
        """Admins, and leads of a team that owns one of its stages (or any lead while empty).

        The lead who created the workflow keeps editing it while mapping other teams' stages,
        even before leading any team (User.can_create_workflows lets any lead create one).
        """
        if not user.is_authenticated or not user.can_write:
            return False
        if user.is_admin or self.created_by_id == user.pk:
            return True
        led = led_team_ids_of(user)
        if not led:
            return False
        team_ids = {stage.team_id for stage in self.stages.all()}
        return not team_ids or bool(team_ids & led)

    def ordered_stages(self):
        return list(self.stages.order_by("position"))


class Stage(models.Model):
    class Kind(models.TextChoices):
        ACTIVE = "active", "Active (work happens)"
        QUEUE = "queue", "Queue (work waits)"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField()
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="stages")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ACTIVE)
    target = models.DurationField(null=True, blank=True, help_text="Target time in this stage.")

    class Meta:
        ordering = ["workflow", "position"]
        constraints = [
            # Deferred so a reorder can swap positions inside one transaction.
            models.UniqueConstraint(
                fields=["workflow", "position"],
                name="stage_unique_position",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.UniqueConstraint(fields=["workflow", "name"], name="stage_unique_name"),
        ]

    def __str__(self):
        return f"{self.workflow.name} › {self.name}"

    @property
    def is_last(self):
        return not self.workflow.stages.filter(position__gt=self.position).exists()

    def next_stage(self):
        return self.workflow.stages.filter(position__gt=self.position).order_by("position").first()

    def outgoing_handoff(self):
        """The handoff work leaves this stage by, or None on the last stage: a handoff kept
        there for its published history (after a removal or reorder) leads nowhere."""
        later = Stage.objects.filter(workflow_id=self.workflow_id, position__gt=self.position)
        handoff = Handoff.objects.filter(models.Exists(later), from_stage=self).first()
        if handoff is not None:
            handoff.from_stage = self
        return handoff


# --- Handoffs and their protocols ----------------------------------------------------


class Handoff(models.Model):
    """The move out of a stage into the next one. Its rules live in ProtocolVersions."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="handoffs")
    from_stage = models.OneToOneField(Stage, on_delete=models.CASCADE, related_name="handoff_out")

    class Meta:
        ordering = ["workflow", "from_stage__position"]

    def __str__(self):
        to_stage = self.to_stage
        return f"{self.from_stage.name} → {to_stage.name if to_stage else '(end)'}"

    def get_absolute_url(self):
        return reverse("handoffs:protocol-detail", args=[self.pk])

    @property
    def to_stage(self):
        if not hasattr(self, "_to_stage"):
            self._to_stage = self.from_stage.next_stage()
        return self._to_stage

    @property
    def is_collision_zone(self):
        to_stage = self.to_stage
        return to_stage is not None and to_stage.team_id != self.from_stage.team_id

    def published(self):
        """The version the app enforces now: the newest published one."""
        return (
            self.versions.filter(status=ProtocolVersion.Status.PUBLISHED)
            .order_by("-number")
            .first()
        )

    def draft(self):
        return self.versions.filter(status=ProtocolVersion.Status.DRAFT).first()


class ProtocolVersion(models.Model):
    """One version of a handoff protocol. Published versions are immutable (a DB trigger)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # [{"id": "c1", "text": "...", "help": "...", "required": true}]
    checklist = models.JSONField(default=list, blank=True)
    # [{"key": "po_number", "label": "...", "type": "text", "required": true, ...}]; fields.py
    fields = models.JSONField(default=list, blank=True)
    receiving_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Defaults to the team that owns the next stage.",
    )
    default_assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acceptance_target = models.DurationField(default=datetime.timedelta(hours=4))
    escalation_delay = models.DurationField(
        null=True, blank=True, help_text="Defaults to twice the acceptance target."
    )
    recovery_owner = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who supplies a missing input by default (else the sender).",
    )
    recovery_check_delay = models.DurationField(default=datetime.timedelta(days=1))
    ready_answer = models.TextField("How does the receiver know it is ready?", blank=True)
    missing_answer = models.TextField("What happens if something is missing?", blank=True)
    change_note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["handoff", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["handoff", "number"], name="protocol_unique_number"),
            models.UniqueConstraint(
                fields=["handoff"],
                condition=Q(status="draft"),
                name="protocol_one_draft",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="protocol_published_has_date",
            ),
        ]

    def __str__(self):
        return f"{self.handoff} v{self.number} ({self.get_status_display()})"

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    @property
    def effective_receiving_team(self):
        if self.receiving_team_id:
            return self.receiving_team
        to_stage = self.handoff.to_stage
        return to_stage.team if to_stage else None

    @property
    def effective_escalation_delay(self):
        return self.escalation_delay or self.acceptance_target * 2

    def required_checklist_ids(self):
        return [item["id"] for item in self.checklist if item.get("required", True)]

    def required_field_keys(self):
        return [f["key"] for f in self.fields if f.get("required")]

    def publish_problems(self):
        """Why this draft cannot be published, as plain sentences (empty when it can)."""
        from handoffs.fields import validate_definition

        problems = []
        if not self.required_checklist_ids() and not self.required_field_keys():
            problems.append(
                "A protocol needs at least one required checklist item or required field: "
                "otherwise it does not stop anything."
            )
        for item in self.checklist:
            if not (item.get("text") or "").strip():
                problems.append("Every checklist item needs text.")
                break
        keys = [f.get("key") for f in self.fields]
        if len(keys) != len(set(keys)):
            problems.append("Two fields share the same key.")
        for defn in self.fields:
            for attr, message in validate_definition(defn).items():
                problems.append(
                    f"Field “{defn.get('label') or defn.get('key')}”, {attr}: {message}"
                )
        if self.handoff.to_stage is None:
            problems.append("The last stage has no next stage to hand off to.")
        return problems


# --- Work items and their event log --------------------------------------------------------


class WorkItemQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(state__in=[WorkItem.State.DONE, WorkItem.State.CANCELLED])

    def visible_to(self, user):
        # Every signed-in user may read every item; sandbox items included.
        return self if user.is_authenticated else self.none()

    def for_list(self):
        return self.select_related("workflow", "stage", "stage__team", "assignee")

    def for_rows(self):
        """A row of the work list: the item's own columns and the names it shows as
        annotations, so a page builds one object per row instead of five (`make bench`)."""
        return self.only(
            "id", "title", "external_ref", "state", "requested_at", "delivered_at"
        ).annotate(
            workflow_name=F("workflow__name"),
            stage_name=F("stage__name"),
            team_name=F("stage__team__name"),
            owner_name=Coalesce(
                NullIf("assignee__full_name", Value("")),
                "assignee__email",
                output_field=models.CharField(),
            ),
        )  # fmt: skip

    def with_stall_flag(self):
        """Annotates `stalled`: the item has an open stall episode (board and list markers)."""
        return self.annotate(
            stalled=models.Exists(
                StallEpisode.objects.filter(item=models.OuterRef("pk"), resolved_at=None)
            )
        )

    def waiting_for_teams(self, team_ids):
        """Handoffs waiting for one of these teams to accept (the protocol's receiving team,
        else the team owning the stage the item was handed to)."""
        return self.filter(state=WorkItem.State.WAITING_ACCEPTANCE).filter(
            Q(pending_version__receiving_team__in=team_ids)
            | Q(pending_version__receiving_team=None, stage__team__in=team_ids)
        )

    # What a board card shows: loading only these skips decoding each item's field values
    # (JSON) and five timestamps per card, a third of the board's time (`make bench`).
    CARD_FIELDS = (
        "id", "stage_id", "state", "title", "requested_at", "stage_entered_at",
        "assignee__full_name", "assignee__email",
    )  # fmt: skip

    def board_columns(self, workflow, *, per_column):
        """One column per stage: its open-item count and its longest-waiting cards."""
        stages = list(workflow.stages.select_related("team").order_by("position"))
        items = self.open().filter(workflow=workflow)
        counts = dict(items.values_list("stage").annotate(n=Count("pk")).order_by())
        # Each stage's longest-waiting items: one short range of the item_open_board index per
        # stage, not a window over all the workflow's open items.
        first = RawSQL(
            """SELECT c.id FROM handoffs_stage s CROSS JOIN LATERAL (
                   SELECT i.id FROM handoffs_workitem i
                   WHERE i.workflow_id = s.workflow_id AND i.stage_id = s.id
                     AND NOT (i.state IN ('done', 'cancelled'))
                   ORDER BY i.stage_entered_at, i.id LIMIT %s) c
               WHERE s.workflow_id = %s""",
            [per_column, workflow.pk],
        )
        cards = {}
        # A card shows its owner; the stage, team and workflow are the column's and the page's.
        cards_qs = (
            items.filter(pk__in=first)
            .select_related("assignee")
            .only(*self.CARD_FIELDS)
            .with_stall_flag()
        )
        for item in cards_qs.order_by("stage_entered_at", "pk"):
            cards.setdefault(item.stage_id, []).append(item)
        return [
            {
                "stage": stage,
                "count": counts.get(stage.pk, 0),
                "items": cards.get(stage.pk, []),
                "collision": i > 0 and stages[i - 1].team_id != stage.team_id,
            }
            for i, stage in enumerate(stages)
        ]


class WorkItem(models.Model):
    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        WAITING_ACCEPTANCE = "waiting_acceptance", "Waiting for acceptance"
        BLOCKED = "blocked", "Blocked"
        AWAITING_DECISION = "awaiting_decision", "Awaiting decision"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="items")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="items")
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_items"
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    due_date = models.DateField(null=True, blank=True)
    source = models.CharField(
        max_length=60,
        blank=True,
        help_text="Where the item came from: an intake source, an import.",
    )
    external_ref = models.CharField(max_length=120, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    fields = models.JSONField(default=dict, blank=True)
    # The version governing the handoff this item is waiting on (state waiting_acceptance).
    pending_version = models.ForeignKey(
        ProtocolVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The state to return to when a block or a red decision ends.
    resume_state = models.CharField(max_length=20, choices=State.choices, blank=True)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    state_changed_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkItemQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_ref"],
                condition=~Q(external_ref=""),
                name="item_unique_external_ref",
            ),
            models.CheckConstraint(
                condition=Q(state="done", delivered_at__isnull=False)
                | (~Q(state="done") & Q(delivered_at__isnull=True)),
                name="item_delivered_iff_done",
            ),
        ]
        indexes = [
            # Board and list filtered by workflow and state, newest first.
            models.Index(fields=["workflow", "state", "-requested_at"], name="item_wf_state"),
            # Inboxes and the list's stage filter.
            models.Index(fields=["stage", "state"], name="item_stage_state"),
            # "My items" and the owner filter.
            models.Index(fields=["assignee", "state"], name="item_assignee_state"),
            # Stall scans: open items by how long they have been in their state.
            models.Index(
                fields=["state", "state_changed_at"],
                condition=~Q(state__in=["done", "cancelled"]),
                name="item_open_state_age",
            ),
            # The board: a workflow's open items per stage, longest in the stage first (its
            # counts and cards read only these entries, not the workflow's whole history).
            models.Index(
                fields=["workflow", "stage", "stage_entered_at", "id"],
                condition=~Q(state__in=["done", "cancelled"]),
                name="item_open_board",
            ),
            # Scoreboard windows over delivered items.
            models.Index(
                fields=["workflow", "delivered_at"],
                condition=Q(state="done"),
                name="item_delivered",
            ),
            # The /work/ list, newest request first: all items, and open items (its default).
            models.Index(fields=["-requested_at", "-id"], name="item_requested"),
            models.Index(
                fields=["-requested_at", "-id"],
                condition=~Q(state__in=["done", "cancelled"]),
                name="item_open_requested",
            ),
            # The /work/ search: title contains (trigram), reference equals in any case.
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="item_title_trgm"),
            models.Index(Upper("external_ref"), name="item_external_ref_upper"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("handoffs:item-detail", args=[self.pk])

    @property
    def is_open(self):
        return self.state not in (self.State.DONE, self.State.CANCELLED)

    @property
    def age(self):
        return (self.delivered_at or timezone.now()) - self.requested_at

    @property
    def cycle_time(self):
        return self.delivered_at - self.requested_at if self.delivered_at else None

    def replayed_state(self):
        """What replaying the event log gives: (stage_id, state, assignee_id, delivered_at)."""
        return replay(self.events.order_by("at", "pk"))


class Event(models.Model):
    """Append-only: a trigger in the database refuses UPDATE and DELETE (migration 0002)."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        FIELDS_UPDATED = "fields_updated", "Information updated"
        HANDOFF_SUBMITTED = "handoff_submitted", "Handed off"
        HANDOFF_ACCEPTED = "handoff_accepted", "Accepted"
        HANDOFF_BOUNCED = "handoff_bounced", "Bounced"
        BLOCKED = "blocked", "Blocked"
        UNBLOCKED = "unblocked", "Unblocked"
        ASSIGNED = "assigned", "Assigned"
        DETAILS_EDITED = "details_edited", "Details edited"
        COMMENTED = "commented", "Comment"
        DECISION_RECORDED = "decision_recorded", "Decision recorded"
        DECISION_REQUESTED = "decision_requested", "Decision requested"
        DECISION_APPROVED = "decision_approved", "Decision approved"
        DECISION_DENIED = "decision_denied", "Decision denied"
        STALL_STARTED = "stall_started", "Stall started"
        STALL_RESOLVED = "stall_resolved", "Stall resolved"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    protocol_version = models.ForeignKey(
        ProtocolVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            # The item timeline and replay.
            models.Index(fields=["item", "at"], name="event_item_at"),
            # Scoreboard and review windows by kind ("this week's bounces").
            models.Index(fields=["kind", "at"], name="event_kind_at"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.item_id} · {self.at:%Y-%m-%d %H:%M}"


# --- Recoveries ---------------------------------------------------------------------------


# --- Replaying an item's events ----------------------------------------------------------


def replay(events):
    """What an item's events say it is: (stage_id, state, assignee_id, delivered_at). The
    tests and the demo check every item against it; each kind that moves the item has one
    small step in `_REPLAY` (comments, stalls and recorded decisions move nothing)."""
    replayed = _Replayed()
    for event in events:
        step = _REPLAY.get(event.kind)
        if step:
            step(replayed, event, event.payload or {})
    return replayed.stage_id, replayed.state, replayed.assignee_id, replayed.delivered_at


@dataclass
class _Replayed:
    stage_id: int | None = None
    state: str | None = None
    assignee_id: int | None = None
    delivered_at: datetime.datetime | None = None
    resume: str | None = None  # where a block or a red decision returns to


def _entered(state):
    """An item arriving in the event's stage: created, handed off."""

    def step(r, event, payload):
        r.stage_id, r.state, r.assignee_id = event.to_stage_id, state, payload.get("assignee_id")

    return step


def _paused(state):
    """Blocked, or waiting for a red decision: remembers the state to return to."""

    def step(r, event, payload):
        r.resume, r.state = r.state, state

    return step


def _resumed(r, event, payload):
    r.state = r.resume or WorkItem.State.IN_PROGRESS


def _accepted(r, event, payload):
    r.state, r.assignee_id = WorkItem.State.IN_PROGRESS, event.actor_id


def _bounced(r, event, payload):
    r.stage_id, r.state = event.to_stage_id, WorkItem.State.BLOCKED
    r.resume, r.assignee_id = WorkItem.State.IN_PROGRESS, payload.get("assignee_id")


def _assigned(r, event, payload):
    r.assignee_id = payload.get("assignee_id")


def _edited(r, event, payload):
    if "assignee_id" in payload:  # only an edit that changed the owner carries one
        r.assignee_id = payload["assignee_id"]


def _delivered(r, event, payload):
    r.state, r.delivered_at = WorkItem.State.DONE, event.at


def _cancelled(r, event, payload):
    r.state = WorkItem.State.CANCELLED


_REPLAY = {
    Event.Kind.CREATED: _entered(WorkItem.State.IN_PROGRESS),
    Event.Kind.HANDOFF_SUBMITTED: _entered(WorkItem.State.WAITING_ACCEPTANCE),
    Event.Kind.HANDOFF_ACCEPTED: _accepted,
    Event.Kind.HANDOFF_BOUNCED: _bounced,
    Event.Kind.BLOCKED: _paused(WorkItem.State.BLOCKED),
    Event.Kind.UNBLOCKED: _resumed,
    Event.Kind.DECISION_REQUESTED: _paused(WorkItem.State.AWAITING_DECISION),
    Event.Kind.DECISION_APPROVED: _resumed,
    Event.Kind.DECISION_DENIED: _resumed,
    Event.Kind.ASSIGNED: _assigned,
    Event.Kind.DETAILS_EDITED: _edited,
    Event.Kind.DELIVERED: _delivered,
    Event.Kind.CANCELLED: _cancelled,
}


class RecoveryQuerySet(models.QuerySet):
    def open(self):
        return self.filter(closed_at=None)

    def repeats_for(self, handoff):
        """Missing inputs that went missing more than once at this handoff."""
        return (
            self.filter(handoff=handoff)
            .values("missing_input")
            .annotate(times=Count("pk"))
            .filter(times__gt=1)
            .order_by("-times", "missing_input")
        )


class Recovery(models.Model):
    """Work stopped for a missing input: who must supply it, when to check, and why it happened."""

    class Kind(models.TextChoices):
        BOUNCE = "bounce", "Bounced at handoff"
        BLOCK = "block", "Blocked"

    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="recoveries")
    handoff = models.ForeignKey(
        Handoff, null=True, blank=True, on_delete=models.SET_NULL, related_name="recoveries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    missing_input = models.CharField(max_length=200)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="recoveries_owned"
    )
    next_check_at = models.DateTimeField()
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cause = models.CharField(max_length=12, choices=Cause.choices, blank=True)
    note = models.TextField(blank=True)

    objects = RecoveryQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        verbose_name_plural = "recoveries"
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(closed_at=None), name="recovery_one_open_per_item"
            ),
            models.CheckConstraint(
                condition=Q(closed_at=None) | ~Q(cause=""), name="recovery_closed_has_cause"
            ),
        ]
        indexes = [
            # "Recoveries I own" inbox.
            models.Index(
                fields=["owner", "next_check_at"],
                condition=Q(closed_at=None),
                name="recovery_open_owner",
            ),
        ]

    def __str__(self):
        return f"{self.item} — missing {self.missing_input}"


class Comment(models.Model):
    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"Comment on {self.item_id} by {self.author_id}"


# --- In-app notifications -----------------------------------------------------------------


class NotificationQuerySet(models.QuerySet):
    def unread_count_for(self, user):
        return self.filter(user=user, read_at=None).count()


class Notification(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=300)
    item = models.ForeignKey(
        WorkItem, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
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

    def __str__(self):
        return self.message


# --- The scheduler heartbeat ----------------------------------------------------------------


class Heartbeat(models.Model):
    """Last run of each periodic task, so /healthz and admins can see the scheduler is alive."""

    name = models.CharField(max_length=60, unique=True)
    last_run_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, name, **details):
        cls.objects.update_or_create(
            name=name, defaults={"last_run_at": timezone.now(), "details": details}
        )


# --- Decision rights ------------------------------------------------------------------------


class DecisionLevel(models.TextChoices):
    GREEN = "green", "Green: decide and move"
    YELLOW = "yellow", "Yellow: decide, then inform"
    RED = "red", "Red: pause and escalate"


class DecisionRole(models.TextChoices):
    """A user's role for one item: the lead of the team working on it, or anyone else in it."""

    LEAD = "lead", "Lead"
    MEMBER = "member", "Member"


# Every workflow has these two; handoffs read the first, the item's due date follows the second.
BUILTIN_DECISION_TYPES = {
    "override_checklist": {
        "name": "Override a handoff checklist item",
        "good_looks_like": (
            "The unmet item is named, the receiver knows, and a date is set to close the gap. "
            "Overrides are rare: if the same item is overridden every week, change the protocol."
        ),
        "default_level": DecisionLevel.RED,
        "position": 0,
    },
    "change_due_date": {
        "name": "Change the requested delivery date",
        "good_looks_like": (
            "The customer agreed to the new date in writing, and the receiving team can meet it."
        ),
        "default_level": DecisionLevel.YELLOW,
        "position": 1,
    },
}


class DecisionTypeQuerySet(models.QuerySet):
    def for_workflow(self, workflow):
        """The workflow's own types and the organisation-wide ones, built-ins first."""
        return self.filter(Q(workflow=workflow) | Q(workflow=None)).order_by(
            "position", "name", "pk"
        )

    def ensure_builtins(self, workflow):
        DecisionType.objects.bulk_create(
            [
                DecisionType(workflow=workflow, key=key, is_builtin=True, **spec)
                for key, spec in BUILTIN_DECISION_TYPES.items()
            ],
            ignore_conflicts=True,
        )


class DecisionType(models.Model):
    """A kind of decision people make on work items, and what good looks like for it."""

    workflow = models.ForeignKey(
        Workflow,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="decision_types",
        help_text="Empty: organisation-wide, listed in every workflow.",
    )
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    good_looks_like = models.TextField("What good looks like", blank=True)
    default_level = models.CharField(
        max_length=6, choices=DecisionLevel.choices, default=DecisionLevel.YELLOW
    )
    is_builtin = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=10)
    created_at = models.DateTimeField(default=timezone.now)

    objects = DecisionTypeQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            # NULLS NOT DISTINCT: organisation-wide keys are unique too.
            models.UniqueConstraint(
                fields=["workflow", "key"], name="decisiontype_unique_key", nulls_distinct=False
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_org_wide(self):
        return self.workflow_id is None

    def can_edit(self, user):
        if self.workflow_id is None:
            return user.is_authenticated and user.is_admin
        return self.workflow.can_edit(user)


class DecisionRight(models.Model):
    """The level of one decision type for one role, for every team or for one team."""

    decision_type = models.ForeignKey(DecisionType, on_delete=models.CASCADE, related_name="rights")
    role = models.CharField(max_length=6, choices=DecisionRole.choices)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: every team working in the workflow.",
    )
    level = models.CharField(max_length=6, choices=DecisionLevel.choices)
    inform_users = models.ManyToManyField(User, blank=True, related_name="+")
    inform_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Yellow: everyone in this team is informed.",
    )
    approver = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Red: who approves. Empty: the approver team's lead.",
    )
    approver_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Red: this team's lead approves. Empty: the lead of the team doing the work.",
    )
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["decision_type", "role", "team"],
                name="decisionright_unique_cell",
                nulls_distinct=False,
            ),
        ]

    def __str__(self):
        return f"{self.decision_type} · {self.role} · {self.level}"

    def as_dict(self):
        """What the change log records of a cell: ids, so renames do not rewrite history."""
        return {
            "level": self.level,
            "inform_user_ids": sorted(u.pk for u in self.inform_users.all()),
            "inform_team_id": self.inform_team_id,
            "approver_id": self.approver_id,
            "approver_team_id": self.approver_team_id,
        }


class DecisionMatrixChange(models.Model):
    """Append-only log of matrix edits; each change is one new matrix version of its scope."""

    workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    number = models.PositiveIntegerField()
    decision_type = models.ForeignKey(
        DecisionType, null=True, on_delete=models.SET_NULL, related_name="changes"
    )
    type_name = models.CharField(max_length=120)
    summary = models.CharField(max_length=300)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    changed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "number"],
                name="decisionchange_unique_number",
                nulls_distinct=False,
            ),
        ]

    def __str__(self):
        return f"v{self.number}: {self.summary}"


class DecisionQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=Decision.Status.PENDING)

    def awaiting(self, user):
        """Red requests this user may answer: theirs, or any for admins, never their own."""
        qs = self.pending().exclude(requester=user)
        return qs if user.is_admin else qs.filter(approver=user)

    def for_list(self):
        return self.select_related(
            "item", "item__workflow", "decision_type", "requester", "approver", "decided_by"
        )


class Decision(models.Model):
    class Status(models.TextChoices):
        RECORDED = "recorded", "Recorded"
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="decisions")
    decision_type = models.ForeignKey(
        DecisionType, on_delete=models.PROTECT, related_name="decisions"
    )
    requester = models.ForeignKey(User, on_delete=models.PROTECT, related_name="decisions_made")
    role = models.CharField(max_length=6, choices=DecisionRole.choices)
    level = models.CharField(max_length=6, choices=DecisionLevel.choices)
    matrix_version = models.PositiveIntegerField(default=0)
    summary = models.CharField("What was decided", max_length=300)
    why = models.TextField(blank=True)
    # override_checklist: {"protocol_version": id, "checklist": [ids]};
    # change_due_date: {"due_date": "YYYY-MM-DD"}; other types: free-form.
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    informed = models.ManyToManyField(User, blank=True, related_name="+")
    approver = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions_to_approve"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    # Set when a handoff used this override, so one approval lets exactly one handoff through.
    consumed_at = models.DateTimeField(null=True, blank=True)

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # An item waits for at most one red decision at a time.
            models.UniqueConstraint(
                fields=["item"], condition=Q(status="pending"), name="decision_one_pending_per_item"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at=None)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="decision_decided_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("requester")) | Q(status="recorded"),
                name="decision_no_self_approval",
            ),
        ]
        indexes = [
            # The approver's inbox: pending requests addressed to one user.
            models.Index(
                fields=["approver", "requested_at"],
                condition=Q(status="pending"),
                name="decision_pending_approver",
            ),
            # Overrides still unused for an item (the handoff gate).
            models.Index(
                fields=["item", "decision_type"],
                condition=Q(consumed_at=None),
                name="decision_item_unconsumed",
            ),
            # The per-workflow audit list, newest first, filtered by type.
            models.Index(fields=["decision_type", "-requested_at"], name="decision_type_time"),
        ]

    def __str__(self):
        return f"{self.decision_type}: {self.summary}"

    def get_absolute_url(self):
        return f"{self.item.get_absolute_url()}#decision-{self.pk}"

    @property
    def waited(self):
        """How long the item was paused for this decision (red only)."""
        if self.level != DecisionLevel.RED:
            return None
        return (self.decided_at or timezone.now()) - self.requested_at

    def can_answer(self, user):
        return (
            self.status == self.Status.PENDING
            and user.is_authenticated
            and user.can_write
            and user.pk != self.requester_id
            and (user.pk == self.approver_id or user.is_admin)
        )


# --- Stalls ---------------------------------------------------------------------------------


class StallEpisodeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at=None)

    def for_list(self):
        return self.select_related(
            "item", "item__workflow", "item__stage", "owner", "acknowledged_by"
        )

    def quiet_until_now(self, now):
        """Neither acknowledged nor snoozed past now: reminders and escalation may go out."""
        return self.filter(acknowledged_at=None).filter(
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
    detected_at = models.DateTimeField(default=timezone.now)
    alerted_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_notified_at = models.DateTimeField(null=True, blank=True)
    # The resolved notice to the lead it escalated to (claimed like the owner's).
    lead_resolution_notified_at = models.DateTimeField(null=True, blank=True)

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
            # Escalation pass: only the open episodes not yet escalated (at 100,000 open
            # episodes the pass read them all: `make bench`).
            models.Index(
                fields=["started_at"],
                condition=Q(resolved_at=None, alerted_at__isnull=False, escalated_at=None),
                name="stall_unescalated",
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
        return self.started_at + self.target

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

    def acknowledge(self, *, by):
        """Returns False when someone acknowledged (or it resolved) first."""
        now = timezone.now()
        done = StallEpisode.objects.filter(
            pk=self.pk, resolved_at=None, acknowledged_at=None
        ).update(acknowledged_at=now, acknowledged_by=by)
        if done:
            self.acknowledged_at, self.acknowledged_by = now, by
        return bool(done)

    def snooze(self, *, until, reason):
        StallEpisode.objects.filter(pk=self.pk, resolved_at=None).update(
            snoozed_until=until, snooze_reason=reason
        )
        self.snoozed_until, self.snooze_reason = until, reason


class EmailDelivery(models.Model):
    """The outbox: every email opshub sends is one row, to one person, composed when queued
    (handoffs.outbox.enqueue, inside the caller's transaction) and sent by a claiming worker.

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

    def __str__(self):
        return f"{self.subject} → {self.to_email} ({self.status})"


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
            models.UniqueConstraint(
                fields=["episode", "kind", "sequence"], name="stall_notice_once"
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


class ImportMapping(models.Model):
    """The spreadsheet column → item attribute mapping last used for a workflow."""

    workflow = models.OneToOneField(Workflow, on_delete=models.CASCADE, related_name="+")

    class DateOrder(models.TextChoices):
        ISO = "iso", "ISO (2026-12-31)"
        DAY_FIRST = "day_first", "Day first (31/12/2026, 31.12.2026)"
        MONTH_FIRST = "month_first", "Month first (12/31/2026)"

    # {"Deal name": "title", "PO": "fields.po_number", "Notes": ""}; "" skips the column.
    columns = models.JSONField(default=dict)
    # How 05/01/2026 reads: ISO dates (and XLSX date cells) read the same in every order.
    date_order = models.CharField(max_length=12, choices=DateOrder, default=DateOrder.ISO)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Import mapping for {self.workflow}"


class ImportBatch(models.Model):
    """An uploaded spreadsheet kept between mapping, dry run and commit (stateless web tier)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=200)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    row_count = models.PositiveIntegerField(default=0)
    committed_at = models.DateTimeField(null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "import batches"

    def __str__(self):
        return f"{self.filename} → {self.workflow}"

    def get_absolute_url(self):
        return reverse("handoffs:import-detail", args=[self.pk])
