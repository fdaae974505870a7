"""Who hears about a stall, and when: an escalation policy as a pure calculation.

A policy is ordered levels (the owner; the owning team's lead; a named person or role),
each reached after its own delay, counted in working seconds since the stall began. The
caller resolves each level to user ids, computes the working seconds elapsed (in SQL, for
every open stall at once: opshub.lib.worktime_sql), and calls `step` only for the stalls
whose next check has come. Rules (docs/stalls.md, "Escalation policy"):

- A level whose people were all told at an earlier level is skipped, and the next level
  takes its place in time: a lead who owns the stall escalates to the next level, never
  to themself.
- Levels reached together are told together: a stall first seen long after it began (the
  scheduler was down, an imported backlog) alerts the owner and escalates in one step, so
  the scan can fold everything due for one person into one message (`by_person`).
- After the last notice, the people the reached level added are reminded: 1×, 2×, 4× …
  its interval, capped; the last level repeats for as long as the stall stays open.
- While acknowledged nothing is sent; when the acknowledgement expires, reminders resume
  from the first interval.
"""

import math
from dataclasses import dataclass, replace

ALERT, ESCALATION, REMINDER = "alert", "escalation", "reminder"


@dataclass(frozen=True)
class Level:
    after: float  # working seconds from the stall's start until this level is told
    people: tuple = ()  # user ids, resolved by the caller
    repeat_every: float = 24 * 3600  # first reminder interval at this level; inf: never
    label: str = ""


@dataclass(frozen=True)
class Policy:
    levels: tuple
    backoff_cap: float = 7 * 24 * 3600  # the longest gap between two reminders

    def effective(self):
        """[(level index, level, people new at this level)] with skipped levels dropped and
        their time handed to the next level."""
        told, carried, out = set(), None, []
        for index, level in enumerate(self.levels):
            if carried is not None and carried < level.after:
                level = replace(level, after=carried)
            new = tuple(person for person in dict.fromkeys(level.people) if person not in told)
            if not new:
                carried = level.after if carried is None else min(carried, level.after)
                continue
            carried = None
            told.update(new)
            out.append((index, level, new))
        return out


@dataclass(frozen=True)
class State:
    level: int = -1  # index of the highest level told; -1 before the first alert
    last_notice: float | None = None  # elapsed working seconds at the last notice
    reminders: int = 0  # reminders sent since the last level change or acknowledgement


@dataclass(frozen=True)
class Notice:
    person: int
    level: int
    kind: str


@dataclass(frozen=True)
class Step:
    notices: tuple
    state: State
    next_check: float | None  # elapsed working seconds at which to look again; None: never


def step(policy, state, *, elapsed, acknowledged=False):
    """What is due now, the state after sending it, and when to look again."""
    levels = policy.effective()
    if not levels:
        return Step((), state, None)
    if acknowledged:
        return Step((), state, _next_check(policy, levels, state))
    reached = [(i, lvl, new) for i, lvl, new in levels if lvl.after <= elapsed and i > state.level]
    notices = []
    if reached:
        for index, _, new in reached:
            kind = ALERT if index == levels[0][0] else ESCALATION
            notices.extend(Notice(person, index, kind) for person in new)
        state = State(level=reached[-1][0], last_notice=elapsed, reminders=0)
    elif state.level >= 0 and elapsed >= state.last_notice + _gap(policy, levels, state):
        current = _current(levels, state)
        notices.extend(Notice(person, state.level, REMINDER) for person in current[2])
        state = State(level=state.level, last_notice=elapsed, reminders=state.reminders + 1)
    return Step(tuple(notices), state, _next_check(policy, levels, state))


def acknowledged(state):
    """The state after an acknowledgement: reminders restart from the first interval."""
    return replace(state, reminders=0)


def by_person(notices_by_stall):
    """{person: [(stall, notice)]} from {stall: notices}: one message per person per scan."""
    out = {}
    for stall, notices in notices_by_stall.items():
        for notice in notices:
            out.setdefault(notice.person, []).append((stall, notice))
    return out


def _current(levels, state):
    return next(entry for entry in levels if entry[0] == state.level)


def _gap(policy, levels, state):
    level = _current(levels, state)[1]
    if math.isinf(level.repeat_every):
        return math.inf  # a level told once, whatever the cap
    return min(level.repeat_every * 2**state.reminders, policy.backoff_cap)


def _next_check(policy, levels, state):
    upcoming = [lvl.after for i, lvl, _ in levels if i > state.level]
    if state.level < 0:
        return min(upcoming)
    reminder = state.last_notice + _gap(policy, levels, state)
    return min([reminder, *upcoming])
