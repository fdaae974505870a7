"""Where Celery's autodiscovery (it imports `<app>.tasks`) finds the tasks of every handoffs area.

Each task keeps its registered name `handoffs.tasks.<name>` (pinned with `name=`), so tasks
already queued and CELERY_BEAT_SCHEDULE keep working."""

from handoffs.integrations import tasks as integration_tasks
from handoffs.mail import tasks as mail_tasks
from handoffs.scheduler import tasks as scheduler_tasks
from handoffs.stalls import tasks as stall_tasks

__all__ = ["integration_tasks", "mail_tasks", "scheduler_tasks", "stall_tasks"]
