"""The Monte Carlo engine on its own: plain arrays in, arrays out."""

import numpy as np

from scoreboard.forecasting import engine


def _pools(bounce=True):
    # Stage 0: visits of 1..10 s, all going on to stage 1. Stage 1: 5 s, then delivered
    # (index 2 = n_stages); with `bounce`, back to stage 0 once in four visits.
    stage = np.array([0] * 10 + [1] * 4)
    seconds = np.array(list(range(1, 11)) + [5, 5, 5, 5], dtype=float)
    nxt = np.array([1] * 10 + [2, 2, 2, 0 if bounce else 2])
    return engine.Pools.build(stage, seconds, nxt, n_stages=2)


def test_the_current_visit_is_drawn_from_visits_at_least_as_long_as_its_age():
    rng = np.random.default_rng(0)
    total = engine.simulate(_pools(bounce=False), [0], [5.0], 4000, rng)[0]
    # Visits of 5..10 s remain: 0..5 s left, then Ship's 5 s.
    assert set(np.unique(total)) == {5.0, 6.0, 7.0, 8.0, 9.0, 10.0}


def test_an_age_beyond_most_past_visits_stretches_the_longest_ones():
    rng = np.random.default_rng(0)
    total = engine.simulate(_pools(bounce=False), [0], [60.0], 2000, rng)[0]
    # The five longest (6..10 s) stretched so that 6 s becomes the age: 0..40 s left.
    assert set(np.unique(total)) == {5.0, 15.0, 25.0, 35.0, 45.0}


def test_bounces_add_loops_and_a_stage_never_seen_never_delivers():
    rng = np.random.default_rng(0)
    total = engine.simulate(_pools(), [1], [0.0], 8000, rng)[0]
    bounced = (total > 5).mean()
    assert 0.2 < bounced < 0.3  # one visit in four goes back
    empty = engine.Pools.build(np.array([0]), np.array([1.0]), np.array([1]), n_stages=2)
    assert np.isinf(engine.simulate(empty, [0], [0.0], 10, rng)).all()


def test_coverage_levels_correct_a_forecast_that_was_too_cautious():
    rng = np.random.default_rng(0)
    # Items were done by their raw 70th percentile 85% of the time: the levels say so.
    pit = rng.uniform(0, 1, 5000) ** 1.9
    levels = engine.coverage_levels(pit, np.ones(5000, dtype=bool))
    assert abs(levels[1] - 0.85**1.9) < 0.02
    assert engine.coverage_levels(pit[:10], np.ones(10, dtype=bool)) == engine.LEVELS


def test_censored_replays_are_not_counted_as_late():
    rng = np.random.default_rng(1)
    pit = rng.uniform(0, 1, 4000)
    resolved = pit < 0.9
    # What is still open is only known to be past 0.9: Kaplan–Meier keeps the levels.
    levels = engine.coverage_levels(np.minimum(pit, 0.9), resolved)
    assert abs(levels[0] - 0.5) < 0.03 and abs(levels[1] - 0.85) < 0.03


def test_throughput_sampling_is_exact_for_a_steady_pace():
    rng = np.random.default_rng(0)
    assert (engine.throughput_when([3] * 30, 30, 1000, rng) == 10).all()
    assert (engine.throughput_by([3] * 30, 7, 1000, rng) == 21).all()
    assert np.isinf(engine.throughput_when([0] * 30, 5, 10, rng)).all()
    assert (engine.throughput_when([1, 0], 0, 10, rng) == 0).all()


def test_a_forecast_at_a_cutoff_sees_only_the_history_before_it():
    from scoreboard.forecasting import forecast
    from scoreboard.forecasting.history import History

    day = 86400.0
    rows = []
    # 60 items through stages 1 → 2: before day 200 each stage took a day; the items
    # started after day 200 took 50 days per stage (the future the cutoff must not see).
    for n in range(60):
        start = n * 5 * day
        per = day if start < 200 * day else 50 * day
        rows += [
            (n, 1, start, start + per, "handoff_submitted", 2),
            (n, 2, start + per, start + 2 * per, "delivered", None),
        ]
    history = History.from_rows(np.array([1, 2]), rows)
    rng = np.random.default_rng(0)
    model = forecast.model_at(history, 150 * day, rng)
    seconds = forecast.forecast_items(model, [0], [0.0], rng)[:, 0]
    assert seconds[2] <= 2 * day
    later = forecast.model_at(history, 1000 * day, rng)
    assert forecast.forecast_items(later, [0], [0.0], rng)[2, 0] > 2 * day
