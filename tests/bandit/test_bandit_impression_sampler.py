"""The impression log's sampler: counts what it decided, moves its rate with the measured cost per
list so the work stays within its CPU share, and a log sampled at 50% still estimates the truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from impression_logs import ALPHA, BETA, CTR, GREEDY, simulated
from shelfwise.bandit.impression_log import ImpressionLogger
from shelfwise.bandit.impression_ope import evaluate_impressions, join_rewards
from shelfwise.bandit.impression_sampler import CostSampler
from shelfwise.bandit.propensity import ts_rank_probs
from shelfwise.events.impressions import ImpressionStore


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _offer(s: CostSampler, clock: _Clock, per_s: float, seconds: float, cost_s: float) -> list[float | None]:
    """``per_s`` lists a second for ``seconds``, each sampled one costing ``cost_s``."""
    got = []
    for _ in range(int(per_s * seconds)):
        clock.t += 1.0 / per_s
        rate = s.decide()
        if rate is not None:
            s.spent(cost_s)
        got.append(rate)
    return got


def test_every_list_is_logged_until_a_cost_is_known_and_the_counts_add_up() -> None:
    clock = _Clock()
    s = CostSampler(0.1, clock=clock, seed=0)
    assert [s.decide() for _ in range(5)] == [1.0] * 5
    got = _offer(s, clock, 200.0, 10.0, 0.005)  # 200 lists/s at 5 ms: 1 core; the budget 0.1 allows 10%
    st = s.stats()
    assert (
        st.offered == 2005
        and st.sampled == 5 + sum(r is not None for r in got)
        and st.skipped == st.offered - st.sampled
    )
    assert st.rate == pytest.approx(0.1, rel=0.01) and st.cost_ms == pytest.approx(5.0)


def test_the_rate_follows_the_cost_and_the_load() -> None:
    clock = _Clock()
    s = CostSampler(0.1, clock=clock, seed=1, window_s=1.0)
    _offer(s, clock, 100.0, 5.0, 0.01)  # 100 lists/s at 10 ms: 10x the budget
    assert s.rate == pytest.approx(0.1, rel=0.05)
    late = _offer(s, clock, 100.0, 20.0, 0.01)[-1000:]  # settled: about 10 lists/s logged, 0.1 core
    assert 0.07 < sum(r is not None for r in late) / 1000 < 0.13
    _offer(s, clock, 100.0, 60.0, 0.0005)  # cheaper lists: all of them fit (100 x 0.5 ms = 0.05 core)
    assert s.rate == 1.0
    _offer(s, clock, 1000.0, 30.0, 0.0005)  # ten times the load at that cost: 0.5 core, a fifth is logged
    assert s.rate == pytest.approx(0.2, rel=0.1)
    with pytest.raises(ValueError, match="CPU share"):
        CostSampler(0.0)


def test_the_logger_feeds_measured_cost_to_its_sampler_and_counts() -> None:
    sampler = CostSampler(0.1, seed=0)
    logger = ImpressionLogger(ImpressionStore(":memory:"), sampler=sampler)
    assert logger.sample() == 1.0 and logger.stats().sampler.sampled == 1
    logger.close()
    assert logger.sample() is None  # closed: nothing more is sampled; an explored list then is skipped
    got = logger.stats().sampler
    assert (got.offered, got.sampled, got.skipped) == (2, 1, 1)
    sampler.withdraw(sampled=False)  # it explored nothing after all: not counted
    sampler.withdraw(sampled=True)  # nor the first
    got = logger.stats().sampler
    assert (got.offered, got.sampled, got.skipped) == (0, 0, 0)


def test_a_log_sampled_at_half_still_lands_within_its_error_of_the_truth() -> None:
    imps, events = simulated(12000, seed=5)
    clock = _Clock()
    s = CostSampler(0.1, clock=clock, seed=3, window_s=1.0)
    _offer(s, clock, 100.0, 3.0, 0.002)  # 100 lists/s at 2 ms: 0.2 core, half fits
    assert s.rate == pytest.approx(0.5, rel=0.02)
    kept = []
    for imp in imps:
        clock.t += 0.01
        rate = s.decide()
        if rate is not None:
            s.spent(0.002)
            kept.append(replace(imp, sample_rate=rate))
    res = evaluate_impressions(join_rewards(kept, events), min_slots=100)
    assert 5700 < res.lists < 6300 and res.sampling.lists == res.lists
    assert res.sampling.stands_for == pytest.approx(12000, rel=0.06) and res.sampling.max_rate <= 0.6
    pool = np.ones(len(ALPHA), dtype=bool)
    incl = np.array([ts_rank_probs(ALPHA, BETA, pool, np.array([a])).slot[0] for a in range(len(ALPHA))])
    assert res.greedy is not None and res.greedy.dr is not None
    checks = [(res.explored.estimate, float(incl @ CTR))]
    checks += [(e, CTR[GREEDY]) for e in (res.greedy.ipw, res.greedy.snipw, res.greedy.dr)]
    for est, truth in checks:
        assert abs(est.value - truth) < 3.5 * est.stderr, (est, truth)
