"""Is the periodic work running? Read by /healthz and the admin's scheduler page."""

import datetime

from django.utils import timezone

from handoffs.models import Heartbeat

# The stall scan runs every minute; five missed runs means beat or the workers are gone.
STALE_AFTER = datetime.timedelta(minutes=5)
SCAN_HEARTBEAT = "scan_stalls"


def scheduler_health():
    beat = Heartbeat.objects.filter(name=SCAN_HEARTBEAT).first()
    if beat is None:
        return {"status": "waiting", "reason": "the stall scan has not run yet"}
    age = timezone.now() - beat.last_run_at
    state = {"last_run_at": beat.last_run_at.isoformat(), "age_seconds": int(age.total_seconds())}
    if age > STALE_AFTER:
        return {"status": "degraded", "reason": "the stall scan has not run for 5 minutes", **state}
    return {"status": "ok", **state}
