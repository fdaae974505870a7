"""Celery tasks keeping the scoreboard's snapshot current. Both are safe to run twice:
they rebuild rows from the event log under advisory locks, so a repeat leaves the same rows."""

from celery import shared_task

from scoreboard.services import snapshot_rebuild, snapshot_update


@shared_task(name="scoreboard.update_items")
def snapshot_update_task(item_ids):
    return snapshot_update(item_ids=item_ids)


@shared_task(name="scoreboard.rebuild")
def snapshot_rebuild_task():
    return snapshot_rebuild()
