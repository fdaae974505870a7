"""What the scoreboard needs to hear about from the rest of the app."""


def item_delivered(item):
    """Called inside the delivering transaction; enqueues the snapshot update on commit."""
    from opshub.lib.tasks import enqueue_on_commit
    from scoreboard.tasks import snapshot_update_task

    enqueue_on_commit(snapshot_update_task, [item.pk])
