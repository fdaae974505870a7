from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from handoffs.work.models import WorkItem
from handoffs.workflows.models import Team, Workflow

User = settings.AUTH_USER_MODEL


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
