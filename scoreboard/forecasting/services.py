from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from scoreboard import board_cache
from scoreboard.models import CommitmentPoint


@transaction.atomic
def commitment_point_set(*, workflow, stage, by):
    """Where the workflow's cycle time starts (None: the request). Leads of its teams only."""
    if not workflow.can_edit(by):
        raise PermissionDenied("Only the leads of this workflow's teams set its commitment point.")
    if stage is not None and stage.workflow_id != workflow.pk:
        raise ValidationError({"stage": "Pick a stage of this workflow."})
    point, _ = CommitmentPoint.objects.select_for_update().get_or_create(workflow=workflow)
    point.stage, point.set_by, point.updated_at = stage, by, timezone.now()
    point.save()
    board_cache.invalidate_on_commit()
    return point
