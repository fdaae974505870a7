import datetime

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from handoffs.workflows.fields import validate_definition
from opshub.lib.workcalendar import CalendarError, WorkCalendar
from opshub.lib.worktime_sql import WorkTable, cte

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


def _monday_to_friday():
    return [0, 1, 2, 3, 4]


def _site_time_zone():
    return settings.TIME_ZONE


class TeamCalendar(models.Model):
    """When a team works (docs/calendars.md): stall targets and escalation delays of the
    waits it owns count only this time. A team without one counts calendar time."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="calendar")
    time_zone = models.CharField(max_length=64, default=_site_time_zone)
    working_days = ArrayField(
        models.PositiveSmallIntegerField(),
        default=_monday_to_friday,
        help_text="Weekdays, 0 = Monday … 6 = Sunday.",
    )
    day_start = models.TimeField(default=datetime.time(9))
    day_end = models.TimeField(default=datetime.time(17))
    country = models.CharField(
        max_length=3, blank=True, help_text="Public holidays of this country (ISO code, e.g. DE)."
    )
    subdivision = models.CharField(
        max_length=10, blank=True, help_text="And of this state or region (e.g. BY)."
    )

    def __str__(self):
        return f"{self.team} calendar"

    def as_work_calendar(self):
        # .all() so that a prefetch (the scan's table) answers without a query per team.
        return WorkCalendar(
            time_zone=self.time_zone,
            working_days=frozenset(self.working_days),
            day_start=self.day_start,
            day_end=self.day_end,
            country=self.country,
            subdivision=self.subdivision,
            closures=self.closure_dates(),
        )

    def closure_dates(self):
        if self.pk is None:  # a default calendar not saved yet has no closed days
            return frozenset()
        if hasattr(self, "closed_dates"):  # annotated by the query (live.stage_calendar)
            return frozenset(self.closed_dates)
        return frozenset(closure.date for closure in self.closed_days.all())

    def clean(self):
        try:
            self.as_work_calendar()
        except CalendarError as exc:
            field, _, message = str(exc).partition(": ")
            raise ValidationError({field: message}) from None

    @classmethod
    def table(cls, now, *, back=datetime.timedelta(days=60), ahead=datetime.timedelta(days=30)):
        """Every team calendar's working days around `now`, for the scan's SQL. A wait
        that began before the window counts from its start: sixty days hold about 40
        working days, past any target a stall scan measures."""
        calendars = {
            c.team_id: c.as_work_calendar() for c in cls.objects.prefetch_related("closed_days")
        }
        return WorkTable(calendars, now - back, now + ahead)

    @classmethod
    def scan_cte(cls, now):
        """table(now) as the stall scan's `worktime` WITH-entry and its params (built once
        a scan, shared by detection and the escalation step)."""
        return cte(cls.table(now))


class TeamClosure(models.Model):
    """A day the team is closed (an inventory day, a company shutdown), with why."""

    calendar = models.ForeignKey(TeamCalendar, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="team_closure_once"),
        ]

    def __str__(self):
        return f"{self.calendar.team} closed on {self.date}: {self.reason}"


def team_ids_of(user):
    """Ids of the teams a user belongs to or leads (cached on the user for one request)."""
    if not user.is_authenticated:
        return set()
    if not hasattr(user, "_team_ids"):
        user._team_ids = set(Team.objects.of_user(user).values_list("pk", flat=True))
    return user._team_ids


def team_ids_subquery(user):
    """team_ids_of(user) as an array subquery, for a page that reads them with its main
    row (the item page); hand the array to `remember_team_ids`."""
    return ArraySubquery(Team.objects.of_user(user).order_by().values("pk"))


def remember_team_ids(user, ids):
    user._team_ids = set(ids)


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

    def published_versions(self):
        """Every published protocol version of the workflow with its handoff, oldest number
        first: the item page's next protocol and field labels from one query."""
        return list(
            ProtocolVersion.objects.filter(
                handoff__workflow_id=self.pk, status=ProtocolVersion.Status.PUBLISHED
            )
            .select_related("handoff")
            .order_by("number")
        )


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
        # By the workflow's id: no query for the workflow itself (the item page asks this).
        later = Stage.objects.filter(workflow_id=self.workflow_id, position__gt=self.position)
        return later.order_by("position").first()

    def outgoing_handoff(self):
        """The handoff work leaves this stage by, or None on the last stage: a handoff kept
        there for its published history (after a removal or reorder) leads nowhere."""
        later = Stage.objects.filter(workflow_id=self.workflow_id, position__gt=self.position)
        handoff = Handoff.objects.filter(models.Exists(later), from_stage=self).first()
        if handoff is not None:
            handoff.from_stage = self
        return handoff

    def outgoing_protocol(self, stages=None, published=None):
        """(outgoing_handoff(), its published() version) with the handoff's `to_stage` (and
        that stage's team) loaded: two queries for what the item page showed in three, the
        version read with its handoff; None for what is missing. `stages`: the workflow's
        stages in order (with their teams), when the caller has read them: one query.
        `published`: the workflow's published versions with their handoffs, when the caller
        has read them (Workflow.published_versions()): none."""
        if stages is None:
            later = Stage.objects.filter(workflow_id=self.workflow_id, position__gt=self.position)
            to_stage = later.select_related("team").order_by("position").first()
        else:
            to_stage = next((s for s in stages if s.position > self.position), None)
        if to_stage is None:
            return None, None
        if published is None:
            version = (
                ProtocolVersion.objects.filter(
                    handoff__from_stage=self, status=ProtocolVersion.Status.PUBLISHED
                )
                .select_related("handoff")
                .order_by("-number")
                .first()
            )
        else:
            ours = [v for v in published if v.handoff.from_stage_id == self.pk]
            version = max(ours, key=lambda v: v.number, default=None)
        handoff = version.handoff if version else Handoff.objects.filter(from_stage=self).first()
        if handoff is not None:
            handoff.from_stage, handoff._to_stage = self, to_stage
        return handoff, version


# --- Handoffs and their protocols ----------------------------------------------------


class Handoff(models.Model):
    """The move out of a stage into the next one. Its rules live in ProtocolVersions."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="handoffs")
    from_stage = models.OneToOneField(Stage, on_delete=models.CASCADE, related_name="handoff_out")
    # The published version pages show, set from prefetched rows (services.link_stages).
    current: "ProtocolVersion | None"

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
