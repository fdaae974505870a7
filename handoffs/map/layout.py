"""The map of connection points: teams around the central hub, handoffs as edges.

Laid out here in plain geometry (no Graphviz binary) and drawn as SVG by
templates/handoffs/map.html. Teams sit on an ellipse around the hub in the order
the workflows visit them, so consecutive handoffs are short arcs, not long chords.

Health hook: every edge has `health`, one of "ok", "warn", "bad", taken from
`edge_health()` (open stalls at the handoff); the template draws a halo for "warn" and
"bad". Every edge also has its measured `wait` (handoffs/map/waits.py: the median wait
for acceptance over the last 90 days), which colours and sizes its line.
"""

import itertools
import math
from dataclasses import dataclass, field

from handoffs.map.waits import Wait, measured_waits
from handoffs.stalls.detection import open_counts_by_handoff
from handoffs.workflows.services import link_stages

# Room around the ellipse for the loops of handoffs inside one team.
WIDTH, HEIGHT = 1480, 900
CENTRE = (WIDTH / 2, HEIGHT / 2)
RADIUS_X, RADIUS_Y = 540, 320
HUB_RADIUS = 74
NODE_W, NODE_H = 236, 64
EXHAUSTIVE_LIMIT = 8
PARALLEL_GAP = 38  # control-point spacing between edges joining the same two teams
# Okabe–Ito based, readable on the light and the dark theme and on a projector.
PALETTE = [
    "#2f6fdf",
    "#e0601b",
    "#1f9d6b",
    "#c2407e",
    "#b58a00",
    "#7b54e0",
    "#0f93b0",
    "#8a5a2b",
    "#5f6b7a",
    "#d13438",
]
HEALTH_STATES = ("ok", "warn", "bad")


def edge_health(handoff_ids):
    """Health of each handoff's edge: {handoff_id: "ok" | "warn" | "bad"}.

    From the open stalls at the handoff (unaccepted handoffs, overdue recoveries):
    one is a warning, three or more is bad. One query for the whole map.
    """
    counts = open_counts_by_handoff(handoff_ids)
    return {
        pk: "bad" if counts.get(pk, 0) >= 3 else "warn" if counts.get(pk) else "ok"
        for pk in handoff_ids
    }


@dataclass
class Node:
    team: object
    x: float
    y: float
    stages: int = 0
    sends: int = 0
    receives: int = 0

    @property
    def left(self):
        return self.x - NODE_W / 2

    @property
    def top(self):
        return self.y - NODE_H / 2


@dataclass
class Edge:
    number: int
    handoff: object
    workflow: object
    colour: str
    path: str
    label_x: float
    label_y: float
    is_collision: bool
    health: str = "ok"
    version: object = None
    marker: str = ""
    wait: Wait = field(default_factory=Wait)

    @property
    def from_stage(self):
        return self.handoff.from_stage

    @property
    def to_stage(self):
        return self.handoff.to_stage


@dataclass
class Layout:
    nodes: list
    edges: list
    legend: list = field(default_factory=list)  # (workflow, colour, edge count)
    spokes: list = field(default_factory=list)  # (x1, y1, x2, y2)
    width: int = WIDTH
    height: int = HEIGHT
    hub: tuple = (CENTRE[0], CENTRE[1], HUB_RADIUS)
    node_w: int = NODE_W
    node_h: int = NODE_H

    @property
    def collision_count(self):
        return sum(1 for edge in self.edges if edge.is_collision)


