"""Context-free and contextual policies: learning, exploration of new arms, masks, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contracts.policy import N_ARMS, PolicyContract
from shelfwise.bandit import (
    UCB1,
    BernoulliTS,
    EpsilonGreedy,
    EpsilonGreedyConfig,
    LinUCB,
    LinUCBConfig,
    Policy,
    ThompsonConfig,
)

P = np.array([0.05, 0.1, 0.5, 0.2])


def _play(policy: Policy, rounds: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = []
    for _ in range(rounds):
        a = int(policy.select(1, 1)[0, 0])
        policy.update(np.array([a]), np.array([float(rng.random() < P[a])]))
        picks.append(a)
    return np.array(picks)


@pytest.mark.parametrize("make", [lambda: BernoulliTS(4), lambda: UCB1(4), lambda: EpsilonGreedy(4)])
def test_policies_find_best_arm(make: object) -> None:
    pol = make()  # type: ignore[operator]
    picks = _play(pol, 600)
    assert isinstance(pol, Policy)
    assert (picks[-200:] == 2).mean() > 0.6


def test_new_arm_gets_exposure_and_masks() -> None:
    ts = BernoulliTS(3)
    ts.update(np.array([0] * 50 + [1] * 50), np.array([0.0] * 50 + [1.0] * 5 + [0.0] * 45))
    sel = ts.select(2000, 1)[:, 0]
    assert 0.2 < (sel == 2).mean() < 0.9  # the unplayed arm's wide prior wins often
    ucb = UCB1(3)
    ucb.update(np.array([0, 1]), np.array([1.0, 1.0]))
    assert ucb.select(1, 1)[0, 0] == 2
    mask = np.array([True, False, True])
    assert set(ts.select(500, 2, mask=mask).ravel().tolist()) == {0, 2}
    with pytest.raises(ValueError, match="allowed arms"):
        ts.select(1, 3, mask=mask)
    with pytest.raises(ValueError, match="out of range"):
        ts.update(np.array([5]), np.array([1.0]))


def test_thompson_draws_are_the_beta_posterior() -> None:
    """Drawn as a ratio of gammas: the Beta(alpha + wins, beta + losses) mean and variance, also
    when only the allowed arms are drawn."""
    ts = BernoulliTS(3, alpha=np.array([3.0, 1.0, 0.5]), beta=np.array([7.0, 1.0, 0.5]))
    ts.update(np.array([1] * 8), np.array([1.0] * 6 + [0.0] * 2))  # arm 1: Beta(7, 3)
    draws = ts.sample(40_000)
    for arm, (a, b) in enumerate([(3.0, 7.0), (7.0, 3.0), (0.5, 0.5)]):
        mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
        assert abs(draws[:, arm].mean() - mean) < 0.01 and abs(draws[:, arm].var() - var) < 0.005
    some = ts.sample(40_000, np.array([1]))
    assert some.shape == (40_000, 1) and abs(some.mean() - 0.7) < 0.01
    assert ((draws >= 0) & (draws <= 1)).all()


def test_greedy_and_random_extremes() -> None:
    greedy = EpsilonGreedy(4, EpsilonGreedyConfig(epsilon=0.0))
    greedy.update(np.array([3]), np.array([1.0]))
    assert (greedy.select(100, 1)[:, 0] == 3).all()
    rand = EpsilonGreedy(4, EpsilonGreedyConfig(epsilon=1.0))
    rand.update(np.array([3]), np.array([1.0]))
    assert len(set(rand.select(200, 1)[:, 0].tolist())) == 4
    with pytest.raises(ValueError):
        EpsilonGreedyConfig(epsilon=1.5)


def test_action_dist_matches_posterior_ranking() -> None:
    ts = BernoulliTS(3, alpha=np.array([900.0, 10.0, 50.0]), beta=np.array([100.0, 990.0, 950.0]))
    ad = ts.action_dist(k=2, n_sim=4000)
    assert ad.shape == (3, 2) and np.allclose(ad.sum(axis=0), 1.0)
    assert ad[0, 0] == 1.0 and ad[2, 1] > 0.99


def test_linucb_learns_context() -> None:
    rng = np.random.default_rng(0)
    pol = LinUCB(2, LinUCBConfig(dim=3, alpha=0.5))
    for _ in range(400):
        user = rng.integers(0, 2)
        x = np.tile(np.array([user == 0, user == 1, 1.0], dtype=float), (1, 2, 1))
        a = int(pol.select(1, 1, features=x)[0, 0])
        pol.update(np.array([a]), np.array([float(a == user)]), x[0, a][None, :])
    x0 = np.tile(np.array([1.0, 0.0, 1.0]), (1, 2, 1))
    x1 = np.tile(np.array([0.0, 1.0, 1.0]), (1, 2, 1))
    assert pol.select(1, 1, features=x0)[0, 0] == 0 and pol.select(1, 1, features=x1)[0, 0] == 1
    with pytest.raises(ValueError, match="features"):
        pol.select(1, 1)
    shared = LinUCB(5, LinUCBConfig(dim=2, shared=True))
    feats = np.zeros((1, 5, 2))
    feats[0, :, 0] = np.arange(5)
    feats[0, :, 1] = 1.0
    for _ in range(30):  # reward grows with feature 0: the shared model generalises to arm 4
        shared.update(np.array([1, 2]), np.array([0.1, 0.2]), feats[0, [1, 2]])
    assert shared.select(1, 1, features=feats)[0, 0] == 4


class TestBernoulliTS(PolicyContract):
    def make(self) -> BernoulliTS:
        return BernoulliTS(N_ARMS, ThompsonConfig(alpha0=2.0, seed=7))

    def load(self, path: Path) -> BernoulliTS:
        return BernoulliTS.load(path)


class TestUCB1(PolicyContract):
    def make(self) -> UCB1:
        return UCB1(N_ARMS)

    def load(self, path: Path) -> UCB1:
        return UCB1.load(path)


class TestEpsilonGreedy(PolicyContract):
    def make(self) -> EpsilonGreedy:
        return EpsilonGreedy(N_ARMS, EpsilonGreedyConfig(epsilon=0.1, seed=3))

    def load(self, path: Path) -> EpsilonGreedy:
        return EpsilonGreedy.load(path)


class TestLinUCB(PolicyContract):
    dim = 2

    def make(self) -> LinUCB:
        return LinUCB(N_ARMS, LinUCBConfig(dim=self.dim, alpha=0.1))

    def load(self, path: Path) -> LinUCB:
        return LinUCB.load(path)


class TestSharedLinUCB(TestLinUCB):
    def make(self) -> LinUCB:
        return LinUCB(N_ARMS, LinUCBConfig(dim=self.dim, alpha=0.1, shared=True))

    def test_update_validates_and_learns(self) -> None:
        pytest.skip("one shared model: rewards are learnt per feature, not per arm (test_linucb_learns_context)")


def test_loaded_state_keeps_config_and_kind(tmp_path: Path) -> None:
    ts = BernoulliTS(3, ThompsonConfig(alpha0=2.0, seed=7))
    ts.update(np.array([0, 1, 1]), np.array([1.0, 0.0, 1.0]))
    ts.save(tmp_path / "ts")
    back = BernoulliTS.load(tmp_path / "ts")
    assert back.config == ts.config and np.array_equal(back.plays, ts.plays) and np.array_equal(back.alpha, ts.alpha)
    eps = EpsilonGreedy(2, EpsilonGreedyConfig(epsilon=0.3))
    eps.save(tmp_path / "eps")
    assert EpsilonGreedy.load(tmp_path / "eps").config.epsilon == 0.3
    with pytest.raises(ValueError, match="not 'ucb1'"):
        UCB1.load(tmp_path / "ts")
