"""Exact Thompson-sampling propensities: 1/N per rank for N arms sharing one prior, and the
frequencies of the policy's own selections for mixed posteriors."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.bandit import BernoulliTS, ThompsonConfig
from shelfwise.bandit.propensity import ts_rank_probs


@pytest.mark.parametrize("n", [3, 50, 40_000])
def test_one_prior_gives_each_rank_one_in_n(n: int) -> None:
    ones = np.ones(n)
    got = ts_rank_probs(ones, ones * 3.0, np.ones(n, dtype=bool), np.array([0, n - 1]))
    np.testing.assert_allclose(got.slot, 1.0 / n, rtol=2e-3)
    np.testing.assert_allclose(got.inclusion, 2.0 / n, rtol=2e-3)


def test_mixed_posteriors_match_the_policys_selection_frequencies() -> None:
    rng = np.random.default_rng(1)
    n = 30
    alpha = 1.0 + rng.integers(0, 5, n)
    beta = 1.0 + rng.integers(0, 30, n)
    pool = np.ones(n, dtype=bool)
    pool[:3] = False
    sims = BernoulliTS(n, ThompsonConfig(seed=3), alpha=alpha, beta=beta).select(200_000, 3, mask=pool)
    picks = np.array([12, 9, 20])
    got = ts_rank_probs(alpha, beta, pool, picks)
    for j, arm in enumerate(picks.tolist()):
        for p, hits in ((got.slot[j], sims[:, j] == arm), (got.inclusion[j], (sims == arm).any(axis=1))):
            se = np.sqrt(max(p * (1 - p), 1e-6) / len(sims))
            assert abs(hits.mean() - p) < 4 * se + 1e-4


def test_a_pool_no_larger_than_the_picks_includes_every_pick() -> None:
    alpha, beta = np.array([1.0, 5.0, 2.0, 1.0]), np.array([9.0, 1.0, 2.0, 1.0])
    pool = np.array([True, True, False, False])
    got = ts_rank_probs(alpha, beta, pool, np.array([1, 0]))
    np.testing.assert_allclose(got.inclusion, 1.0, atol=1e-6)
    want = 1 - 1 / 2002  # P(Beta(5, 1) > Beta(1, 9)): arm 1 first, then arm 0, as picked
    np.testing.assert_allclose(got.slot, [want, want], atol=1e-6)
    with pytest.raises(ValueError, match="pool"):
        ts_rank_probs(alpha, beta, pool, np.array([2]))


def test_the_trimmed_grid_matches_the_whole_grid_on_a_large_pool() -> None:
    """Leaving out grid points whose integrand is provably below 1e-30 changes nothing a float sees,
    for picks near the top and far down alike, and for picks sharing a posterior."""
    rng = np.random.default_rng(3)
    n = 20_000
    plays = rng.poisson(2.0, n).astype(np.float64)
    wins = rng.binomial(plays.astype(np.int64), 0.05).astype(np.float64)
    alpha, beta = 1.0 + wins, 1.0 + plays - wins
    alpha.flags.writeable = beta.flags.writeable = False
    pool = rng.random(n) < 0.8
    draws = rng.beta(alpha[pool], beta[pool])
    top = np.flatnonzero(pool)[np.argsort(-draws)[:4]]
    for picks in (top, rng.choice(np.flatnonzero(pool), 4, replace=False)):
        fast, full = ts_rank_probs(alpha, beta, pool, picks), ts_rank_probs(alpha, beta, pool, picks, trim=False)
        np.testing.assert_allclose(fast.slot, full.slot, rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(fast.inclusion, full.inclusion, rtol=1e-9, atol=1e-300)
    mutable = alpha.copy()  # a writable array is never served from the last snapshot's groups
    ts_rank_probs(mutable, beta, pool, top)
    mutable[top[0]] += 50.0
    changed = ts_rank_probs(mutable, beta, pool, top)
    assert changed.inclusion[0] > 2 * ts_rank_probs(alpha, beta, pool, top).inclusion[0]  # 50 more wins: more likely