def layout(workflows, teams):
    """Positions for every team and a path for every handoff of the given workflows.

    `workflows` should come from workflows.with_structure() so this runs no query per row.
    """
    workflows = list(workflows)
    handoffs_of = {workflow.pk: link_stages(workflow) for workflow in workflows}
    order = _team_order(workflows, handoffs_of, list(teams))
    nodes = _place(order)
    by_team = {node.team.pk: node for node in nodes}
    for workflow in workflows:
        for stage in workflow.stages.all():
            by_team[stage.team_id].stages += 1

    pairs = {}
    flat = []
    for index, workflow in enumerate(workflows):
        colour = PALETTE[index % len(PALETTE)]
        for handoff in handoffs_of[workflow.pk]:
            a, b = handoff.from_stage.team_id, handoff.to_stage.team_id
            flat.append((workflow, colour, handoff))
            pairs.setdefault(frozenset((a, b)), []).append(handoff.pk)

    health = edge_health([handoff.pk for _, _, handoff in flat])
    waits = measured_waits([handoff.pk for _, _, handoff in flat])
    edges = []
    for number, (workflow, colour, handoff) in enumerate(flat, start=1):
        source, target = by_team[handoff.from_stage.team_id], by_team[handoff.to_stage.team_id]
        source.sends += 1
        target.receives += 1
        siblings = pairs[frozenset((source.team.pk, target.team.pk))]
        slot = siblings.index(handoff.pk) - (len(siblings) - 1) / 2
        if source is target:
            path, label = _loop(source, siblings.index(handoff.pk))
        else:
            path, label = _curve(source, target, slot)
        edges.append(
            Edge(
                number=number,
                handoff=handoff,
                workflow=workflow,
                colour=colour,
                path=path,
                label_x=round(label[0], 1),
                label_y=round(label[1], 1),
                is_collision=source is not target,
                health=health.get(handoff.pk, "ok"),
                version=getattr(handoff, "current", None),
                marker=f"arrow-{waits[handoff.pk].wait_class}",
                wait=waits[handoff.pk],
            )
        )
    legend = [
        (workflow, PALETTE[i % len(PALETTE)], len(handoffs_of[workflow.pk]))
        for i, workflow in enumerate(workflows)
    ]
    spokes = [_spoke(node) for node in nodes]
    return Layout(nodes=nodes, edges=edges, legend=legend, spokes=spokes)


def _team_order(workflows, handoffs_of, teams):
    """Teams in the order the workflows visit them, then the teams no workflow uses.

    Up to EXHAUSTIVE_LIMIT connected teams, every circular order is tried and the one with
    the shortest total edge length wins (8 teams: 5,040 orders, a few milliseconds).
    """
    seen = {}
    for workflow in workflows:
        for stage in workflow.stages.all():
            seen.setdefault(stage.team_id, None)
    by_id = {team.pk: team for team in teams}
    ordered = [pk for pk in seen if pk in by_id]
    links = [
        (h.from_stage.team_id, h.to_stage.team_id)
        for workflow in workflows
        for h in handoffs_of[workflow.pk]
        if h.from_stage.team_id != h.to_stage.team_id
    ]
    if 3 < len(ordered) <= EXHAUSTIVE_LIMIT and links:
        ordered = _shortest_ring(ordered, links)
    return [by_id[pk] for pk in ordered] + [team for team in teams if team.pk not in seen]


def _shortest_ring(ids, links):
    size = len(ids)

    def cost(order):
        where = {pk: i for i, pk in enumerate(order)}
        total = 0
        for a, b in links:
            gap = abs(where[a] - where[b])
            total += min(gap, size - gap) ** 2
        return total

    first, rest = ids[0], ids[1:]
    best, best_cost = ids, cost(ids)
    for perm in itertools.permutations(rest):
        order = (first, *perm)
        value = cost(order)
        if value < best_cost:
            best, best_cost = list(order), value
    return list(best)


def _place(teams):
    count = max(len(teams), 1)
    nodes = []
    for index, team in enumerate(teams):
        angle = -math.pi / 2 + 2 * math.pi * index / count
        x = CENTRE[0] + RADIUS_X * math.cos(angle)
        y = CENTRE[1] + RADIUS_Y * math.sin(angle)
        nodes.append(Node(team=team, x=round(x, 1), y=round(y, 1)))
    return nodes


def _inside(point, node, margin=8):
    return (
        abs(point[0] - node.x) <= NODE_W / 2 + margin
        and abs(point[1] - node.y) <= NODE_H / 2 + margin
    )


def _bezier(p0, c, p2, t):
    u = 1 - t
    return (
        u * u * p0[0] + 2 * u * t * c[0] + t * t * p2[0],
        u * u * p0[1] + 2 * u * t * c[1] + t * t * p2[1],
    )


