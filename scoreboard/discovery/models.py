"""A baseline: an uploaded event log, kept (compressed) with the map discovered from it.

The source is kept so the map can be counted again when the lead maps resources to
teams, and so "Create this workflow" can import the same history as the new workflow's
baseline. Registered in the scoreboard app (scoreboard/models.py re-exports it).
"""

import gzip

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Workflow


class BaselineQuerySet(models.QuerySet):
    def listed(self):
        """For lists: without the log and its map, which may weigh megabytes each."""
        return self.defer("source", "discovery").select_related("uploaded_by", "workflow")

    def visible_to(self, user):
        """Admins see every baseline; a lead the ones they uploaded (a log names people, so
        it stays with whoever brought it); everybody else none."""
        if not (user.is_authenticated and user.can_create_workflows):
            return self.none()
        return self if user.is_admin else self.filter(uploaded_by=user)


class Baseline(models.Model):
    name = models.CharField(max_length=200, help_text="The uploaded file's name.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    format = models.CharField(max_length=8)
    cases = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    columns = models.JSONField(default=dict, help_text="Where each field was read from.")
    source = models.BinaryField(help_text="The uploaded log, gzip-compressed.")
    team_of = models.JSONField(default=dict, blank=True, help_text="{resource: team}")
    discovery = models.JSONField(default=dict, help_text="The discovered map (docs/discovery.md).")
    workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = BaselineQuerySet.as_manager()

    class Meta:
        app_label = "scoreboard"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("scoreboard:discovery:map", args=[self.pk])

    @staticmethod
    def pack(data):
        """The upload as stored: gzip unless it already is."""
        return data if data[:2] == b"\x1f\x8b" else gzip.compress(data, compresslevel=6)

    @property
    def has_teams(self):
        return "team_handover" in self.discovery
