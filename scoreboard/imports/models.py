"""An import running (or run) in the background: its progress, its refusal, its workflow.

Registered in the scoreboard app (scoreboard/models.py re-exports it). The job fields are
those of a discovered map being counted (scoreboard/progress.py): one mechanism.
"""

import gzip

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Workflow


class ImportRun(models.Model):
    class Status(models.TextChoices):
        IMPORTING = "importing", "Being imported"
        DONE = "done", "Imported"
        FAILED = "failed", "Refused"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IMPORTING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    errors = models.JSONField(default=list, blank=True, help_text="[message] if refused.")
    workflow_name = models.CharField(max_length=120)
    source = models.BinaryField(blank=True, help_text="An uploaded CSV, gzip-compressed.")
    columns = models.JSONField(default=dict, blank=True, help_text="Where each field is.")
    baseline = models.ForeignKey(
        "scoreboard.Baseline", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    stages = models.JSONField(
        default=list, blank=True, help_text="From a baseline: [[activity, team id]] in order."
    )
    workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        app_label = "scoreboard"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.workflow_name

    def get_absolute_url(self):
        return reverse("scoreboard:import-run", args=[self.pk])

    @property
    def data(self):
        """The uploaded CSV's bytes."""
        return gzip.decompress(bytes(self.source))

    @property
    def is_running(self):
        return self.status == self.Status.IMPORTING

    def again_url(self):
        """Where to start over after a refusal: the upload page, or the discovered map."""
        if self.baseline_id:
            return reverse("scoreboard:discovery:map", args=[self.baseline_id])
        return reverse("scoreboard:import")