def _curve(source, target, slot):
    """A quadratic curve between two nodes, clipped at their borders (the arrow stays visible)."""
    p0, p2 = (source.x, source.y), (target.x, target.y)
    # One normal per unordered pair, so edges both ways between two teams fan out, not cross.
    a, b = (p0, p2) if source.team.pk < target.team.pk else (p2, p0)
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1
    normal = (-dy / length, dx / length)
    mid = ((p0[0] + p2[0]) / 2, (p0[1] + p2[1]) / 2)
    offset = slot * PARALLEL_GAP * 2
    # A chord through the hub bends around it; the curve's midpoint moves half the offset.
    along = (mid[0] - CENTRE[0]) * normal[0] + (mid[1] - CENTRE[1]) * normal[1]
    clearance = HUB_RADIUS + 40
    if abs(along + offset / 2) < clearance:
        side = 1 if along + offset / 2 >= 0 else -1
        offset += 2 * (side * clearance - (along + offset / 2))
    c = (mid[0] + normal[0] * offset, mid[1] + normal[1] * offset)
    steps = [i / 100 for i in range(101)]
    t0 = next((t for t in steps if not _inside(_bezier(p0, c, p2, t), source)), 0.0)
    t1 = next((t for t in reversed(steps) if not _inside(_bezier(p0, c, p2, t), target)), 1.0)
    start, end = _bezier(p0, c, p2, t0), _bezier(p0, c, p2, t1)
    # The control point of the sub-curve [t0, t1] is the blossom b(t0, t1).
    ctrl = (
        (1 - t0) * (1 - t1) * p0[0] + ((1 - t0) * t1 + t0 * (1 - t1)) * c[0] + t0 * t1 * p2[0],
        (1 - t0) * (1 - t1) * p0[1] + ((1 - t0) * t1 + t0 * (1 - t1)) * c[1] + t0 * t1 * p2[1],
    )
    path = f"M{start[0]:.1f},{start[1]:.1f} Q{ctrl[0]:.1f},{ctrl[1]:.1f} {end[0]:.1f},{end[1]:.1f}"
    return path, _bezier(start, ctrl, end, 0.5)


def _loop(node, index):
    """A handoff inside one team: a loop on the node's outer side."""
    ox, oy = node.x - CENTRE[0], node.y - CENTRE[1]
    length = math.hypot(ox, oy) or 1
    out = (ox / length, oy / length)
    side = (-out[1], out[0])
    reach = 70 + 26 * index
    spread = 34 + 10 * index
    # Start and end on the border facing outwards.
    to_border = _to_border(out)
    base = (node.x + out[0] * to_border, node.y + out[1] * to_border)
    s = (base[0] + side[0] * spread, base[1] + side[1] * spread)
    e = (base[0] - side[0] * spread, base[1] - side[1] * spread)
    c1 = (s[0] + out[0] * reach + side[0] * 20, s[1] + out[1] * reach + side[1] * 20)
    c2 = (e[0] + out[0] * reach - side[0] * 20, e[1] + out[1] * reach - side[1] * 20)
    path = (
        f"M{s[0]:.1f},{s[1]:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} "
        f"{e[0]:.1f},{e[1]:.1f}"
    )
    label = (base[0] + out[0] * reach * 0.75, base[1] + out[1] * reach * 0.75)
    return path, label


def _spoke(node):
    dx, dy = node.x - CENTRE[0], node.y - CENTRE[1]
    length = math.hypot(dx, dy) or 1
    ux, uy = dx / length, dy / length
    end = length - _to_border((ux, uy))
    return (
        round(CENTRE[0] + ux * HUB_RADIUS, 1),
        round(CENTRE[1] + uy * HUB_RADIUS, 1),
        round(CENTRE[0] + ux * end, 1),
        round(CENTRE[1] + uy * end, 1),
    )


def _to_border(direction):
    """Distance from a node's centre to its border along a unit direction."""
    ux, uy = direction
    tx = (NODE_W / 2) / abs(ux) if ux else math.inf
    ty = (NODE_H / 2) / abs(uy) if uy else math.inf
    return min(tx, ty)
