"""The discovered map of an event log, counted as pm4py counts it (pm4py itself is AGPL and
stays a reference in tests and the bench).

Events are sorted stably by case, then UTC time, then their order in the file. Then:
- directly-follows graph (`pm4py.discover_dfg`): for each case, each pair of consecutive
  events a → b counts once; the wait is b's time minus a's;
- start and end activities: the first and last activity of each case;
- variants: the activity sequence of each case, with its share of the cases;
- resource handover (`pm4py.discover_handover_of_work_network(beta=0)`): events without a
  resource are left out, then each pair of consecutive resources r → s in a case counts
  once, r → r included (pm4py includes it); the team handover is the same on teams;
- activity durations, where the log also has `start` events: each `complete` is paired
  with the earliest unpaired `start` of the same activity in the case.
Medians are midpoints of the two middle values for an even count; p85 is linear
(numpy.percentile's default, PostgreSQL's percentile_cont), like the scoreboard's.
"""

import itertools
from collections import Counter, defaultdict, deque
from operator import itemgetter

_ORDER = itemgetter(0, 1, 2)  # case, time, position in the file
MAX_VARIANTS = 100


def percentile(ordered, fraction):
    """Linear interpolation between closest ranks of an ascending list."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * fraction
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _wait_stats(waits):
    waits.sort()
    return {
        "median_wait_seconds": round(percentile(waits, 0.5), 3),
        "p85_wait_seconds": round(percentile(waits, 0.85), 3),
    }


def _edges(pairs):
    """[{from, to, count, median, p85}] of {(a, b): [waits]}, most frequent first."""
    rows = [
        {"from": a, "to": b, "count": len(waits), **_wait_stats(waits)}
        for (a, b), waits in pairs.items()
    ]
    rows.sort(key=lambda row: (-row["count"], row["from"], row["to"]))
    return rows


def _follows(pairs, keys, times):
    for index in range(1, len(keys)):
        pairs[keys[index - 1], keys[index]].append(times[index] - times[index - 1])


def _by_count(counter):
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def discover(events, *, starts=(), team_of=None):
    """The map of a list of LogEvents (sorted in place). `team_of` maps a resource to its
    team, for events whose log names no team."""
    events.sort(key=_ORDER)
    dfg, handover, team_handover = defaultdict(list), defaultdict(list), defaultdict(list)
    starts_of, ends_of, variants = Counter(), Counter(), Counter()
    zones = _Zones()
    cases = 0
    for _, group in itertools.groupby(events, key=itemgetter(0)):
        case = list(group)
        cases += 1
        activities = tuple(event.activity for event in case)
        times = [event.at for event in case]
        starts_of[activities[0]] += 1
        ends_of[activities[-1]] += 1
        variants[activities] += 1
        _follows(dfg, activities, times)
        staffed = [event for event in case if event.resource]
        _follows(handover, [e.resource for e in staffed], [e.at for e in staffed])
        teamed = [(team, e) for e in case if (team := _team(e, team_of))]
        _follows(team_handover, [t for t, _ in teamed], [e.at for _, e in teamed])
        zones.add_case(teamed)
    result = {
        "cases": cases,
        "events": len(events),
        "dfg": _edges(dfg),
        "start": _by_count(starts_of),
        "end": _by_count(ends_of),
        "activities": _activities(events, starts, team_of),
        "variant_count": len(variants),
        "variants": [
            {"activities": list(sequence), "count": count, "share": round(count / cases, 6)}
            for sequence, count in sorted(variants.items(), key=lambda kv: -kv[1])[:MAX_VARIANTS]
        ],
        "handover": _edges(handover),
        "resources": _by_count(Counter(event.resource for event in events if event.resource)),
    }
    if team_handover:
        result["team_handover"] = _edges(team_handover)
        result["zones"] = zones.rows(result["team_handover"])
    return result


class _Zones:
    """Collision zones: where a case's team changes. Per ordered pair of teams, besides the
    handover figures: rework (the case later crosses back, B → A after A → B) and what
    travels (the attributes the receiving events carry, with how often they do)."""

    def __init__(self):
        self.rework, self.travels = Counter(), defaultdict(Counter)

    def add_case(self, teamed):
        crossed = set()
        for (before, _), (after, event) in itertools.pairwise(teamed):
            if before == after:
                continue
            if (after, before) in crossed:
                self.rework[after, before] += 1
            crossed.add((before, after))
            for name in event.attributes:
                self.travels[before, after][name] += 1

    def rows(self, team_edges):
        zones = []
        for edge in team_edges:
            pair = (edge["from"], edge["to"])
            if pair[0] == pair[1]:
                continue
            travels = [
                {"name": name, "share": round(count / edge["count"], 3)}
                for name, count in self.travels[pair].most_common()
            ]
            zones.append({**edge, "rework": self.rework[pair], "travels": travels})
        return zones


def main_path(found):
    """The activities of the most frequent variant, each once, in their order."""
    if not found["variants"]:
        return []
    return list(dict.fromkeys(found["variants"][0]["activities"]))


def _team(event, team_of):
    if event.team or team_of is None:
        return event.team
    return team_of.get(event.resource, "")


def _activities(events, starts, team_of):
    """Per activity: events, its usual team, and how long it takes where starts exist."""
    counts, teams, carried = Counter(), defaultdict(Counter), defaultdict(Counter)
    for event in events:
        counts[event.activity] += 1
        if team := _team(event, team_of):
            teams[event.activity][team] += 1
        for name in event.attributes:
            carried[event.activity][name] += 1
    durations = _durations(events, starts)
    rows = []
    for activity, count in _by_count(counts).items():
        row = {
            "name": activity,
            "count": count,
            "team": _most_common(teams[activity]),
            # What arrives with the work at this activity: the attributes its events carry.
            "attributes": [
                {"name": name, "share": round(seen / count, 3)}
                for name, seen in carried[activity].most_common()
            ],
        }
        if taken := sorted(durations.get(activity, ())):
            row["median_duration_seconds"] = round(percentile(taken, 0.5), 3)
            row["p85_duration_seconds"] = round(percentile(taken, 0.85), 3)
        rows.append(row)
    return rows


def _most_common(counter):
    """The most frequent key, the greatest name on a tie; "" when there is none."""
    return max(counter.items(), key=lambda kv: (kv[1], kv[0]))[0] if counter else ""


def _durations(events, starts):
    """{activity: [complete − start seconds]}: each complete takes the earliest open start."""
    if not starts:
        return {}
    opened = defaultdict(deque)
    for event in sorted(starts, key=_ORDER):
        opened[event.case, event.activity].append(event.at)
    taken = defaultdict(list)
    for event in events:
        queue = opened.get((event.case, event.activity))
        if queue and queue[0] <= event.at:
            taken[event.activity].append(event.at - queue.popleft())
    return taken


def stage_targets(found, activities):
    """{activity: p85 seconds or None}: the measured p85 of the time from each stage's
    activity to the next stage's (the time an item spends in the stage, as the baseline
    import records it); the last stage has none."""
    waits = {(edge["from"], edge["to"]): edge["p85_wait_seconds"] for edge in found["dfg"]}
    targets = dict.fromkeys(activities)
    for here, after in itertools.pairwise(activities):
        targets[here] = waits.get((here, after))
    return targets
