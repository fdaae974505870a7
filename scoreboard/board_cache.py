"""The dashboard's board, rendered once and shared through Redis.

Building the board is ≈14 aggregate queries (≈190 ms of SQL at 100,000 items) plus ≈25 ms
of rendering; every lead polls it once a minute. So the rendered board is kept in Redis
under a key made of its filters and a **snapshot version**, a token that every change of
the snapshot or of a target replaces (`invalidate`, on commit). A new version makes every
stored board unreachable at once; what else the board shows (open work, aging, stalled
now) changes with every action and is allowed to be up to `MAX_AGE` seconds old, the
board's own polling interval.

The cached HTML holds nothing that depends on who asks: the target form (with its CSRF
token) and the polling wrapper stay in the view's template. A cold or unreachable cache
costs what the board cost before, never an error (opshub.lib.cache).
"""

import secrets
import time

from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from opshub.lib.cache import cache_add, cache_get, cache_set
from opshub.lib.timezones import zone_or_utc
from scoreboard import dashboard
from scoreboard.models import Clock

VERSION_KEY = "scoreboard:board:version"
# A stored board is served as is for FRESH seconds; after that the first request to claim
# the refresh rebuilds it while the others keep serving the stored one, which is dropped
# at MAX_AGE. So a burst of viewers never rebuilds the same board at once.
FRESH = 45
MAX_AGE = 60
REFRESH_CLAIM = 10
# Time zones warmed after a snapshot update (the distinct ones of active users).
WARM_TIME_ZONES = 5


def version():
    """The current snapshot version; None when Redis is unreachable (then: no caching)."""
    current = cache_get(VERSION_KEY)
    if current is None:
        current = secrets.token_hex(8)
        if not cache_set(VERSION_KEY, current, None):
            return None
    return current


def invalidate():
    """A new snapshot version: every stored board becomes unreachable (they expire alone).
    Called on commit, so a board built under the new version sees the committed rows."""
    cache_set(VERSION_KEY, secrets.token_hex(8), None)


def invalidate_on_commit():
    transaction.on_commit(invalidate, robust=True)


def clock_of(workflow):
    """The clock the workflow's headline counts (the all-workflows board: calendar time).
    Read from the workflow's target, loaded with it by the filter form: no query."""
    if workflow is None:
        return Clock.CALENDAR.value
    goal = getattr(workflow, "scoreboard_target", None)
    return goal.clock if goal is not None else Clock.CALENDAR.value


def _key(current, *, workflow, period, tz, today):
    return ":".join(
        (
            "scoreboard:board",
            current,
            str(workflow.pk if workflow else "all"),
            # A new clock is a new board, even before the version moves on commit.
            clock_of(workflow),
            period.since.isoformat(),
            period.until.isoformat(),
            str(tz),
            today.isoformat(),  # "now" figures (work in progress) and the day's periods
        )
    )


def render_board(*, workflow, period, tz, today):
    """The board's HTML around the target form, and the goal the form starts from."""
    board = dashboard.build(workflow=workflow, period=period, tz=tz)
    context = {"board": board, "workflow": workflow, "period": period}
    goal = board["headline"]["goal"]
    return {
        "head": render_to_string("scoreboard/dashboard.html#board-head", context),
        "body": render_to_string("scoreboard/dashboard.html#board-body", context),
        "goal_metric": goal.metric if goal else None,
        "goal_clock": goal.clock if goal else None,
        "goal_days": round(goal.target.total_seconds() / 86400, 2)
        if goal and goal.target
        else None,
        "built_at": time.time(),
    }


def board(*, workflow, period, tz, today):
    """The rendered board for these filters: the stored one while fresh, else built."""
    current = version()
    key = current and _key(current, workflow=workflow, period=period, tz=tz, today=today)
    stored = cache_get(key) if key else None
    if stored is not None and (
        time.time() - stored["built_at"] < FRESH
        or not cache_add(f"{key}:refresh", 1, REFRESH_CLAIM)
    ):
        return _safe(stored)
    fresh = render_board(workflow=workflow, period=period, tz=tz, today=today)
    if key:
        cache_set(key, fresh, MAX_AGE)
    return _safe(fresh)


def _safe(payload):
    # Our own template's output, rendered with autoescaping; pickling keeps it a str.
    return {**payload, "head": mark_safe(payload["head"]), "body": mark_safe(payload["body"])}  # noqa: S308


def warm():
    """Builds the default board (all workflows, this quarter) for the active users' time
    zones, so the first lead to look after a delivery does not wait for it."""
    current = version()
    if current is None:
        return 0
    names = list(
        get_user_model()
        .objects.filter(is_active=True)
        .values_list("time_zone", flat=True)
        .distinct()
        .order_by("time_zone")[:WARM_TIME_ZONES]
    )
    for name in names:
        tz = zone_or_utc(name)
        today = timezone.localdate(timezone=tz)
        period = dashboard.window_period("quarter", None, None, tz, today)
        key = _key(current, workflow=None, period=period, tz=tz, today=today)
        cache_set(key, render_board(workflow=None, period=period, tz=tz, today=today), MAX_AGE)
    return len(names)
