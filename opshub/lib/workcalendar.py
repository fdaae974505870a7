"""Working-time arithmetic: "add 8 working hours to Friday 17:00" is Monday 17:00.

A calendar is a time zone, the working weekdays, one daily window of working hours, the
public holidays of a country (and subdivision) from the `holidays` package, and the
owner's own closures (docs/calendars.md). Every function takes and returns aware
datetimes; the answer is in UTC.

Each working day is turned into one real interval [local start, local end) before any
arithmetic, so time is counted in elapsed seconds: a window that spans a daylight-saving
change is an hour shorter or longer, exactly as the clock on the wall says. A nonexistent
local time (the skipped hour) resolves as zoneinfo does with fold=0.

The stall scan does not call these functions per item. `cumulative_intervals` turns a
window of a calendar into a short table (one row per working day: start, end, working
seconds before it), and opshub.lib.worktime_sql answers "working seconds since t" and
"t plus N working seconds" for every row of a query at once by joining against it.
"""

import bisect
import datetime
import functools
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

UTC = datetime.UTC
MONDAY_TO_FRIDAY = frozenset(range(5))
# How far `add` looks for working time before deciding the calendar has none (a calendar
# whose every day is closed would otherwise loop for ever).
SEARCH_DAYS = 3 * 366


class CalendarError(ValueError):
    """The calendar cannot be used as given (its message names the field)."""


@functools.cache
def _public_holidays(country, subdivision, year):
    if not country:
        return frozenset()
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def supported_countries():
    """{country code: [subdivision codes]} that `holidays` knows."""
    return holidays.list_supported_countries()


@dataclass(frozen=True)
class WorkCalendar:
    time_zone: str = "UTC"
    working_days: frozenset = MONDAY_TO_FRIDAY  # 0 = Monday … 6 = Sunday
    day_start: datetime.time = datetime.time(9)
    day_end: datetime.time = datetime.time(17)
    country: str = ""
    subdivision: str = ""
    closures: frozenset = field(default_factory=frozenset)  # dates the owner is closed

    def __post_init__(self):
        try:
            object.__setattr__(self, "_zone", ZoneInfo(self.time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"time_zone: unknown time zone {self.time_zone!r}.") from None
        days = frozenset(self.working_days)
        if not days or not days <= set(range(7)):
            raise CalendarError("working_days: pick at least one weekday (0 = Monday).")
        object.__setattr__(self, "working_days", days)
        object.__setattr__(self, "closures", frozenset(self.closures))
        if self.day_start >= self.day_end:
            raise CalendarError("day_end: working hours must end after they start.")
        if self.country:
            countries = supported_countries()
            if self.country not in countries:
                raise CalendarError(f"country: no public holidays known for {self.country!r}.")
            if self.subdivision and self.subdivision not in countries[self.country]:
                raise CalendarError(
                    f"subdivision: {self.subdivision!r} is not a subdivision of {self.country}."
                )
        elif self.subdivision:
            raise CalendarError("subdivision: pick the country first.")

    @property
    def zone(self):
        return self._zone

    def is_holiday(self, day):
        return day in _public_holidays(self.country, self.subdivision, day.year)

    def holiday_names(self, first, last):
        """[(date, name)] of the public holidays from `first` to `last`, both included."""
        if not self.country:
            return []
        # English names where the package has them (it falls back to the country's own).
        names = holidays.country_holidays(
            self.country,
            subdiv=self.subdivision or None,
            years=range(first.year, last.year + 1),
            language="en_US",
        )
        return sorted((day, name) for day, name in names.items() if first <= day <= last)

    def is_working_day(self, day):
        return (
            day.weekday() in self.working_days
            and day not in self.closures
            and not self.is_holiday(day)
        )

    def day_window(self, day):
        """The working interval of a local date as UTC (start, end), or None if closed."""
        if not self.is_working_day(day):
            return None
        start = datetime.datetime.combine(day, self.day_start, tzinfo=self.zone)
        end = datetime.datetime.combine(day, self.day_end, tzinfo=self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def _local_date(self, moment):
        return _aware(moment).astimezone(self.zone).date()

    def intervals(self, start, end):
        """The working intervals overlapping [start, end), clipped to it, in order."""
        start, end = _aware(start), _aware(end)
        day = self._local_date(start) - datetime.timedelta(days=1)
        last = self._local_date(end)
        while day <= last:
            window = self.day_window(day)
            if window is not None:
                lo, hi = max(window[0], start), min(window[1], end)
                if lo < hi:
                    yield lo, hi
            day += datetime.timedelta(days=1)

    def working_seconds(self, start, end):
        """Working seconds in [start, end); negative when end is before start."""
        if _aware(end) < _aware(start):
            return -self.working_seconds(end, start)
        return sum((hi - lo).total_seconds() for lo, hi in self.intervals(start, end))

    def add(self, moment, seconds):
        """The instant `seconds` working seconds after `moment` (UTC).

        Work that ends exactly at the close of a working day is due at that close, not at
        the next day's opening. Adding zero returns `moment` itself, working time or not.
        """
        moment = _aware(moment).astimezone(UTC)
        if seconds < 0:
            raise CalendarError("seconds: cannot add negative working time.")
        if seconds == 0:
            return moment
        remaining = datetime.timedelta(seconds=seconds)
        day = self._local_date(moment) - datetime.timedelta(days=1)
        for _ in range(SEARCH_DAYS):
            window = self.day_window(day)
            day += datetime.timedelta(days=1)
            if window is None or window[1] <= moment:
                continue
            lo = max(window[0], moment)
            if remaining <= window[1] - lo:
                return lo + remaining
            remaining -= window[1] - lo
        raise CalendarError("working_days: the calendar has no working time for years.")

    def next_working_moment(self, moment):
        """`moment` if it is working time, else the start of the next working window."""
        moment = _aware(moment).astimezone(UTC)
        day = self._local_date(moment) - datetime.timedelta(days=1)
        for _ in range(SEARCH_DAYS):
            window = self.day_window(day)
            day += datetime.timedelta(days=1)
            if window is not None and window[1] > moment:
                return max(window[0], moment)
        raise CalendarError("working_days: the calendar has no working time for years.")

    def cumulative_intervals(self, start, end):
        """[(start, end, working seconds before start)] for the working days of [start, end):
        the table the set-based queries in opshub.lib.worktime_sql join against."""
        rows, total = [], 0.0
        for lo, hi in self.intervals(start, end):
            rows.append((lo, hi, total))
            total += (hi - lo).total_seconds()
        return rows


def elapsed_from_table(rows, moment):
    """Working seconds from the table's start to `moment` (the Python twin of the SQL)."""
    starts = [row[0] for row in rows]
    index = bisect.bisect_right(starts, moment) - 1
    if index < 0:
        return 0.0
    lo, hi, before = rows[index]
    return before + (min(moment, hi) - lo).total_seconds()


def _aware(moment):
    if moment.tzinfo is None:
        raise CalendarError("A naive datetime has no place on a calendar; pass an aware one.")
    return moment
