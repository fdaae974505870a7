"""The catch-up sweep: work whose enqueue was lost while Redis was down, re-derived from
the database. Every task sent with `opshub.lib.tasks.enqueue_on_commit` is covered here or
by its own periodic task (docs/operations.md, "What a Redis outage delays")."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


def _sweeps():
    from handoffs.notifications import send_overdue_immediate
    from reviews.tasks import review_summaries_catch_up
    from scoreboard.services import snapshot_catch_up

    return {
        "scoreboard_facts": snapshot_catch_up,
        "notification_emails": send_overdue_immediate,
        "review_summaries": review_summaries_catch_up,
    }


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
