"""The escalation step of a stall scan: each workflow's policy, applied to the stalls due.

One statement reads the open stalls whose next check has come (few: the rest wait for a
later level or repeat), with the working seconds each has waited computed in SQL against
the scan's calendar table (opshub.lib.worktime_sql). Python then runs the pure policy
calculation (opshub.lib.escalation.step) for those rows only and writes back the level
reached, who is due a notice and when to look again. The email pass
(handoffs.stalls.alerts) claims the notices out of `escalation_pending`, one email per
person per scan. The owner's own alert and reminders stay with the email pass.
"""

import datetime
import math
from dataclasses import dataclass

from django.db import connection, transaction

from handoffs.stalls.models import REMINDER_BACKOFF_CAP, WORKING_TIME_KINDS, StallEpisode
from handoffs.workflows.models import TeamCalendar
from handoffs.workflows.policies import EscalationLevel
from opshub.accounts.models import User
from opshub.lib import escalation
from opshub.lib.worktime_sql import between_sql

BATCH = 500
NEVER = math.inf

_WORKING = "e.kind IN ('handoff_unaccepted', 'stage_over_target') AND c.key IS NOT NULL"

# The due stalls, locked (SKIP LOCKED: a second scanner takes other rows), with the team
# owning the wait (the receiving team of a handoff, as detection counts it), and the
# working seconds waited so far and at the stall's own escalation moment. The batch is
# picked first, on the next-check index: joined and computed for every due stall before
# the LIMIT, 90,000 due stalls (every item open, `make bench`) were a 340 MB sort.
_DUE_SQL = f"""
    WITH {{worktime}}, due AS MATERIALIZED (
        SELECT e.id FROM handoffs_stallepisode e
        WHERE e.resolved_at IS NULL AND e.next_check_at <= %(now)s
          AND (e.acknowledged_at IS NULL OR e.acknowledged_until <= %(now)s)
          AND (e.snoozed_until IS NULL OR e.snoozed_until <= %(now)s)
        -- The index's order alone: a tie-break on id sorted every stall due at one instant.
        ORDER BY e.next_check_at
        LIMIT %(batch)s
        FOR UPDATE SKIP LOCKED
    )
    SELECT e.id, e.kind, e.owner_id, e.started_at, e.target, e.escalated_at, e.stalled_at,
           e.escalation_level, e.escalation_elapsed, e.escalation_repeats, e.escalation_step,
           e.escalation_pending, wi.workflow_id, wf.created_by_id, t.id, t.lead_id,
           CASE WHEN {_WORKING} THEN {between_sql("c", "e.started_at", "%(now)s")}
                ELSE EXTRACT(EPOCH FROM %(now)s - e.started_at)::float8 END,
           CASE WHEN {_WORKING}
                THEN {between_sql("c", "e.started_at", "e.started_at + e.escalation_delay")}
                ELSE EXTRACT(EPOCH FROM e.escalation_delay)::float8 END
    FROM due
    JOIN handoffs_stallepisode e ON e.id = due.id
    JOIN handoffs_workitem wi ON wi.id = e.item_id
    JOIN handoffs_workflow wf ON wf.id = wi.workflow_id
    JOIN handoffs_stage s ON s.id = wi.stage_id
    LEFT JOIN handoffs_protocolversion v
      ON v.id = wi.pending_version_id AND e.kind = 'handoff_unaccepted'
    JOIN handoffs_team t ON t.id = COALESCE(v.receiving_team_id, s.team_id)
    LEFT JOIN worktime c ON c.key = t.id
    ORDER BY e.next_check_at, e.id
"""  # noqa: S608 - only the fixed SQL above is formatted in


@dataclass
class Due:
    """One due stall as the statement above reads it."""

    id: int
    kind: str
    owner_id: int | None
    started_at: datetime.datetime
    target: datetime.timedelta
    escalated_at: datetime.datetime | None
    stalled_at: datetime.datetime | None
    level: int
    level_elapsed: float | None
    repeats: int
    step: int
    pending: list
    workflow_id: int
    workflow_owner_id: int | None
    team_id: int
    lead_id: int | None
    elapsed: float
    escalate_after: float


