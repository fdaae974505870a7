"""Working time for the forecast: a team's calendar as a warp of the time axis.

`WorkClock.elapsed` maps an instant (epoch seconds) to the working seconds of one calendar
since the clock's start: flat through nights, weekends, holidays and closures, rising one
second per second inside working hours. It is monotone, so a whole history mapped through
it keeps its order, and every duration the forecast samples (stage visits, the current
visit's age, calibration and coverage) becomes working time at once. `WorkClock.at` maps
back: the earliest instant with that much working time behind it, which always lies in a
working window (work that ends at a day's close is due at that close, as
opshub.lib.workcalendar.add says), so a forecast date never falls on a closed day.

Both directions are numpy over arrays: a searchsorted over the calendar's working days
(one row per working day, built once per model), never a Python loop per item or
simulation.
"""

import datetime
import hashlib

import numpy as np

UTC = datetime.UTC
# How far past the forecast moment the clock runs: dates beyond come back as "never".
AHEAD = datetime.timedelta(days=3 * 365)


def calendar_key(calendar):
    """A short stable name for a calendar's rules (a changed calendar: another model)."""
    if calendar is None:
        return "calendar-time"
    text = "|".join(
        str(part)
        for part in (
            calendar.time_zone,
            sorted(calendar.working_days),
            calendar.day_start,
            calendar.day_end,
            calendar.country,
            calendar.subdivision,
            sorted(calendar.closures),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class WorkClock:
    def __init__(self, calendar, start, end):
        """`start`, `end`: epoch seconds the clock must cover."""
        rows = calendar.cumulative_intervals(
            datetime.datetime.fromtimestamp(start, UTC), datetime.datetime.fromtimestamp(end, UTC)
        )
        self.lo = np.array([lo.timestamp() for lo, _, _ in rows], dtype=np.float64)
        self.hi = np.array([hi.timestamp() for _, hi, _ in rows], dtype=np.float64)
        self.before = np.array([before for _, _, before in rows], dtype=np.float64)
        self.through = self.before + (self.hi - self.lo)  # working seconds at each day's close

    @classmethod
    def around(cls, calendar, first, now):
        """A clock from the history's first instant to AHEAD after `now`."""
        return cls(calendar, min(first, now) - 86400.0, now + AHEAD.total_seconds())

    def elapsed(self, moments):
        """Working seconds from the clock's start to each moment (nan stays nan)."""
        t = np.asarray(moments, dtype=np.float64)
        if not len(self.lo):
            return np.where(np.isnan(t), np.nan, 0.0)
        day = np.searchsorted(self.lo, np.nan_to_num(t, nan=0.0), side="right") - 1
        safe = np.maximum(day, 0)
        inside = np.clip(t - self.lo[safe], 0.0, self.hi[safe] - self.lo[safe])
        out = np.where(day < 0, 0.0, self.before[safe] + inside)
        return np.where(np.isnan(t), np.nan, out)

    def at(self, working):
        """The earliest instant with `working` seconds behind it; nan past the clock's end
        (and for nan or inf)."""
        w = np.asarray(working, dtype=np.float64)
        finite = np.isfinite(w)
        day = np.searchsorted(self.through, np.where(finite, w, 0.0), side="left")
        valid = finite & (day < len(self.lo))
        safe = np.minimum(day, max(len(self.lo) - 1, 0))
        if not len(self.lo):
            return np.full(w.shape, np.nan)
        return np.where(valid, self.lo[safe] + (w - self.before[safe]), np.nan)
