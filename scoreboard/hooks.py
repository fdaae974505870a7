"""What the scoreboard hears from the handoffs app (handoffs/signals.py), connected in
ScoreboardConfig.ready()."""

from opshub.lib.tasks import enqueue_on_commit
from scoreboard.tasks import snapshot_update_task


def items_delivered(sender, *, item_ids, **kwargs):
    """Inside the delivering transaction: the snapshot update is enqueued on commit."""
    enqueue_on_commit(snapshot_update_task, list(item_ids))
