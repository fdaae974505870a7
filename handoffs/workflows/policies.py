"""A workflow's escalation policy: who hears about a stall after its owner, and when.

The stall's owner is always told first, when the item stalls (level 0). The levels a lead
sets come after, in order, each after its own delay counted from when the item stalled, in
the owning team's working time (docs/stalls.md, "Escalation policy"). A workflow with no
levels uses the default policy: the team's lead at the stall's escalation moment, else the
workflow's owner, else an admin. The scan (handoffs.stalls.escalation) turns these rows
into opshub.lib.escalation levels.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from handoffs.workflows.models import Workflow

# A lead should not need more levels than this; the form and the API refuse more.
MAX_LEVELS = 6
# Longest delay or repeat interval: about six months of eight-hour working days.
MAX_HOURS = 1000


class EscalationLevel(models.Model):
    """One level of a workflow's escalation policy, after the owner."""

    class Kind(models.TextChoices):
        TEAM_LEAD = "team_lead", "The owning team's lead"
        PERSON = "person", "A named person"
        WORKFLOW_OWNER = "workflow_owner", "The workflow's owner"
        ADMINS = "admins", "The admins"

    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="escalation_levels"
    )
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # Working time from the moment the item stalled until this level is told.
    delay = models.DurationField()
    # Told again every this long (1×, 2×, 4×, capped) until the next level; None: once.
    repeat_every = models.DurationField(null=True, blank=True)

    class Meta:
        ordering = ["workflow", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "position"], name="escalation_level_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(kind="person", person__isnull=False)
                | (~Q(kind="person") & Q(person__isnull=True)),
                name="escalation_level_person_iff_named",
            ),
        ]

    def __str__(self):
        who = self.person if self.kind == self.Kind.PERSON else self.get_kind_display()
        return f"{self.workflow} level {self.position}: {who}"

    @property
    def delay_hours(self):
        return hours(self.delay)

    @property
    def repeat_hours(self):
        return hours(self.repeat_every) if self.repeat_every is not None else None


def hours(duration):
    """A duration as hours, an int when whole (what the form and the API show)."""
    value = duration.total_seconds() / 3600
    return int(value) if value == int(value) else round(value, 2)


def from_hours(value):
    return datetime.timedelta(hours=float(value))


DEFAULT_RULE = (
    "Default policy: the owning team's lead at the stall's escalation time (the protocol's "
    "escalation delay, else twice the target); when the lead holds the stall, the "
    "workflow's owner, else an admin. Nobody is told twice."
)


def levels_of(workflow):
    return list(workflow.escalation_levels.select_related("person").order_by("position"))
