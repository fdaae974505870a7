"""Celery tasks keeping the scoreboard's snapshot current. Both are safe to run twice:
they rebuild rows from the event log under advisory locks, so a repeat leaves the same rows.
After either, the default dashboard is built again (its cached copy was just invalidated),
so the next lead to look finds it ready."""

from celery import shared_task

from scoreboard import board_cache
from scoreboard.discovery.tasks import baseline_count_task  # noqa: F401 - registered with Celery
from scoreboard.forecasting.tasks import forecast_warm_task  # noqa: F401 - registers the task
from scoreboard.imports.tasks import import_run_task  # noqa: F401 - registers the task
from scoreboard.services import snapshot_rebuild, snapshot_update


@shared_task(name="scoreboard.update_items")
def snapshot_update_task(item_ids):
    count = snapshot_update(item_ids=item_ids)
    board_cache.warm()
    return count


@shared_task(name="scoreboard.rebuild")
def snapshot_rebuild_task():
    count = snapshot_rebuild()
    board_cache.warm()
    return count
