"""The Monte Carlo engine: plain numpy over arrays, no database and no Django.

An item's remaining path is simulated as a semi-Markov chain over **stage visits**: a
visit starts when the item enters a stage (created there, handed off to it, bounced
back to it) and ends when it leaves (handed on, bounced, delivered). Each past visit is
one sample of (seconds spent, where the item went next), drawn jointly, so a stage's
handoff wait, its blocks and its bounce probability travel together as they happened.

The current visit is drawn only from past visits of the same stage that lasted at least
as long as the item has already been there (conditioning on age); when fewer than
`MIN_TAIL` did, the longest ones are stretched so that the shortest of them equals the
age (a heavy tail's remaining time grows with the age). Every simulation then walks
the chain until delivery; all simulations of all items advance together, one numpy
step per visit, never one Python loop per simulation.
"""

from dataclasses import dataclass

import numpy as np

DELIVERED = -1
MIN_TAIL = 5
MAX_STEPS = 400
LEVELS = (0.5, 0.85, 0.95)


@dataclass
class Pools:
    """Past visits grouped by stage (0..n-1), each stage's durations sorted."""

    seconds: np.ndarray  # float64, grouped by stage, ascending inside a stage
    next: np.ndarray  # int64: next stage index, or n_stages for "delivered"
    counts: np.ndarray  # visits per stage (+ one empty slot for "delivered")
    offsets: np.ndarray

    @property
    def n_stages(self):
        return len(self.counts) - 1

    @classmethod
    def build(cls, stage, seconds, next_stage, n_stages):
        """stage/next_stage: stage indexes (next: `n_stages` means delivered)."""
        order = np.lexsort((seconds, stage))
        counts = np.bincount(stage, minlength=n_stages + 1)
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        return cls(
            np.asarray(seconds, dtype=np.float64)[order],
            np.asarray(next_stage, dtype=np.int64)[order],
            counts,
            offsets,
        )


def _first_visit(pools, stage, age, sims, rng):
    """Remaining seconds in the current visit and the stage after it, per simulation."""
    end = pools.offsets[stage] + pools.counts[stage]
    # Per item: the first past visit of its stage that lasted at least its age.
    start = np.array(
        [
            pools.offsets[s] + np.searchsorted(pools.seconds[pools.offsets[s] : e], a, "left")
            for s, a, e in zip(stage, age, end, strict=True)
        ],
        dtype=np.int64,
    )
    stretched = end - start < MIN_TAIL
    start = np.where(stretched, np.maximum(end - MIN_TAIL, pools.offsets[stage]), start)
    tail = end - start
    shortest = pools.seconds[np.minimum(start, len(pools.seconds) - 1)] if len(pools.seconds) else 0
    stretch = np.where(
        stretched & (tail > 0), np.maximum(age / np.maximum(shortest, 1.0), 1.0), 1.0
    )
    pick = np.repeat(start, sims) + (
        rng.random(len(stage) * sims) * np.repeat(np.maximum(tail, 1), sims)
    ).astype(np.int64)
    pick = np.minimum(pick, max(len(pools.seconds) - 1, 0))
    seconds = pools.seconds[pick] * np.repeat(stretch, sims) - np.repeat(age, sims)
    nxt = pools.next[pick].copy()
    empty = np.repeat(tail <= 0, sims)
    seconds[empty], nxt[empty] = np.inf, pools.n_stages
    return np.maximum(seconds, 0.0), nxt


