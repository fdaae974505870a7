"""The scheduler heartbeat. It keeps the `handoffs` app label it was born with, so its table
and migrations stay where they were (`handoffs.models` re-exports it)."""

from typing import Any

from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """Last run of each periodic task, so /healthz and admins can see the scheduler is alive."""

    name = models.CharField(max_length=60, unique=True)
    last_run_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "handoffs"

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, name: str, **details: Any) -> None:
        cls.objects.update_or_create(
            name=name, defaults={"last_run_at": timezone.now(), "details": details}
        )
