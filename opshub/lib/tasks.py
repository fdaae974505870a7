"""Enqueueing background work so that a Redis outage never fails the action that implied it."""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args):
    """Sends `task(*args)` to the broker once the current transaction commits (at once
    outside a transaction).

    The action has committed by then, so a broker that is down is logged, not raised: the
    user sees their action succeed. Nothing is lost: every task sent this way has a
    periodic sweep that re-derives its work from the database once Redis is back
    (docs/operations.md, "What a Redis outage delays").
    """

    def send():
        try:
            task.delay(*args)
        except (OperationalError, RedisError, OSError) as exc:
            logger.warning(
                "broker unreachable; %s is left to its periodic sweep",
                task.name,
                extra={"task": task.name, "task_args": list(args), "error": str(exc)},
            )

    # robust: anything else a broken broker raises is logged too, never turned into a 500
    # after the commit (and the remaining on_commit callbacks still run).
    transaction.on_commit(send, robust=True)
