"""Where Celery's autodiscovery (it imports `<app>.tasks`) finds the tasks of every handoffs area.

Each task keeps its registered name `handoffs.tasks.<name>` (pinned with `name=`), so tasks
already queued and CELERY_BEAT_SCHEDULE keep working. The outbox's tasks moved to the shell
(opshub/mail/tasks.py) with their names; opshub/tasks.py registers them."""

from handoffs.integrations import tasks as integration_tasks
from handoffs.stalls import tasks as stall_tasks

__all__ = ["integration_tasks", "stall_tasks"]
