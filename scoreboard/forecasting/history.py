"""A workflow's history as numpy arrays, read from the event log in one query.

One row per stage visit: which item, which stage, when it started and ended, and
where the item went next (another stage, delivered, or cancelled). A visit starts at
the events that put an item in a stage (created, handed off, bounced back) and ends at
the next such event or at delivery/cancellation; the same boundaries as the
scoreboard's stage facts (scoreboard/metrics.py), so "time in stage" means one thing.
"""

from dataclasses import dataclass, replace

import numpy as np
from django.db import connection

from handoffs.models import Event

CANCELLED = -2
OPEN = -3
DELIVERED_KIND = str(Event.Kind.DELIVERED)
CANCELLED_KIND = str(Event.Kind.CANCELLED)

_VISITS = """
WITH ev AS (
    SELECT e.item_id, e.id, e.kind, e.at, e.to_stage_id,
           LEAD(e.at) OVER w AS next_at,
           LEAD(e.kind) OVER w AS next_kind,
           LEAD(e.to_stage_id) OVER w AS next_stage_id
    FROM handoffs_event e
    JOIN handoffs_workitem i ON i.id = e.item_id
    WHERE i.workflow_id = %(workflow)s
      AND e.kind IN ('created', 'handoff_submitted', 'handoff_bounced', 'delivered', 'cancelled')
    WINDOW w AS (PARTITION BY e.item_id ORDER BY e.at, e.id)
)
SELECT item_id, to_stage_id, EXTRACT(EPOCH FROM at)::float8,
       EXTRACT(EPOCH FROM next_at)::float8, next_kind, next_stage_id
FROM ev
WHERE kind IN ('created', 'handoff_submitted', 'handoff_bounced') AND to_stage_id IS NOT NULL
ORDER BY item_id, at, id
"""


@dataclass
class History:
    stage_ids: np.ndarray  # the workflow's stage ids; a visit's stage is an index into it
    item: np.ndarray
    stage: np.ndarray
    started: np.ndarray  # epoch seconds
    ended: np.ndarray  # nan while the visit goes on
    next: np.ndarray  # stage index, len(stage_ids) for delivered, CANCELLED
    requested: np.ndarray  # per visit: the item's first visit start (its request)
    delivered: np.ndarray  # per visit: the item's delivery, nan if not (yet) delivered
    cancelled: np.ndarray  # per visit: the item's cancellation, nan if not cancelled

    @property
    def n_stages(self):
        return len(self.stage_ids)

    @classmethod
    def load(cls, workflow):
        stage_ids = np.array(sorted(workflow.stages.values_list("pk", flat=True)), dtype=np.int64)
        with connection.cursor() as cursor:
            cursor.execute(_VISITS, {"workflow": workflow.pk})
            rows = cursor.fetchall()
        return cls.from_rows(stage_ids, rows)

    @classmethod
    def from_rows(cls, stage_ids, rows):
        n = len(stage_ids)
        if not rows:
            empty = np.zeros(0)
            return cls(stage_ids, empty.astype(np.int64), empty.astype(np.int64), empty, empty,
                       empty.astype(np.int64), empty, empty, empty)  # fmt: skip
        item, stage, started, ended, next_kind, next_stage = zip(*rows, strict=True)
        item = np.array(item, dtype=np.int64)
        stage = np.searchsorted(stage_ids, np.array(stage, dtype=np.int64))
        started = np.array(started, dtype=np.float64)
        ended = np.array([np.nan if e is None else e for e in ended], dtype=np.float64)
        kind = np.array(next_kind, dtype=object)
        to_stage = np.array([-1 if x is None else x for x in next_stage], dtype=np.int64)
        nxt = np.full(len(item), OPEN, dtype=np.int64)
        moved = (to_stage >= 0) & (kind != DELIVERED_KIND) & (kind != CANCELLED_KIND)
        nxt[moved] = np.searchsorted(stage_ids, to_stage[moved])
        nxt[kind == DELIVERED_KIND] = n
        nxt[kind == CANCELLED_KIND] = CANCELLED
        first = np.concatenate(([True], item[1:] != item[:-1]))
        group = np.cumsum(first) - 1
        requested = started[first][group]
        last = np.concatenate((item[1:] != item[:-1], [True]))
        delivered = np.where(nxt[last] == n, ended[last], np.nan)[group]
        cancelled = np.where(nxt[last] == CANCELLED, ended[last], np.nan)[group]
        return cls(stage_ids, item, stage, started, ended, nxt, requested, delivered, cancelled)

    def completed_before(self, at):
        """Visits that ended by `at` and led somewhere (a stage or delivery)."""
        return np.flatnonzero((self.ended <= at) & (self.next >= 0))

    def open_at(self, at):
        """The visit each item open at `at` was in: indexes into the visit arrays."""
        return np.flatnonzero((self.started <= at) & ~(self.ended <= at))

    def lead_times_before(self, at):
        """Lead time (s) of each item delivered by `at` (one value per item)."""
        last = np.concatenate((self.item[1:] != self.item[:-1], [True]))
        done = last & (self.delivered <= at)
        return self.delivered[done] - self.requested[done]

    def warped(self, clock):
        """The same history on a working-time axis (forecasting.worktime.WorkClock): every
        instant becomes the working seconds before it, so durations are working time."""
        return replace(
            self,
            started=clock.elapsed(self.started),
            ended=clock.elapsed(self.ended),
            requested=clock.elapsed(self.requested),
            delivered=clock.elapsed(self.delivered),
            cancelled=clock.elapsed(self.cancelled),
        )

    @property
    def first_event_at(self):
        return float(self.started.min()) if len(self.started) else None

    @property
    def last_event_at(self):
        ends = np.concatenate((self.started, self.ended[~np.isnan(self.ended)]))
        return float(ends.max()) if len(ends) else None
