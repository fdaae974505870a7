"""The Celery task importing a history behind a progress bar."""

from celery import shared_task


@shared_task(name="scoreboard.imports.run")
def import_run_task(run_id):
    """Takes the run's id and re-fetches it; a second run finds it finished and does nothing
    (services.import_run_pending)."""
    from scoreboard.imports.services import import_run_pending  # services enqueue this task

    return import_run_pending(run_id)
