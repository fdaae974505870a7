"""The discovered map laid out like /map/: activities around the central hub, grouped by
team, so the lines that cross between groups are the collision zones.

Edges are sized by volume and coloured by their median wait. `keep` hides rare paths: the
most frequent directly-follows edges are kept until they carry that share of all the
transitions (80, 90 or 100 %).
"""

import bisect
import itertools
import math
from dataclasses import dataclass, field

WIDTH, HEIGHT, TALL = 1480, 900, 1120  # TALL: the canvas for more than CROWDED activities
CROWDED = 14
RADIUS_X = 560
HUB_RADIUS = 70
NODE_W, NODE_H, MIN_NODE_W = 200, 52, 124
CHAR_W = {False: 8.9, True: 7.7}  # px per character of a bold name at 15 px; 13 px when crowded
KEEP_CHOICES = (80, 90, 100)
DEFAULT_KEEP = 90  # all paths of a real log are a hairball; 90 % reads and hides little
# Okabe–Ito based, as /map/: teams get these colours in order.
PALETTE = ["#2f6fdf", "#e0601b", "#1f9d6b", "#c2407e", "#b58a00", "#7b54e0", "#0f93b0",
           "#8a5a2b", "#5f6b7a", "#d13438"]  # fmt: skip
WAIT_CLASSES = ("quick", "slow", "slowest")


@dataclass
class Node:
    name: str
    label: str
    team: str
    colour: str
    colour_index: int
    count: int
    x: float
    y: float
    w: float = NODE_W

    @property
    def left(self):
        return self.x - self.w / 2

    @property
    def top(self):
        return self.y - NODE_H / 2


@dataclass
class Edge:
    source: str
    target: str
    count: int
    median: float
    p85: float
    width: float
    wait_class: str
    path: str
    is_collision: bool


@dataclass
class Layout:
    nodes: list
    edges: list
    teams: list  # (team, index of its colour: CSS class team-N)
    keep: int
    hidden: int
    wait_limits: tuple  # medians splitting quick / slow / slowest
    width: int = WIDTH
    height: int = HEIGHT
    hub: tuple = (WIDTH / 2, HEIGHT / 2, HUB_RADIUS)
    node_w: float = NODE_W
    node_h: int = NODE_H
    zones: list = field(default_factory=list)

    @property
    def is_crowded(self):
        return len(self.nodes) > CROWDED


def kept_edges(dfg, keep):
    """The most frequent edges until they carry `keep` % of the transitions."""
    total = sum(edge["count"] for edge in dfg) or 1
    kept, carried = [], 0
    for edge in dfg:  # most frequent first
        if carried >= total * keep / 100:
            break
        kept.append(edge)
        carried += edge["count"]
    return kept


def layout(found, keep=100):
    activities = found.get("activities", [])
    teams = list(dict.fromkeys(a["team"] for a in sorted(activities, key=_team_key)))
    colours = {team: i % len(PALETTE) for i, team in enumerate(teams)}
    order = sorted(activities, key=lambda a: (_team_key(a), _position(found, a["name"])))
    height = HEIGHT if len(order) <= CROWDED else TALL
    centre = (WIDTH / 2, height / 2)
    nodes = _place(order, colours, centre, height)
    by_name = {node.name: node for node in nodes}
    team_of = {a["name"]: a["team"] for a in activities}
    kept = kept_edges(found.get("dfg", []), keep)
    limits = _wait_limits(kept)
    most = max((edge["count"] for edge in kept), default=1)
    edges = []
    for edge in kept:
        source, target = by_name[edge["from"]], by_name[edge["to"]]
        edges.append(
            Edge(
                source=edge["from"],
                target=edge["to"],
                count=edge["count"],
                median=edge["median_wait_seconds"],
                p85=edge["p85_wait_seconds"],
                width=round(1.5 + 10 * math.sqrt(edge["count"] / most), 1),
                wait_class=_wait_class(edge["median_wait_seconds"], limits),
                path=_loop(source, centre) if source is target else _curve(source, target),
                is_collision=bool(team_of[edge["from"]])
                and team_of[edge["from"]] != team_of[edge["to"]],
            )
        )
    edges.sort(key=lambda e: e.count)  # the heaviest drawn last, on top
    return Layout(
        nodes=nodes,
        edges=edges,
        teams=[(team or "No team", colours[team]) for team in teams],  # (name, colour class)
        keep=keep,
        hidden=len(found.get("dfg", [])) - len(kept),
        wait_limits=limits,
        height=height,
        hub=(centre[0], centre[1], HUB_RADIUS),
        node_w=nodes[0].w if nodes else NODE_W,
        zones=found.get("zones", []),
    )


