"""The sane range of a work item's dates, in one place for the API, the pages, intake and
the spreadsheet import. A request dated year 1 poisons every average and stall text
("739953 d"); a due date in 9999 hides an item from every due-date alert."""

import datetime

from django.utils import timezone

EARLIEST = datetime.date(2000, 1, 1)
LATEST_DUE = datetime.date(2100, 12, 31)
# A sender a few time zones ahead, or a date typed without a time, may land up to a day
# ahead of the server's clock; more than that is a wrong date, not a clock difference.
FUTURE_SLACK = datetime.timedelta(days=1)

_EARLIEST_MOMENT = datetime.datetime.combine(EARLIEST, datetime.time(), tzinfo=datetime.UTC)


def requested_at_problem(value, *, now=None, label="The request time"):
    """None when `value` (an aware datetime) is a sane request time, else the message."""
    if value < _EARLIEST_MOMENT:
        return f"{label} must be on or after {EARLIEST.isoformat()}."
    if value > (now or timezone.now()) + FUTURE_SLACK:
        return f"{label} cannot be more than a day in the future."
    return None


def due_date_problem(value, *, label="The due date"):
    """None when `value` (a date) is a sane due date, else the message."""
    if not EARLIEST <= value <= LATEST_DUE:
        return f"{label} must be between {EARLIEST.isoformat()} and {LATEST_DUE.isoformat()}."
    return None
