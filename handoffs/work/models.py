import datetime
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Count, F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, NullIf, Upper
from django.urls import reverse
from django.utils import timezone

from handoffs.workflows.models import Cause, Handoff, ProtocolVersion, Stage, Workflow

User = settings.AUTH_USER_MODEL


# How long a delivery may be taken back (docs/work-items.md, "Deliver and undo"): long
# enough to notice a slip, short enough that the scoreboard is not kept guessing.
UNDO_DELIVERY_WINDOW = datetime.timedelta(minutes=10)

# Each stage's longest-waiting open items, with the board filter's condition at {filter}.
_BOARD_PER_STAGE = """SELECT c.id FROM handoffs_stage s CROSS JOIN LATERAL (
       SELECT i.id FROM handoffs_workitem i
       WHERE i.workflow_id = s.workflow_id AND i.stage_id = s.id
         AND NOT (i.state IN ('done', 'cancelled')) {filter}
       ORDER BY i.stage_entered_at, i.id LIMIT %s) c
   WHERE s.workflow_id = %s"""


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
            "id", "title", "external_ref", "state", "requested_at", "delivered_at", "due_date"
        ).annotate(
            due_estimate=F("due_forecast__p85_at"),
            workflow_name=F("workflow__name"),
            stage_name=F("stage__name"),
            team_name=F("stage__team__name"),
            owner_name=Coalesce(
                NullIf("assignee__full_name", Value("")),
                "assignee__email",
                output_field=models.CharField(),
            ),
        )  # fmt: skip

    def with_due_estimate(self):
        """Annotates `due_estimate`: the stored 85% delivery date (DueForecast), which the
        at-risk marker compares with the due date. A join, not a query per row."""
        return self.annotate(due_estimate=F("due_forecast__p85_at"))

    def with_stall_flag(self):
        """Annotates `stalled`: the item has an open stall episode (board and list markers)."""
        # Looked up by name: stall episodes live in the stalls area, above this one.
        episodes = apps.get_model("handoffs", "StallEpisode")
        return self.annotate(
            stalled=models.Exists(
                episodes.objects.filter(item=models.OuterRef("pk"), resolved_at=None)
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
        "id", "stage_id", "state", "title", "requested_at", "stage_entered_at", "due_date",
        "pending_version_id", "assignee__full_name", "assignee__email",
    )  # fmt: skip

    def board_columns(self, workflow, *, per_column, only=None):
        """One column per stage: its open-item count and its longest-waiting cards, of the
        items the board filter `only` (a BoardFilter) keeps."""
        only = only or BoardFilter()
        stages = list(workflow.stages.select_related("team").order_by("position"))
        items = self.open().filter(workflow=workflow).filter(only.q)
        counts = dict(items.values_list("stage").annotate(n=Count("pk")).order_by())
        # Each stage's longest-waiting items: one short range of the item_open_board index per
        # stage, not a window over all the workflow's open items. The filter's condition is
        # the same as `only.q`, written for this statement.
        # `only.sql` is one of BoardFilter's fixed fragments; its values travel as params.
        per_stage = _BOARD_PER_STAGE.replace("{filter}", only.sql)
        first = RawSQL(per_stage, [*only.params, per_column, workflow.pk])  # noqa: S611
        cards = {}
        # A card shows its owner; the stage, team and workflow are the column's and the page's.
        cards_qs = (
            items.filter(pk__in=first)
            .select_related("assignee")
            .only(*self.CARD_FIELDS)
            .with_stall_flag()
        )
        by_pk = {stage.pk: stage for stage in stages}
        for item in cards_qs.order_by("stage_entered_at", "pk"):
            item.stage = by_pk[item.stage_id]  # the column's stage: no query per card
            cards.setdefault(item.stage_id, []).append(item)
        return [
            {
                "stage": stage,
                "count": counts.get(stage.pk, 0),
                "items": cards.get(stage.pk, []),
                "collision": i > 0 and stages[i - 1].team_id != stage.team_id,
                "next": stages[i + 1] if i + 1 < len(stages) else None,
            }
            for i, stage in enumerate(stages)
        ]


# How close a due date must be for the "due soon" marker and the board's filter.
DUE_SOON_DAYS = 3


@dataclass(frozen=True)
class BoardFilter:
    """One of the board's filters, as a Q for counting and as a fragment of the board's
    per-stage statement (aliases `i` for the item, `s` for the stage)."""

    q: Q = Q()
    sql: str = ""
    params: tuple = ()

    CHOICES = (
        ("mine", "Mine"),
        ("team", "My teams"),
        ("stalled", "Stalled"),
        ("due", "Due soon"),
    )

    @classmethod
    def combined(cls, names, *, user, team_ids, today):
        """The filters `names` together: an item shows when it passes every one (AND). Each
        fragment starts with AND, so the fragments and their params simply follow each other."""
        parts = [cls.named(name, user=user, team_ids=team_ids, today=today) for name in names]
        q = Q()
        for part in parts:
            q &= part.q
        return cls(
            q,
            " ".join(part.sql for part in parts if part.sql),
            tuple(param for part in parts for param in part.params),
        )

    @classmethod
    def named(cls, name, *, user, team_ids, today):
        if name == "mine":
            return cls(Q(assignee=user.pk), "AND i.assignee_id = %s", (user.pk,))
        if name == "team":
            ids = sorted(team_ids)
            return cls(Q(stage__team__in=ids), "AND s.team_id = ANY(%s)", (ids,))
        if name == "stalled":
            # By name: stall episodes live in the stalls area, above this one.
            episodes = apps.get_model("handoffs", "StallEpisode")
            open_episode = episodes.objects.filter(item=models.OuterRef("pk"), resolved_at=None)
            return cls(
                Q(models.Exists(open_episode)),
                "AND EXISTS (SELECT 1 FROM handoffs_stallepisode e"
                " WHERE e.item_id = i.id AND e.resolved_at IS NULL)",
            )
        if name == "due":
            soon = today + datetime.timedelta(days=DUE_SOON_DAYS)
            return cls(Q(due_date__lte=soon), "AND i.due_date <= %s", (soon,))
        return cls()


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
            # The due-date stall scan and the overdue filter: open items with a due date.
            models.Index(
                fields=["due_date"],
                condition=~Q(state__in=["done", "cancelled"]) & Q(due_date__isnull=False),
                name="item_open_due_date",
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
    def due_status(self):
        """ "overdue" once the due date has passed (the due_missed stall's rule, in the site's
        time zone), "at_risk" when the stored 85% date (`due_estimate`, annotated by
        with_due_estimate) falls after it (the due_at_risk stall's rule), "due_soon" within
        DUE_SOON_DAYS of it, else "" (and for closed items)."""
        if self.due_date is None or not self.is_open:
            return ""
        today = timezone.localdate()
        if self.due_date < today:
            return "overdue"
        estimate = getattr(self, "due_estimate", None)
        if estimate is not None and timezone.localdate(estimate) > self.due_date:
            return "at_risk"
        if self.due_date <= today + datetime.timedelta(days=DUE_SOON_DAYS):
            return "due_soon"
        return ""

    @property
    def age(self):
        return (self.delivered_at or timezone.now()) - self.requested_at

    @property
    def cycle_time(self):
        return self.delivered_at - self.requested_at if self.delivered_at else None

    def undo_delivery_until(self):
        """When the undo window of its delivery closes (None when it is not delivered)."""
        if self.state != self.State.DONE or self.delivered_at is None:
            return None
        return self.delivered_at + UNDO_DELIVERY_WINDOW

    def can_undo_delivery_now(self, now=None):
        until = self.undo_delivery_until()
        return until is not None and (now or timezone.now()) < until

    def replayed_state(self):
        """What replaying the event log gives: (stage_id, state, assignee_id, delivered_at)."""
        return replay(self.events.order_by("at", "pk"))


class DueForecast(models.Model):
    """When an open item with a due date will probably be delivered: its 85% date.

    Written by the scoreboard's forecast task (every few minutes, set-based) and read here
    by a join: the at-risk markers on list, inbox and item page, and the due_at_risk stall
    scan, never forecast per row or per item (docs/stalls.md, "At risk of the due date").
    """

    class Method(models.TextChoices):
        FORECAST = "forecast", "Item forecast"
        STAGE_P85 = "stage_p85", "Sum of the remaining stages' 85th percentiles"

    item = models.OneToOneField(
        WorkItem, primary_key=True, on_delete=models.CASCADE, related_name="due_forecast"
    )
    p85_at = models.DateTimeField()
    method = models.CharField(max_length=16, choices=Method.choices)
    computed_at = models.DateTimeField()

    def __str__(self):
        return f"{self.item_id}: 85% by {self.p85_at:%Y-%m-%d %H:%M}"


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
        # A delivery taken back inside its undo window: the delivery stays in the log.
        DELIVERY_UNDONE = "delivery_undone", "Delivery undone"
        CLAIMED = "claimed", "Claimed"
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


def _undelivered(r, event, payload):
    r.state, r.delivered_at = WorkItem.State.IN_PROGRESS, None


def _claimed(r, event, payload):
    r.assignee_id = event.actor_id


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
    Event.Kind.DELIVERY_UNDONE: _undelivered,
    Event.Kind.CLAIMED: _claimed,
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
