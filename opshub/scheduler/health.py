"""Is the periodic work running? Read by /healthz and the admin's scheduler page."""

import datetime
from typing import Any

from django.db.models import Subquery
from django.utils import timezone

from opshub.mail import outbox
from opshub.scheduler.models import Heartbeat

# The stall scan runs every minute; five missed runs means beat or the workers are gone.
STALE_AFTER = datetime.timedelta(minutes=5)
SCAN_HEARTBEAT = "scan_stalls"


def scheduler_health() -> dict[str, Any]:
    now = timezone.now()
    # One query for both checks: /healthz is polled by every load balancer.
    beat = (
        Heartbeat.objects.filter(name=SCAN_HEARTBEAT)
        .annotate(emails_due_since=Subquery(outbox.overdue(now).values("next_attempt_at")[:1]))
        .first()
    )
    if beat is None:
        return {"status": "waiting", "reason": "the stall scan has not run yet"}
    age = now - beat.last_run_at
    state = {"last_run_at": beat.last_run_at.isoformat(), "age_seconds": int(age.total_seconds())}
    if age > STALE_AFTER:
        return {"status": "degraded", "reason": "the stall scan has not run for 5 minutes", **state}
    # The outbox sweep runs every minute too; a row due this long has no sender. (A relay
    # that refuses moves next_attempt_at forward with each retry, so it does not count.)
    if beat.emails_due_since is not None:
        return {
            "status": "degraded",
            "reason": "emails have waited for a sender for 5 minutes",
            "emails_due_since": beat.emails_due_since.isoformat(),
            **state,
        }
    return {"status": "ok", **state}
