"""What the scoreboard needs to hear about from the rest of the app."""


def item_delivered(item):
    """Called inside the delivering transaction; enqueues the snapshot update on commit."""
    from scoreboard.tasks import snapshot_update_task

    snapshot_update_task.delay_on_commit([item.pk])
