"""The worker's liveness probe. Its name predates this module and stays, so callers and
queued tasks keep working."""

from celery import shared_task

from opshub.scheduler.models import Heartbeat


@shared_task(name="opshub.ping")
def ping_task() -> str:
    """Proves a worker is consuming: records a heartbeat that admins and tests can read."""
    Heartbeat.beat("worker_ping")
    return "pong"
