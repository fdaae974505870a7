"""Measured handoff waits for the map: how long handed-off items waited to be accepted.

A wait is a `handoff_submitted` event followed, for the same item, by `handoff_accepted`
(not a bounce or a cancellation); its handoff is the one leaving the event's from-stage
(one handoff per stage). One statement over the window's handoff events for the whole
map, kept for CACHE_SECONDS: the map is looked at, not polled.
"""

import datetime
import hashlib

from django.db import connection
from django.utils import timezone

from opshub.lib.cache import cache_get, cache_set

WINDOW = datetime.timedelta(days=90)
CACHE_SECONDS = 10 * 60
# Fewer measured waits than this in the window: "not measured" rather than one item's luck.
MIN_WAITS = 3
# The median wait's classes: within a morning, within a day, longer (calendar time).
QUICK = datetime.timedelta(hours=4)
SLOW = datetime.timedelta(days=1)
CLASSES = ("quick", "slow", "slowest", "unmeasured")

_WAITS_SQL = """
    WITH moves AS (
        SELECT e.kind, e.at, e.from_stage_id,
               LEAD(e.kind) OVER w AS next_kind, LEAD(e.at) OVER w AS next_at
        FROM handoffs_event e
        WHERE e.kind IN ('handoff_submitted', 'handoff_accepted', 'handoff_bounced',
                         'cancelled')
          AND e.at >= %(since)s
        WINDOW w AS (PARTITION BY e.item_id ORDER BY e.at, e.id)
    )
    SELECT h.id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM m.next_at - m.at)),
           percentile_cont(0.85) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM m.next_at - m.at)),
           count(*)
    FROM moves m
    JOIN handoffs_handoff h ON h.from_stage_id = m.from_stage_id
    WHERE m.kind = 'handoff_submitted' AND m.next_kind = 'handoff_accepted'
      AND h.id = ANY(%(ids)s)
    GROUP BY h.id
"""


class Wait:
    """One handoff's measured wait over the window."""

    def __init__(self, median=None, p85=None, count=0):
        self.median, self.p85, self.count = median, p85, count

    @property
    def measured(self):
        return self.count >= MIN_WAITS

    @property
    def wait_class(self):
        if not self.measured:
            return "unmeasured"
        if self.median <= QUICK:
            return "quick"
        return "slow" if self.median <= SLOW else "slowest"


def measured_waits(handoff_ids, *, now=None):
    """{handoff id: Wait} for every id given (unmeasured ones included)."""
    ids = sorted(handoff_ids)
    if not ids:
        return {}
    now = now or timezone.now()
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
    key = f"handoffs:map:waits:{digest}"
    rows = cache_get(key)
    if rows is None:
        with connection.cursor() as cursor:
            cursor.execute(_WAITS_SQL, {"since": now - WINDOW, "ids": ids})
            rows = cursor.fetchall()
        cache_set(key, rows, CACHE_SECONDS)
    found = {
        pk: Wait(datetime.timedelta(seconds=median), datetime.timedelta(seconds=p85), count)
        for pk, median, p85, count in rows
    }
    return {pk: found.get(pk, Wait()) for pk in ids}
