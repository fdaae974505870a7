"""The catch-up sweep: work whose enqueue was lost while Redis was down, re-derived from
the database. Every task sent with `opshub.lib.tasks.enqueue_on_commit` is covered here or
by its own periodic task (docs/operations.md, "What a Redis outage delays")."""

import logging

from celery import shared_task
from django.conf import settings
from django.utils.module_loading import import_string

# Celery's autodiscovery imports `opshub.tasks`: the shell's own task modules register here.
from opshub.mail import tasks as mail_tasks
from opshub.scheduler import tasks as scheduler_tasks

__all__ = ["catch_up_task", "mail_tasks", "scheduler_tasks"]

logger = logging.getLogger(__name__)


def _sweeps():
    # Emails are not here: every email is an outbox row, and the outbox has its own sweep
    # (`handoffs.tasks.send_due_emails_task` in opshub/mail/tasks.py, every minute) that
    # also drives its retries.
    return {name: import_string(path) for name, path in settings.OPSHUB_CATCH_UP_SWEEPS.items()}


@shared_task(name="opshub.catch_up")
def catch_up_task():
    """Every two minutes (CELERY_BEAT_SCHEDULE). Each sweep claims or locks what it touches,
    so two schedulers, or a sweep beside the original task, do the work once."""
    done = {}
    for name, sweep in _sweeps().items():
        try:
            done[name] = sweep()
        except Exception:  # one failing sweep must not starve the others
            logger.exception("catch-up sweep %s failed", name)
            done[name] = None
    return done
