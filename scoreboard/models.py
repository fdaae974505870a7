"""The scoreboard's snapshot: facts derived once per delivered item, read by every window query.

Percentiles over a window cannot be merged from daily percentiles, so the snapshot
keeps one row per delivered item (grouped by workflow and delivery day through
`delivered_on`), with the item's cycle time and where its time went. A window query
then reads only the items delivered in the window: its cost follows the window, not
the size of the event log. The rows are rebuilt from the event log by metrics.py.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from handoffs.models import Stage, Workflow, WorkItem
from opshub.lib.aggregates import PercentileCont


class Metric(models.TextChoices):
    AVERAGE = "average", "Average cycle time"
    P50 = "p50", "Median cycle time"
    P85 = "p85", "85th percentile cycle time"
    P95 = "p95", "95th percentile cycle time"


class Clock(models.TextChoices):
    """Which clock a workflow's headline counts (scoreboard.worktime has the rule)."""

    CALENDAR = "calendar", "Calendar time"
    WORKING = "working", "Working time (the delivering team's calendar)"


class FactQuerySet(models.QuerySet):
    def counted(self):
        """Sandbox workflows never reach the scoreboard (checked at read time, so a
        workflow flagged as sandbox later drops out at once)."""
        return self.filter(workflow__is_sandbox=False)

    def delivered_between(self, since, until):
        return self.filter(delivered_at__gte=since, delivered_at__lt=until)

    def for_workflow(self, workflow):
        return self.filter(workflow=workflow) if workflow is not None else self


# The figures of each clock: calendar time under the plain names (the default, and what
# the pm4py comparisons check), working time under WORKTIME + the same names.
WORKTIME = "worktime_"
FIGURES = ("average", "p50", "p85", "p95")


def _cycle_stats(prefix="", condition=None):
    extra = {"filter": condition} if condition is not None else {}
    stats = {f"{prefix}count": Count("pk", **extra)}
    for clock, field in (("", "cycle_seconds"), (WORKTIME, "cycle_working_seconds")):
        stats.update(
            {
                f"{prefix}{clock}average": Avg(field, **extra),
                f"{prefix}{clock}p50": PercentileCont(field, 0.5, **extra),
                f"{prefix}{clock}p85": PercentileCont(field, 0.85, **extra),
                f"{prefix}{clock}p95": PercentileCont(field, 0.95, **extra),
            }
        )
    return stats


class DeliveredItemFactQuerySet(FactQuerySet):
    def summary(self):
        """Count, average and percentiles of cycle time plus where the time went (one query)."""
        return self.aggregate(
            **_cycle_stats(),
            cycle_total=Sum("cycle_seconds"),
            working=Sum("working_seconds"),
            active=Sum("active_seconds"),
            waiting=Sum("waiting_seconds"),
            blocked=Sum("blocked_seconds"),
            decision=Sum("decision_seconds"),
            handoffs=Sum("handoffs"),
            bounces=Sum("bounces"),
        )

    def compare(self, periods):
        """{name: stats} for several (since, until) periods, in one query."""
        stats = {}
        # Only the rows of the periods are read (the index on delivered_at), not all history.
        window = self.filter(
            delivered_at__gte=min(since for since, _ in periods.values()),
            delivered_at__lt=max(until for _, until in periods.values()),
        )
        for name, (since, until) in periods.items():
            stats.update(
                _cycle_stats(f"{name}__", Q(delivered_at__gte=since, delivered_at__lt=until))
            )
        row = window.aggregate(**stats)
        return {
            name: {
                key.split("__", 1)[1]: value
                for key, value in row.items()
                if key.startswith(f"{name}__")
            }
            for name in periods
        }

    def weekly(self, tzinfo):
        return (
            self.annotate(week=TruncWeek("delivered_at", tzinfo=tzinfo))
            .values("week")
            .annotate(
                count=Count("pk"),
                average=Avg("cycle_seconds"),
                p85=PercentileCont("cycle_seconds", 0.85),
            )
            .order_by("week")
        )

    def p85_by_workflow(self):
        rows = self.values("workflow_id").annotate(p85=PercentileCont("cycle_seconds", 0.85))
        return {row["workflow_id"]: row["p85"] for row in rows.order_by()}


# DERIVED: a fact's workflow and stages are those of its item's events, whose keys the event
# log checks; the facts keep a key check only on their item. Deleting a stage or workflow
# still deletes its facts (Django's CASCADE, done by the ORM), and the facts are rebuilt
# from the events at any time (compute_scoreboard --force). Checking the derived keys again
# cost an import about a third of its commit (docs/benchmarks.md).


class DeliveredItemFact(models.Model):
    item = models.OneToOneField(
        WorkItem, on_delete=models.CASCADE, primary_key=True, related_name="scoreboard_fact"
    )
    # Derived from the item (whose own key is checked): no key check of its own, and no
    # index of its own, as fact_wf_delivered leads with it (see DERIVED below).
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    requested_at = models.DateTimeField()
    delivered_at = models.DateTimeField()
    delivered_on = models.DateField(help_text="Delivery day (UTC): the snapshot's day.")
    cycle_seconds = models.FloatField()
    # The same span counted on the working calendar of the workflow's delivering team
    # (scoreboard.worktime); calendar time when that team has none.
    cycle_working_seconds = models.FloatField(default=0)
    worktime_stamp = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="The calendar cycle_working_seconds was counted on; empty: calendar time.",
    )
    # Where the time went, from the event log (they add up to the time covered by events).
    working_seconds = models.FloatField(default=0)
    active_seconds = models.FloatField(
        default=0, help_text="Working time in stages of kind active (flow efficiency)."
    )
    waiting_seconds = models.FloatField(default=0, help_text="Handed off, not yet accepted.")
    blocked_seconds = models.FloatField(default=0)
    decision_seconds = models.FloatField(default=0)
    handoffs = models.PositiveIntegerField(default=0)
    bounces = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)
    # What the facts were derived from: the item's events up to its delivery (the log is
    # append-only, so their count and last id change exactly when the facts can change).
    # The full recompute re-derives only the items whose fingerprint moved.
    event_count = models.PositiveIntegerField(default=0)
    last_event_id = models.BigIntegerField(null=True, blank=True)

    objects = DeliveredItemFactQuerySet.as_manager()

    class Meta:
        indexes = [
            # Every window query: a workflow's (or all) items delivered in [since, until).
            models.Index(fields=["workflow", "delivered_at"], name="fact_wf_delivered"),
            models.Index(fields=["delivered_at"], name="fact_delivered"),
        ]

    def __str__(self):
        return f"Item {self.item_id}: {self.cycle_seconds:.0f} s"


