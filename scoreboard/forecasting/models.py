"""Per-workflow flow settings owned by the scoreboard (re-exported by scoreboard.models)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from handoffs.models import Stage, Workflow


class CommitmentPoint(models.Model):
    """Where a workflow's cycle time starts: the stage whose first entry is the commitment.

    No row (or no stage) means the request, as lead time: cycle time = lead time.
    """

    workflow = models.OneToOneField(
        Workflow, on_delete=models.CASCADE, related_name="scoreboard_commitment"
    )
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "scoreboard"

    def __str__(self):
        return f"{self.workflow}: from {self.stage.name if self.stage else 'the request'}"

    def clean(self):
        if self.stage_id and self.stage.workflow_id != self.workflow_id:
            raise ValidationError({"stage": "Pick a stage of this workflow."})

    @property
    def label(self):
        return f"from “{self.stage.name}”" if self.stage else "from the request"
