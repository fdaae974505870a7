from django.conf import settings
from django.db import models
from django.utils import timezone

User = settings.AUTH_USER_MODEL


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