class StageTimeFact(models.Model):
    """Time one delivered item spent in one stage, split by what it was doing there."""

    # The item's key is checked; stagefact_unique leads with it, so it needs no index of its
    # own. The stage and workflow are derived (see DERIVED above DeliveredItemFact).
    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="+", db_index=False)
    stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    delivered_at = models.DateTimeField()
    total_seconds = models.FloatField(default=0)
    working_seconds = models.FloatField(default=0)
    waiting_seconds = models.FloatField(default=0)
    blocked_seconds = models.FloatField(default=0)
    decision_seconds = models.FloatField(default=0)

    objects = FactQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "stage"], name="stagefact_unique"),
        ]
        indexes = [
            # The "where the time goes" breakdown for a window.
            models.Index(fields=["workflow", "delivered_at"], name="stagefact_wf_delivered"),
            # The same for all workflows (the dashboard's default).
            models.Index(fields=["delivered_at"], name="stagefact_delivered"),
        ]

    def __str__(self):
        return f"Item {self.item_id} in stage {self.stage_id}: {self.total_seconds:.0f} s"

    @classmethod
    def breakdown(cls, facts):
        """Per stage: items through it and the seconds they spent, split by activity."""
        return (
            facts.values(
                "stage_id",
                "stage__name",
                "stage__kind",
                "stage__position",
                "stage__team__name",
                "workflow__name",
            )
            .annotate(
                items=Count("item_id"),
                total=Sum("total_seconds"),
                working=Sum("working_seconds"),
                waiting=Sum("waiting_seconds"),
                blocked=Sum("blocked_seconds"),
                decision=Sum("decision_seconds"),
            )
            .order_by("workflow__name", "stage__position")
        )


class HandoffFact(models.Model):
    """One delivered item's passes through one handoff (from_stage → to_stage)."""

    # As StageTimeFact: the item's key checked (handofffact_unique leads with it), the
    # stages and workflow derived.
    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="+", db_index=False)
    from_stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    to_stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    delivered_at = models.DateTimeField()
    submissions = models.PositiveIntegerField(default=0)
    bounces = models.PositiveIntegerField(default=0)
    wait_seconds = models.FloatField(default=0, help_text="Submitted → accepted or bounced.")
    first_pass = models.BooleanField(default=False, help_text="Accepted at the first submission.")

    objects = FactQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "from_stage", "to_stage"], name="handofffact_unique"
            ),
        ]
        indexes = [
            # The per-handoff friction table for a window.
            models.Index(fields=["workflow", "delivered_at"], name="handofffact_wf_delivered"),
            # The same for all workflows (the dashboard's default).
            models.Index(fields=["delivered_at"], name="handofffact_delivered"),
        ]

    def __str__(self):
        return f"Item {self.item_id}: {self.from_stage_id} → {self.to_stage_id}"

    @classmethod
    def breakdown(cls, facts):
        """Per handoff: submissions, bounces, waits and first-pass acceptances."""
        return (
            facts.values(
                "from_stage_id",
                "from_stage__name",
                "to_stage_id",
                "to_stage__name",
                "from_stage__team__name",
                "to_stage__team__name",
                "workflow__name",
            )
            .annotate(
                items=Count("item_id"),
                submissions=Sum("submissions"),
                bounces=Sum("bounces"),
                wait=Sum("wait_seconds"),
                first_pass=Count("item_id", filter=Q(first_pass=True)),
            )
            .order_by("-wait", "workflow__name", "from_stage__position")
        )


class QuarterTarget(models.Model):
    """What a workflow's leads chose to be measured by this quarter, and the target."""

    workflow = models.OneToOneField(
        Workflow, on_delete=models.CASCADE, related_name="scoreboard_target"
    )
    metric = models.CharField(max_length=10, choices=Metric.choices, default=Metric.AVERAGE)
    clock = models.CharField(
        max_length=10,
        choices=Clock.choices,
        default=Clock.CALENDAR,
        help_text="The clock of the headline and the target; the other is shown beside it.",
    )
    target = models.DurationField(null=True, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(target__isnull=True) | Q(target__gt=datetime.timedelta(0)),
                name="target_positive",
            ),
        ]

    def __str__(self):
        return f"{self.workflow}: {self.get_metric_display()} ≤ {self.target}"


# Discovery's baselines live in their area package; imported here so the app registers them.
from scoreboard.discovery.models import Baseline  # noqa: E402, F401

# Flow settings of the forecasting area live in their own package; the app label stays.
from scoreboard.forecasting.models import CommitmentPoint  # noqa: E402, F401

# Imports running behind a progress bar live in their own package too.
from scoreboard.imports.models import ImportRun  # noqa: E402, F401
