"""Closed-form propensities of epsilon-greedy and UCB1 selections (:func:`ranked_rank_probs`), checked
against the policies' own seeded selections, and an epsilon-greedy log's IPW estimate against the truth."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.bandit.impression_ope import Joined, evaluate_impressions
from shelfwise.bandit.mab import UCB1, EpsilonGreedy, EpsilonGreedyConfig, UCBConfig
from shelfwise.bandit.propensity import ranked_rank_probs
from shelfwise.events.impressions import Impression

N_ARMS, M = 24, 4


def _trained(policy: EpsilonGreedy | UCB1) -> EpsilonGreedy | UCB1:
    """Distinct means for most arms, exact ties among some played arms (same counts) and the unplayed."""
    rng = np.random.default_rng(5)
    for arm in range(16):
        plays = 3 if arm in (4, 5, 6) else 2 + arm  # arms 4-6: same counts, tied scores
        wins = 1 if arm in (4, 5, 6) else int(rng.integers(0, plays + 1))
        policy.update(np.full(plays, arm), np.r_[np.ones(wins), np.zeros(plays - wins)])
    return policy  # arms 16-23 unplayed: tied (epsilon-greedy's mean 0, UCB1's first-try bound)


def _scores(policy: EpsilonGreedy | UCB1) -> tuple[np.ndarray, float]:
    if isinstance(policy, EpsilonGreedy):
        return policy.means(), policy.config.epsilon
    return policy.scores(), 0.0


@pytest.mark.parametrize(
    "policy",
    [
        EpsilonGreedy(N_ARMS, EpsilonGreedyConfig(epsilon=0.3, seed=1)),
        EpsilonGreedy(N_ARMS, EpsilonGreedyConfig(epsilon=0.05, seed=2)),
        UCB1(N_ARMS, UCBConfig(seed=3)),
    ],
    ids=["eps0.3", "eps0.05", "ucb1"],
)
def test_analytic_propensities_match_the_policys_own_selections(policy: EpsilonGreedy | UCB1) -> None:
    p = _trained(policy)
    pool = np.ones(N_ARMS, dtype=bool)
    pool[[0, 9, 20]] = False  # a masked pool: ranks are among its arms only
    scores, eps = _scores(p)
    rounds = 200_000
    sel = p.select(rounds, M, mask=pool)
    arms = np.flatnonzero(pool)
    worst = 0.0
    for arm in arms.tolist():
        rest = [a for a in arms.tolist() if a != arm][: M - 1]
        for rank in range(M):
            picks = np.asarray([*rest[:rank], arm, *rest[rank:]], dtype=np.int64)
            want = ranked_rank_probs(scores, eps, pool, picks)
            got = float((sel[:, rank] == arm).mean())
            se = max(np.sqrt(want.slot[rank] * (1 - want.slot[rank]) / rounds), 1e-12)
            worst = max(worst, abs(got - want.slot[rank]) / se)
            if want.slot[rank] in (0.0, 1.0):
                assert got == want.slot[rank], (arm, rank)
        inc = float((sel == arm).any(axis=1).mean())
        se = max(np.sqrt(want.inclusion[rank] * (1 - want.inclusion[rank]) / rounds), 1e-12)
        worst = max(worst, abs(inc - want.inclusion[rank]) / se)
    assert worst < 4.0, f"largest gap {worst:.2f} standard errors"
    assert not (sel[:, :, None] == np.flatnonzero(~pool)).any()  # masked arms never picked


def test_ucb1_without_ties_is_deterministic() -> None:
    p = UCB1(6)
    p.update(np.arange(6).repeat(np.arange(1, 7)), np.r_[np.ones(10), np.zeros(11)])
    pool = np.ones(6, dtype=bool)
    picks = p.select(1, 3, mask=pool)[0]
    got = ranked_rank_probs(p.scores(), 0.0, pool, picks)
    np.testing.assert_array_equal(got.slot, 1.0)
    np.testing.assert_array_equal(got.inclusion, 1.0)


def test_bad_input_is_named() -> None:
    pool = np.array([True, False, True])
    with pytest.raises(ValueError, match="every pick must be in its pool"):
        ranked_rank_probs(np.zeros(3), 0.1, pool, np.array([1]))
    with pytest.raises(ValueError, match="epsilon must be in"):
        ranked_rank_probs(np.zeros(3), 1.5, pool, np.array([0]))


def test_an_epsilon_greedy_logs_ipw_estimate_of_the_greedy_model_lands_on_the_truth() -> None:
    """A learning epsilon-greedy fills two slots from 10 arms; the logged (closed-form) propensities
    must let IPW recover the click rate of a fixed model ranking it never followed."""
    n_arms, m, lists = 10, 2, 20_000
    rng = np.random.default_rng(11)
    ctr = rng.uniform(0.02, 0.3, n_arms)
    model = np.argsort(-(ctr + rng.normal(0, 0.03, n_arms)))[:m]  # the model's picks, rank by rank
    ids = [f"i{a}" for a in range(n_arms)]
    p = EpsilonGreedy(n_arms, EpsilonGreedyConfig(epsilon=0.3, seed=4))
    pool = np.ones(n_arms, dtype=bool)
    imps: list[Impression] = []
    rewards: list[tuple[float, ...]] = []
    for t in range(lists):
        means = p.means().copy()
        picks = p.select(1, m, mask=pool)[0]
        probs = ranked_rank_probs(means, 0.3, pool, picks)
        clicks = (rng.random(m) < ctr[picks]).astype(np.float64)
        p.update(picks, clicks)
        items = tuple(ids[a] for a in picks.tolist())
        greedy = tuple(ids[a] for a in model.tolist())
        imps.append(
            Impression(
                f"r{t}", "u", "/recommend/user", float(t), items, tuple(range(m)),
                tuple(probs.slot.tolist()), tuple(probs.inclusion.tolist()), greedy, greedy, "epsilon_greedy",
            )
        )  # fmt: skip
        rewards.append(tuple(clicks.tolist()))
    res = evaluate_impressions(Joined(imps, rewards, 0, float(lists), int(sum(map(sum, rewards)))), folds=2)
    assert res.greedy is not None and res.greedy_slots == lists * m and res.deterministic == 0
    truth = float(ctr[model].mean())
    ipw = res.greedy.ipw
    assert abs(ipw.value - truth) < 3.5 * ipw.stderr, (ipw, truth)
    assert ipw.stderr < 0.02  # informative: not passing on a huge standard error
