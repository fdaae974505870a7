"""Which calendar counts a workflow's working-time cycle time, and how the board names it.

The rule: **the calendar of the workflow's delivering team** (the team of its last
stage) counts the whole of an item's cycle, request to delivery. One calendar per
workflow gives one clock a reader can check against the label ("Mon–Fri 09–17
Europe/Berlin"); counting each stretch on the calendar of the stage it sat in would mix
clocks inside one number and leave the label no single rule to state. The stall clocks
already count the owning team's time per wait (docs/calendars.md).

A workflow whose delivering team has no calendar counts calendar time: its working-time
figures equal its calendar-time ones, and the board says so.
"""

import hashlib
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef

from handoffs.models import Stage, TeamClosure
from opshub.lib.workcalendar import CalendarError, WorkCalendar
from opshub.lib.worktime_sql import WorkTable

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# The working-time table reaches this far before the earliest request, so even a short
# scope (one item requested and delivered on a weekend) has working days to count from.
MARGIN_DAYS = 31


@dataclass(frozen=True)
class DeliveringCalendar:
    workflow_id: int
    team_id: int
    team_name: str
    calendar: object  # WorkCalendar, or None when the delivering team has none

    @property
    def stamp(self):
        """What the stored working seconds were counted with: '' for calendar time. A fact
        whose stamp differs from its workflow's current one is stale (metrics._STALE)."""
        if self.calendar is None:
            return ""
        text = repr((self.team_id, _canonical(self.calendar)))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def label(self):
        if self.calendar is None:
            return f"working time = calendar time: {self.team_name} has no working calendar"
        return f"working time: {describe(self.calendar)}"


def _canonical(calendar):
    return (
        calendar.time_zone,
        tuple(sorted(calendar.working_days)),
        calendar.day_start.isoformat(),
        calendar.day_end.isoformat(),
        calendar.country,
        calendar.subdivision,
        tuple(sorted(d.isoformat() for d in calendar.closures)),
    )


def delivering_calendars(workflow_ids=None):
    """{workflow id: DeliveringCalendar} from each workflow's last stage (one query: the
    team's calendar joined, its closed days as an array)."""
    closed = TeamClosure.objects.filter(calendar__team=OuterRef("team_id")).values("date")
    stages = (
        Stage.objects.order_by("workflow_id", "-position")
        .distinct("workflow_id")
        .select_related("team", "team__calendar")
        .annotate(closed_days=ArraySubquery(closed))
    )
    if workflow_ids is not None:
        stages = stages.filter(workflow_id__in=workflow_ids)
    return {
        stage.workflow_id: DeliveringCalendar(
            stage.workflow_id, stage.team_id, stage.team.name, _work_calendar(stage)
        )
        for stage in stages
    }


def _work_calendar(stage):
    """The stage team's WorkCalendar, or None without one. A stored calendar that cannot
    work (a time zone gone from the system's database) counts calendar time rather than
    stopping the snapshot."""
    calendar = getattr(stage.team, "calendar", None)
    if calendar is None:
        return None
    try:
        return WorkCalendar(
            time_zone=calendar.time_zone,
            working_days=frozenset(calendar.working_days),
            day_start=calendar.day_start,
            day_end=calendar.day_end,
            country=calendar.country,
            subdivision=calendar.subdivision,
            closures=frozenset(stage.closed_days or ()),
        )
    except CalendarError:
        return None


def describe(calendar):
    """'Mon–Fri 09–17 Europe/Berlin, DE-BY holidays, 2 closed days'."""
    parts = [f"{_days(calendar.working_days)} {_hours(calendar)} {calendar.time_zone}"]
    if calendar.country:
        region = "-".join(filter(None, (calendar.country, calendar.subdivision)))
        parts.append(f"{region} holidays")
    if calendar.closures:
        count = len(calendar.closures)
        parts.append(f"{count} closed day{'s' if count != 1 else ''}")
    return ", ".join(parts)


def _days(days):
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]]}–{DAY_NAMES[ordered[-1]]}"
    return ", ".join(DAY_NAMES[d] for d in ordered)


def _hours(calendar):
    start, end = calendar.day_start, calendar.day_end
    if start.minute == end.minute == 0:
        return f"{start:%H}–{end:%H}"
    return f"{start:%H:%M}–{end:%H:%M}"


def sql_params(calendars, window):
    """Named params for the snapshot SQL: the workflow → team map of the workflows with a
    calendar, and the calendars' working days over `window` ((start, end) or None)."""
    counted = [c for c in calendars.values() if c.calendar is not None]
    table = WorkTable(
        {c.team_id: c.calendar for c in counted} if window else {},
        *(window or (None, None)),
    )
    return table, {
        "wt_workflows": [c.workflow_id for c in counted],
        "wt_teams": [c.team_id for c in counted],
        "wt_stamps": [c.stamp for c in counted],
    }


CALENDAR_LABEL = "calendar time"
ALL_WORKFLOWS_LABEL = "working time: each workflow's delivering team's calendar"


def clock_labels(workflow):
    """(calendar label, working label, the rule in a sentence) for one workflow or all."""
    if workflow is None:
        working = ALL_WORKFLOWS_LABEL
        rule = (
            "All workflows: the headline counts calendar time (each workflow's own clock is "
            "on its own board). Working time counts each item, request to delivery, on the "
            "calendar of its workflow's delivering team (the team of the last stage); "
            "calendar time where that team has none."
        )
        return CALENDAR_LABEL, working, rule
    found = delivering_calendars([workflow.pk]).get(workflow.pk)
    if found is None:
        working = "working time = calendar time: the workflow has no stages"
        here = "this workflow has no stages yet, so working time equals calendar time"
    elif found.calendar is None:
        working = found.label
        here = f"{found.team_name} has no working calendar, so working time equals calendar time"
    else:
        working = found.label
        here = f"here {found.team_name}: {describe(found.calendar)}"
    rule = (
        "Calendar time counts every hour from request to delivery. Working time counts only "
        "the working hours of the calendar of the workflow's delivering team (the team of "
        f"its last stage), request to delivery; {here}. A day is 24 hours of either clock. "
        "The workflow's leads pick which clock the headline and the target use; the other "
        "is shown beside it."
    )
    return CALENDAR_LABEL, working, rule