@transaction.atomic
def advance(*, now, worktime=None):
    """Applies each due stall's policy; returns how many stalls got someone new to tell.
    `worktime`: the scan's (cte, params) of the team calendars, built here when not given."""
    worktime, worktime_params = worktime or TeamCalendar.scan_cte(now)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            _DUE_SQL.format(worktime=worktime),
            {"now": now, "batch": BATCH, **worktime_params},
        )
        due = [Due(*row) for row in cursor.fetchall()]
    if not due:
        return 0
    levels = _levels_by_workflow({row.workflow_id for row in due})
    admins = list(
        User.objects.filter(role=User.Role.ADMIN, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    calendars = {
        calendar.team_id: calendar.as_work_calendar()
        for calendar in TeamCalendar.objects.filter(team_id__in={row.team_id for row in due})
    }
    updates = [
        _apply(row, policy_for(row, levels.get(row.workflow_id, ()), admins), calendars, now)
        for row in due
    ]
    _write_back(updates)
    return sum(
        1 for row, episode in zip(due, updates, strict=True) if episode.escalation_step > row.step
    )


# One statement for the whole batch: Django's bulk_update builds a CASE per column per
# row, ≈2.4 s of Python for 500 stalls at 100k items (`make bench`); this is one
# UPDATE … FROM unnest. The pending arrays travel as text ('{1,2}'), as unnest would
# flatten an array of arrays.
_WRITE_BACK_SQL = """
    UPDATE handoffs_stallepisode e
    SET stalled_at = u.stalled_at, escalation_level = u.level, escalation_elapsed = u.elapsed,
        escalation_repeats = u.repeats, escalation_step = u.step,
        escalation_pending = u.pending::bigint[], escalate_to_id = u.escalate_to,
        next_escalate_to_id = u.next_escalate_to, next_check_at = u.next_check_at
    FROM unnest(%s::bigint[], %s::timestamptz[], %s::smallint[], %s::float8[], %s::integer[],
                %s::integer[], %s::text[], %s::bigint[], %s::bigint[], %s::timestamptz[])
         AS u(id, stalled_at, level, elapsed, repeats, step, pending, escalate_to,
              next_escalate_to, next_check_at)
    WHERE e.id = u.id
"""


def _write_back(episodes):
    """Stores each episode's new escalation columns (the ones `_apply` sets)."""
    columns = list(
        zip(
            *(
                (
                    e.pk,
                    e.stalled_at,
                    e.escalation_level,
                    e.escalation_elapsed,
                    e.escalation_repeats,
                    e.escalation_step,
                    "{" + ",".join(str(int(pk)) for pk in e.escalation_pending) + "}",
                    e.escalate_to_id,
                    e.next_escalate_to_id,
                    e.next_check_at,
                )
                for e in episodes
            ),
            strict=True,
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(_WRITE_BACK_SQL, [list(column) for column in columns])


def _levels_by_workflow(workflow_ids):
    out = {}
    for level in EscalationLevel.objects.filter(workflow_id__in=workflow_ids).order_by(
        "workflow_id", "position"
    ):
        out.setdefault(level.workflow_id, []).append(level)
    return out


def _some(*people):
    return tuple(person for person in people if person is not None)


def policy_for(row, levels, admins):
    """The pure policy of one stall: its owner first, then the workflow's levels (or the
    default: the team's lead at the stall's escalation moment, else the workflow's owner,
    else the first admin who is not the owner; the fallbacks never come on their own, only
    in place of a level that names the owner)."""
    target = row.target.total_seconds()
    owner = escalation.Level(after=target, people=_some(row.owner_id), repeat_every=NEVER)
    if not levels:
        first_admin = next((pk for pk in admins if pk != row.owner_id), None)
        rest = (
            escalation.Level(row.escalate_after, _some(row.lead_id), NEVER, "team lead"),
            escalation.Level(NEVER, _some(row.workflow_owner_id), NEVER, "workflow owner"),
            escalation.Level(NEVER, _some(first_admin), NEVER, "admin"),
        )
        return escalation.Policy(levels=(owner, *rest))
    rest = tuple(
        escalation.Level(
            after=target + level.delay.total_seconds(),
            people=_people(level, row, admins),
            repeat_every=level.repeat_every.total_seconds() if level.repeat_every else NEVER,
            label=level.get_kind_display(),
        )
        for level in levels
    )
    repeats = [level.repeat_every for level in rest if not math.isinf(level.repeat_every)]
    cap = REMINDER_BACKOFF_CAP * max(repeats) if repeats else NEVER
    return escalation.Policy(levels=(owner, *rest), backoff_cap=cap)


def _people(level, row, admins):
    Level = EscalationLevel.Kind
    return {
        Level.TEAM_LEAD: lambda: _some(row.lead_id),
        Level.PERSON: lambda: _some(level.person_id),
        Level.WORKFLOW_OWNER: lambda: _some(row.workflow_owner_id),
        Level.ADMINS: lambda: tuple(admins),
    }[level.kind]()


def state_of(row, policy):
    """The pure state stored on the episode; for a stall escalated before policies existed,
    the first level after the owner counts as told."""
    told = [index for index, _, _ in policy.effective()]
    if row.level_elapsed is not None:
        # A level the policy no longer has (it was edited) counts as the one below it.
        below = [index for index in told if index <= row.level]
        if not below:
            return escalation.State()
        return escalation.State(below[-1], row.level_elapsed, row.repeats)
    if row.escalated_at is not None:
        later = [index for index in told if index >= 1]
        return escalation.State(later[0] if later else -1, row.elapsed, 0)
    return escalation.State()


def _apply(row, policy, calendars, now):
    """The episode's new escalation columns after one step of its policy."""
    result = escalation.step(policy, state_of(row, policy), elapsed=row.elapsed)
    # The owner's notices are the email pass's own alert and reminders.
    new = [notice.person for notice in result.notices if notice.person != row.owner_id]
    state = result.state
    effective = policy.effective()
    reached = [entry for entry in effective if entry[0] <= state.level and entry[0] >= 1]
    upcoming = [
        entry
        for entry in effective
        if entry[0] > max(state.level, 0) and not math.isinf(entry[1].after)
    ]
    nxt = upcoming[0][2][0] if upcoming else None
    calendar = calendars.get(row.team_id) if row.kind in WORKING_TIME_KINDS else None
    return StallEpisode(
        pk=row.id,
        stalled_at=row.stalled_at or _instant(calendar, row.started_at, row.target.total_seconds()),
        escalation_level=max(state.level, 0),
        escalation_elapsed=state.last_notice,
        escalation_repeats=state.reminders,
        escalation_step=row.step + 1 if new else row.step,
        escalation_pending=list(dict.fromkeys([*row.pending, *new])),
        # Whom it escalated to last, else whom it will escalate to.
        escalate_to_id=reached[-1][2][0] if reached else nxt,
        next_escalate_to_id=nxt,
        next_check_at=_next_check(calendar, row, result.next_check, now),
    )


def _instant(calendar, start, seconds):
    if calendar is None:
        return start + datetime.timedelta(seconds=seconds)
    return calendar.add(start, seconds)


def _next_check(calendar, row, next_elapsed, now):
    if next_elapsed is None or math.isinf(next_elapsed):
        return None
    return max(now, _instant(calendar, now, max(0.0, next_elapsed - row.elapsed)))