def simulate(pools, stage, age, sims, rng):
    """(items, sims) seconds until delivery; inf where a path never reached delivery."""
    stage = np.asarray(stage, dtype=np.int64)
    age = np.asarray(age, dtype=np.float64)
    if len(stage) == 0:
        return np.zeros((0, sims))
    total, current = _first_visit(pools, stage, age, sims, rng)
    done = pools.n_stages
    # Only the paths still walking are touched: most finish in a few steps, a long tail
    # of loops takes hundreds.
    moving = np.flatnonzero(current != done)
    for _ in range(MAX_STEPS):
        if not len(moving):
            break
        here = current[moving]
        count = pools.counts[here]
        pick = pools.offsets[here] + (rng.random(len(moving)) * np.maximum(count, 1)).astype(
            np.int64
        )
        pick = np.minimum(pick, max(len(pools.seconds) - 1, 0))
        dead_end = count == 0
        total[moving] += np.where(dead_end, np.inf, pools.seconds[pick])
        current[moving] = np.where(dead_end, done, pools.next[pick])
        moving = moving[current[moving] != done]
    total[current != done] = np.inf
    return total.reshape(len(stage), sims)


def coverage_levels(pit, resolved, levels=LEVELS, min_resolved=30):
    """The raw quantile levels that delivered the nominal ones in the past.

    `pit` is, for each item of a past replay, the share of its simulations that were done
    by the time it really was (or, when it was still open at the replay's end, by then:
    `resolved` False, a right-censored value). The Kaplan–Meier estimate of their
    distribution gives, for each nominal level p, the raw level whose dates were met by a
    share p of the items. With too few resolved items a level stays nominal.
    """
    pit, resolved = np.asarray(pit, dtype=np.float64), np.asarray(resolved, dtype=bool)
    if resolved.sum() < min_resolved:
        return tuple(levels)
    order = np.lexsort((~resolved, pit))
    pit, resolved = pit[order], resolved[order]
    at_risk = len(pit) - np.arange(len(pit))
    cdf = 1.0 - np.cumprod(np.where(resolved, 1.0 - 1.0 / at_risk, 1.0))
    out = []
    for level in levels:
        i = np.searchsorted(cdf, level - 1e-12)
        out.append(float(np.clip(pit[i], 0.01, 0.999)) if i < len(pit) else level)
    return tuple(out)


def quantiles(samples, levels):
    """Per item, the samples' quantiles at `levels` (inf stays inf: never delivered)."""
    if samples.shape[0] == 0:
        return np.zeros((len(levels), 0))
    return np.quantile(samples, levels, axis=1, method="inverted_cdf")


def throughput_when(daily, items, sims, rng, max_days=1095):
    """Days until `items` more are delivered, per simulation, sampling past days' counts.

    `daily` is the count delivered on each past day (zeros included). Each simulation
    draws days at random until its running total reaches `items`. All simulations run
    together in blocks of days with a cumulative sum: the first block is sized to reach
    the goal at the average pace, later ones only for the simulations still short of it
    (no loop per simulation). inf: not reached within `max_days`.
    """
    daily = np.asarray(daily, dtype=np.int32)
    result = np.full(sims, np.inf)
    if items <= 0:
        return np.zeros(sims)
    if len(daily) == 0 or daily.sum() == 0:
        return result
    pending = np.arange(sims)
    totals = np.zeros(sims, dtype=np.int64)
    elapsed = 0
    block = int(min(max(items / daily.mean() * 1.25 + 8, 16), 400))
    while len(pending) and elapsed < max_days:
        block = min(block, max_days - elapsed)
        draws = daily[rng.integers(0, len(daily), size=(len(pending), block), dtype=np.int32)]
        running = totals[pending, None] + np.cumsum(draws, axis=1)
        reached = running[:, -1] >= items
        result[pending[reached]] = elapsed + (running[reached] >= items).argmax(axis=1) + 1
        totals[pending] = running[:, -1]
        pending = pending[~reached]
        elapsed += block
        block = 64
    return result


def throughput_by(daily, days, sims, rng):
    """How many items get delivered in the next `days` days, per simulation."""
    daily = np.asarray(daily, dtype=np.int32)
    if len(daily) == 0 or days <= 0:
        return np.zeros(sims, dtype=np.int64)
    picks = rng.integers(0, len(daily), size=(sims, days), dtype=np.int32)
    return daily[picks].sum(axis=1, dtype=np.int64)