def _team_key(activity):
    return (activity["team"] == "", activity["team"])


def _position(found, name):
    """Where an activity sits in the flow: its rank in the main path, else after it."""
    path = found.get("main_path", [])
    return (path.index(name), "") if name in path else (len(path), name)


def _place(activities, colours, centre, height):
    """Evenly spaced along the ellipse's length (not its angle), so no two boxes crowd at
    its narrow ends; boxes narrow as activities grow in number, names cut to fit."""
    radius_y = height / 2 - NODE_H - 40
    steps = 720
    points = [
        (centre[0] + RADIUS_X * math.cos(a), centre[1] + radius_y * math.sin(a))
        for a in (-math.pi / 2 + 2 * math.pi * i / steps for i in range(steps + 1))
    ]
    lengths = [0.0]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        lengths.append(lengths[-1] + math.hypot(x1 - x0, y1 - y0))
    count = max(len(activities), 1)
    width = max(MIN_NODE_W, min(NODE_W, lengths[-1] / count - 16))
    chars = int((width - 12) / CHAR_W[count > CROWDED])
    nodes = []
    for index, activity in enumerate(activities):
        at = bisect.bisect_left(lengths, lengths[-1] * index / count)
        name = activity["name"]
        nodes.append(
            Node(
                name=name,
                label=name if len(name) <= chars else name[: chars - 1] + "…",
                team=activity["team"],
                colour=PALETTE[colours[activity["team"]]],
                colour_index=colours[activity["team"]],
                count=activity["count"],
                x=round(points[at][0], 1),
                y=round(points[at][1], 1),
                w=round(width, 1),
            )
        )
    return nodes


def _wait_limits(edges):
    """Terciles of the kept edges' median waits: a third of the paths in each colour."""
    waits = sorted(edge["median_wait_seconds"] for edge in edges)
    if not waits:
        return (0, 0)
    return (waits[len(waits) // 3], waits[(2 * len(waits)) // 3])


def _wait_class(wait, limits):
    if wait <= limits[0]:
        return WAIT_CLASSES[0]
    return WAIT_CLASSES[1] if wait <= limits[1] else WAIT_CLASSES[2]


def _border(node, toward):
    """The point where the line from a node's centre toward `toward` leaves its box."""
    dx, dy = toward[0] - node.x, toward[1] - node.y
    length = math.hypot(dx, dy) or 1
    ux, uy = dx / length, dy / length
    tx = (node.w / 2 + 6) / abs(ux) if ux else math.inf
    ty = (NODE_H / 2 + 6) / abs(uy) if uy else math.inf
    reach = min(tx, ty)
    return node.x + ux * reach, node.y + uy * reach


def _curve(source, target):
    """A quadratic curve bent toward the hub, so both directions between two nodes separate."""
    mid = ((source.x + target.x) / 2, (source.y + target.y) / 2)
    dx, dy = target.x - source.x, target.y - source.y
    length = math.hypot(dx, dy) or 1
    normal = (-dy / length, dx / length)
    bend = min(140, 40 + length * 0.18)
    control = (mid[0] + normal[0] * bend, mid[1] + normal[1] * bend)
    start, end = _border(source, control), _border(target, control)
    return (
        f"M{start[0]:.1f},{start[1]:.1f} Q{control[0]:.1f},{control[1]:.1f} "
        f"{end[0]:.1f},{end[1]:.1f}"
    )


def _loop(node, centre):
    """A repeat of the same activity: a loop on the node's outer side."""
    ox, oy = node.x - centre[0], node.y - centre[1]
    length = math.hypot(ox, oy) or 1
    out, side = (ox / length, oy / length), (-oy / length, ox / length)
    base = (node.x + out[0] * NODE_H / 2, node.y + out[1] * NODE_H / 2)
    s = (base[0] + side[0] * 30, base[1] + side[1] * 30)
    e = (base[0] - side[0] * 30, base[1] - side[1] * 30)
    c1 = (s[0] + out[0] * 70, s[1] + out[1] * 70)
    c2 = (e[0] + out[0] * 70, e[1] + out[1] * 70)
    return (
        f"M{s[0]:.1f},{s[1]:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} "
        f"{e[0]:.1f},{e[1]:.1f}"
    )
