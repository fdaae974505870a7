"""A baseline: an uploaded event log, kept (compressed) with the map discovered from it.

The source is kept so the map can be counted again when the lead maps resources to
teams, and so "Create this workflow" can import the same history as the new workflow's
baseline. Registered in the scoreboard app (scoreboard/models.py re-exports it).
"""

import gzip

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from handoffs.models import Workflow
from scoreboard.discovery.counting import discover, main_path
from scoreboard.discovery.readers import Columns, read_event_log
from scoreboard.progress import ProgressWriter, ReportedStream

# A log is bounded so one lead cannot hold a web or Celery worker for long.
MAX_UPLOAD_EVENTS = 1_000_000


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
    class Status(models.TextChoices):
        COUNTING = "counting", "Being read"
        READY = "ready", "Ready"
        FAILED = "failed", "Refused"

    name = models.CharField(max_length=200, help_text="The uploaded file's name.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    progress = models.PositiveSmallIntegerField(default=100, help_text="Percent of the log read.")
    errors = models.JSONField(default=list, blank=True, help_text="[[line, message]] if refused.")
    format = models.CharField(max_length=8, blank=True)
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

    def count(self, *, team_of=None, report=None):
        """(format, map) of the stored log; ValidationError naming the lines of a bad one."""
        stream = ReportedStream(bytes(self.source), report)
        log = read_event_log(stream, Columns(**self.columns), max_events=MAX_UPLOAD_EVENTS)
        if log.errors:
            raise ValidationError({"file": [f"Line {line}: {text}" for line, text in log.errors]})
        found = discover(log.events, starts=log.starts, team_of=team_of or None)
        found["main_path"] = main_path(found)
        found["lifecycle"] = {"starts": len(log.starts), "dropped": dict(log.dropped)}
        found["naive_timestamps"] = log.naive_timestamps
        return log.format, found

    def count_pending(self):
        """Counts a baseline still being read (the Celery task's work): progress written as
        it goes (scoreboard/progress.py), so the polling page sees it move; a bad log ends
        refused with its lines. Safe to run twice: a counted baseline is left alone."""
        pending = Baseline.objects.filter(pk=self.pk, status=self.Status.COUNTING)
        if not pending.exists():
            return None
        report = ProgressWriter(Baseline, self.pk)
        try:
            log_format, found = self.count(report=report)
        except ValidationError as exc:
            pending.update(status=self.Status.FAILED, errors=exc.message_dict["file"])
            return self.Status.FAILED
        finally:
            report.close()
        pending.update(
            status=self.Status.READY,
            progress=100,
            format=log_format,
            discovery=found,
            cases=found["cases"],
            events=found["events"],
        )
        return self.Status.READY

    @property
    def is_ready(self):
        return self.status == self.Status.READY

    @property
    def has_teams(self):
        return "team_handover" in self.discovery
