"""Context-free bandits over arms (items or strategies) with Bernoulli rewards (clicks).

* :class:`BernoulliTS`: Thompson sampling with Beta posteriors (Thompson 1933; Chapelle & Li 2011,
  "An empirical evaluation of Thompson sampling"). An unplayed arm keeps its wide prior, so new
  and long-tail items are sampled high often enough to get exposure.
* :class:`UCB1`: upper confidence bound (Auer, Cesa-Bianchi & Fischer 2002); unplayed arms first.
* :class:`EpsilonGreedy`: explore a uniformly random arm with probability ``epsilon`` (the
  exploration share); ``epsilon=0`` is the greedy baseline, ``epsilon=1`` uniform random.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from shelfwise.bandit.policy import BoolArray, FloatArray, IntArray, as_updates, load_state, save_state, top_k


@dataclass(frozen=True)
class ThompsonConfig:
    """Beta(``alpha0``, ``beta0``) prior for every arm unless per-arm priors are given."""

    alpha0: float = 1.0
    beta0: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.alpha0 > 0 and self.beta0 > 0):
            raise ValueError("ThompsonConfig: alpha0 and beta0 must be > 0")


class _Counts:
    """Plays and summed rewards per arm, and the shared save/load of that state.

    Subclasses set ``KIND`` and implement ``_from_state`` (construct from saved config/arrays)."""

    KIND = ""
    config: Any

    def __init__(self, n_arms: int) -> None:
        if n_arms < 1:
            raise ValueError("n_arms must be >= 1")
        self.n_arms = n_arms
        self.plays = np.zeros(n_arms, dtype=np.float64)
        self.wins = np.zeros(n_arms, dtype=np.float64)
        self.version = 0  # updates so far: a snapshot of the state is current while this is unchanged

    def update(self, arms: IntArray, rewards: FloatArray, features: FloatArray | None = None) -> None:
        a, r = as_updates(arms, rewards, self.n_arms)
        self.version += 1
        np.add.at(self.plays, a, 1.0)
        np.add.at(self.wins, a, r)

    def means(self) -> FloatArray:
        return np.divide(self.wins, self.plays, out=np.zeros(self.n_arms), where=self.plays > 0)

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {}

    def save(self, path: str | Path) -> None:
        arrays = {"plays": self.plays, "wins": self.wins, **self._extra_state()}
        save_state(path, self.KIND, self.config, {"n_arms": self.n_arms}, arrays)

    @classmethod
    def _from_state(cls, n_arms: int, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        raise NotImplementedError

    @classmethod
    def load(cls, path: str | Path) -> Self:
        meta, z = load_state(path, cls.KIND)
        pol = cls._from_state(int(meta["n_arms"]), meta["config"], z)
        pol.plays, pol.wins = z["plays"], z["wins"]
        return pol


class BernoulliTS(_Counts):
    KIND = "bernoulli_ts"

    def __init__(
        self,
        n_arms: int,
        config: ThompsonConfig | None = None,
        *,
        alpha: FloatArray | None = None,
        beta: FloatArray | None = None,
    ) -> None:
        super().__init__(n_arms)
        self.config = config or ThompsonConfig()
        self.alpha = np.full(n_arms, self.config.alpha0) if alpha is None else np.asarray(alpha, dtype=np.float64)
        self.beta = np.full(n_arms, self.config.beta0) if beta is None else np.asarray(beta, dtype=np.float64)
        if self.alpha.shape != (n_arms,) or self.beta.shape != (n_arms,) or (self.alpha <= 0).any():
            raise ValueError(f"BernoulliTS: alpha and beta need {n_arms} positive values")
        if (self.beta <= 0).any():
            raise ValueError("BernoulliTS: beta values must be > 0")
        self.rng = np.random.default_rng(self.config.seed)

    def sample(self, n_rounds: int, arms: IntArray | None = None) -> FloatArray:
        """Posterior draws, shape (n_rounds, n_arms), or (n_rounds, len(arms)) for those ``arms`` only.

        Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (the same distribution): numpy's
        own beta sampler takes about 10x the two gamma draws (3.5 vs 0.35 ms for 40,000 arms), and
        the exploration slots draw for the whole catalog on every request."""
        a = self.alpha + self.wins
        b = self.beta + np.maximum(self.plays - self.wins, 0.0)
        if arms is not None:
            a, b = a[arms], b[arms]
        shape = (n_rounds, len(a))
        x = self.rng.standard_gamma(np.broadcast_to(a, shape))
        y = self.rng.standard_gamma(np.broadcast_to(b, shape))
        total = x + y
        return np.divide(x, total, out=np.full(shape, 0.5), where=total > 0)  # both underflowing: a coin

    def select(
        self, n_rounds: int = 1, k: int = 1, *, features: FloatArray | None = None, mask: BoolArray | None = None
    ) -> IntArray:
        if mask is None:
            return top_k(self.sample(n_rounds), k, None)
        if mask.shape != (self.n_arms,):
            raise ValueError(f"mask has shape {mask.shape}, expected ({self.n_arms},)")
        arms = np.flatnonzero(mask)  # draws for the allowed arms only
        if len(arms) < k:
            raise ValueError(f"only {len(arms)} allowed arms for k={k}")
        return arms[top_k(self.sample(n_rounds, arms), k, None)]

    def action_dist(self, k: int = 1, n_sim: int = 100_000, chunk: int = 10_000) -> FloatArray:
        """Probability that each arm lands at each of the ``k`` positions, (n_arms, k), by Monte Carlo
        over ``n_sim`` posterior draws (the distribution used to evaluate a TS policy off-policy)."""
        counts = np.zeros((self.n_arms, k), dtype=np.float64)
        done = 0
        while done < n_sim:
            m = min(chunk, n_sim - done)
            sel = self.select(m, k)
            for pos in range(k):
                counts[:, pos] += np.bincount(sel[:, pos], minlength=self.n_arms)
            done += m
        return counts / n_sim

    def _extra_state(self) -> dict[str, np.ndarray]:
        return {"alpha": self.alpha, "beta": self.beta}

    @classmethod
    def _from_state(cls, n_arms: int, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        return cls(n_arms, ThompsonConfig(**config), alpha=arrays["alpha"], beta=arrays["beta"])


_UNPLAYED = 1e6  # an unplayed arm's score: above any reachable bound, so it is tried first


@dataclass(frozen=True)
class UCBConfig:
    """Bonus ``c * sqrt(ln t / n_a)``; ``c = sqrt(2)`` is UCB1. Rewards should lie in [0, 1]."""

    c: float = 2.0**0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.c < 0:
            raise ValueError("UCBConfig.c must be >= 0")


class UCB1(_Counts):
    KIND = "ucb1"

    def __init__(self, n_arms: int, config: UCBConfig | None = None) -> None:
        super().__init__(n_arms)
        self.config = config or UCBConfig()
        self.rng = np.random.default_rng(self.config.seed)

    def scores(self) -> FloatArray:
        t = max(float(self.plays.sum()), 1.0)
        bonus = self.config.c * np.sqrt(np.log(t) / np.maximum(self.plays, 1.0))
        return np.where(self.plays > 0, self.means() + bonus, _UNPLAYED)

    def select(
        self, n_rounds: int = 1, k: int = 1, *, features: FloatArray | None = None, mask: BoolArray | None = None
    ) -> IntArray:
        tie = self.rng.random((n_rounds, self.n_arms)) * 1e-6  # random order among unplayed / tied arms
        return top_k(self.scores()[None, :] + tie, k, mask)

    @classmethod
    def _from_state(cls, n_arms: int, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        return cls(n_arms, UCBConfig(**config))


@dataclass(frozen=True)
class EpsilonGreedyConfig:
    """``epsilon``: share of rounds that explore uniformly at random (0 = greedy)."""

    epsilon: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError("EpsilonGreedyConfig.epsilon must be in [0, 1]")


class EpsilonGreedy(_Counts):
    """Exploits the best empirical mean (unplayed arms count as 0, ties broken at random)."""

    KIND = "epsilon_greedy"

    def __init__(self, n_arms: int, config: EpsilonGreedyConfig | None = None) -> None:
        super().__init__(n_arms)
        self.config = config or EpsilonGreedyConfig()
        self.rng = np.random.default_rng(self.config.seed)

    def select(
        self, n_rounds: int = 1, k: int = 1, *, features: FloatArray | None = None, mask: BoolArray | None = None
    ) -> IntArray:
        noise = self.rng.random((n_rounds, self.n_arms))
        greedy = self.means()[None, :] + noise * 1e-9
        explore = self.rng.random(n_rounds) < self.config.epsilon
        s = np.where(explore[:, None], noise, greedy)
        return top_k(s, k, mask)

    @classmethod
    def _from_state(cls, n_arms: int, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Self:
        return cls(n_arms, EpsilonGreedyConfig(**config))
