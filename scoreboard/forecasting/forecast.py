"""Item forecasts from a workflow's history, their calibration and their backtest.

`raw` forecasts come from the engine's remaining-path simulation. They are then
**recalibrated by their own track record**: the same forecast is replayed at a few
past moments (using only the history before each), and the share of items delivered
by each raw quantile date tells which raw quantile delivers 85% in practice (see
engine.coverage_levels). Everything here reads only history before the moment it
forecasts for, so a backtest at a past cutoff sees what a forecast then would have seen.
"""

from dataclasses import dataclass

import numpy as np

from scoreboard.forecasting.engine import LEVELS, Pools, coverage_levels, quantiles, simulate

SIMULATIONS = 1000
CALIBRATION_SIMULATIONS = 300
# Per item in a backtest: quantiles of 500 draws move by about a percent; thousands of items
# are replayed, so their coverage moves far less.
BACKTEST_SIMULATIONS = 500
CALIBRATION_REPLAYS = 4
# Items per replay, drawn at random: bounds the cost of a model at any size of workflow.
CALIBRATION_ITEMS = 500
# Fewer delivered items than this before the forecast moment: "too little history".
MIN_HISTORY = 20
# Each stage keeps its most recent visits only: the model follows how the team works now.
RECENT_VISITS = 5000
METHOD = (
    "Monte Carlo over the item's remaining stages (semi-Markov over past stage visits, "
    "current stage conditioned on its age), quantiles recalibrated by past coverage"
)


@dataclass
class Model:
    """What an item forecast needs at one moment: the pools and the calibrated levels."""

    at: float
    stage_ids: np.ndarray  # stage index → stage id
    pools: Pools
    levels: tuple
    history_items: int
    calibration_items: int
    # A team's working time (worktime.WorkClock): the model's seconds are working seconds.
    clock: object = None

    @property
    def enough_history(self):
        return self.history_items >= MIN_HISTORY


def pools_at(history, at):
    visits = history.completed_before(at)
    # The most recent visits per stage: sort by (stage, end) and keep each stage's tail.
    order = visits[np.lexsort((history.ended[visits], history.stage[visits]))]
    stage = history.stage[order]
    rank_from_end = np.zeros(len(order), dtype=np.int64)
    if len(order):
        counts = np.bincount(stage, minlength=history.n_stages)
        ends = np.cumsum(counts)[stage]
        rank_from_end = ends - np.arange(len(order)) - 1
    keep = order[rank_from_end < RECENT_VISITS]
    return Pools.build(
        history.stage[keep],
        history.ended[keep] - history.started[keep],
        history.next[keep],
        history.n_stages,
    )


def raw_open_at(history, at, rng, sims, limit=None):
    """Items open at `at` (their current visits; at most `limit`, drawn at random) and
    their simulated remaining seconds."""
    visits = history.open_at(at)
    if limit is not None and len(visits) > limit:
        visits = np.sort(rng.choice(visits, size=limit, replace=False))
    samples = simulate(
        pools_at(history, at), history.stage[visits], at - history.started[visits], sims, rng
    )
    return visits, samples


def calibrated_levels(history, at, rng):
    """(levels, items replayed) for forecasts made at `at`, from replays before it."""
    lead = history.lead_times_before(at)
    if len(lead) < MIN_HISTORY:
        return LEVELS, 0
    step = max(float(np.quantile(lead, 0.85)) / 2, 3600.0)
    pits, resolved = [], []
    for replay in range(1, CALIBRATION_REPLAYS + 1):
        past = at - replay * step
        visits, samples = raw_open_at(
            history, past, rng, CALIBRATION_SIMULATIONS, limit=CALIBRATION_ITEMS
        )
        keep = ~(history.cancelled[visits] <= at)
        delivered = history.delivered[visits][keep]
        known = delivered <= at
        seen = np.where(known, delivered - past, at - past)
        pits.append((samples[keep] <= seen[:, None]).mean(axis=1))
        resolved.append(known)
    pit, resolved = np.concatenate(pits), np.concatenate(resolved)
    return coverage_levels(pit, resolved), int(len(pit))


def model_at(history, at, rng):
    levels, replayed = calibrated_levels(history, at, rng)
    return Model(
        at=at,
        stage_ids=history.stage_ids,
        pools=pools_at(history, at),
        levels=levels,
        history_items=len(history.lead_times_before(at)),
        calibration_items=replayed,
    )


def forecast_items(model, stage, age, rng, sims=SIMULATIONS):
    """(3, n) seconds from the model's moment to the p50/p85/p95 dates; nan where the
    stage has no past visits, inf where too few paths reach delivery."""
    stage = np.asarray(stage, dtype=np.int64)
    samples = simulate(model.pools, stage, age, sims, rng)
    seconds = quantiles(samples, model.levels)
    seconds[:, model.pools.counts[stage] == 0] = np.nan
    return seconds


def backtest_cutoffs(history, count):
    """`count` moments spread over the log, each with enough history before it and time
    after it for the items then open to finish inside the log (a cutoff close to the end
    sees only the quick ones: those that finished after the export are not in it)."""
    last = history.last_event_at
    if last is None:
        return []
    first = np.concatenate(([True], history.item[1:] != history.item[:-1]))
    requests = np.sort(history.requested[first])
    if len(requests) < MIN_HISTORY * 2:
        return []
    lead = history.lead_times_before(last)
    latest = min(float(np.quantile(requests, 0.95)), last - float(np.quantile(lead, 0.99)))
    earliest = float(np.quantile(requests, 0.2))
    if latest <= earliest:
        return []
    return list(np.linspace(earliest, latest, count))


def backtest(history, cutoffs=8, seed=0, moments=None, sims=BACKTEST_SIMULATIONS):
    """Coverage of p50/p85/p95 dates of every item open at each cutoff (`moments`, or
    `cutoffs` of them spread over the log)."""
    rng = np.random.default_rng(seed)
    covered, counted = np.zeros(3), np.zeros(3)
    last = history.last_event_at
    for at in backtest_cutoffs(history, cutoffs) if moments is None else moments:
        model = model_at(history, at, rng)
        if not model.enough_history:
            continue
        visits = history.open_at(at)
        visits = visits[np.isnan(history.cancelled[visits])]
        seconds = forecast_items(
            model, history.stage[visits], at - history.started[visits], rng, sims
        )
        delivered = history.delivered[visits] - at
        # A date counts once it is known whether the item made it: delivered, or the date
        # passed with the item still open. Items without a forecast (a stage never seen
        # before) are left out and said so by `items`.
        judged = ~np.isnan(seconds) & (~np.isnan(delivered) | (at + seconds <= last))
        covered += ((delivered[None, :] <= seconds) & judged).sum(axis=1)
        counted += judged.sum(axis=1)
    shares = [c / n if n else None for c, n in zip(covered, counted, strict=True)]
    return {
        "items": int(counted[0]),
        "p50_coverage": _rounded(shares[0]),
        "p85_coverage": _rounded(shares[1]),
        "p95_coverage": _rounded(shares[2]),
    }


def _rounded(value):
    return None if value is None else round(float(value), 4)
