"""LinUCB: a contextual bandit with a ridge-regression reward model per arm and an upper
confidence bonus (Li, Chu, Langford & Schapire 2010, "A contextual-bandit approach to
personalized news article recommendation", Algorithm 1 "disjoint").

Each round passes one feature row per arm, e.g. the user's features, the user-item affinity
and the item's own features. ``shared=True`` fits one model for all arms instead, so an item
never played before is scored from its features (cold start) rather than only its bonus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shelfwise.bandit.policy import BoolArray, FloatArray, IntArray, as_updates, load_state, save_state, top_k


@dataclass(frozen=True)
class LinUCBConfig:
    """``dim``: feature size; ``alpha``: width of the confidence bonus; ``ridge``: L2 prior."""

    dim: int
    alpha: float = 1.0
    ridge: float = 1.0
    shared: bool = False

    def __post_init__(self) -> None:
        if self.dim < 1 or self.alpha < 0 or not self.ridge > 0:
            raise ValueError("LinUCBConfig: dim >= 1, alpha >= 0, ridge > 0")


class LinUCB:
    def __init__(self, n_arms: int, config: LinUCBConfig) -> None:
        if n_arms < 1:
            raise ValueError("n_arms must be >= 1")
        self.n_arms = n_arms
        self.config = config
        m, d = (1 if config.shared else n_arms), config.dim
        self.a_inv = np.tile(np.eye(d) / config.ridge, (m, 1, 1))  # inverse design matrices
        self.b = np.zeros((m, d))

    def _check(self, features: FloatArray | None, n_rounds: int) -> FloatArray:
        if features is None:
            raise ValueError("LinUCB needs features of shape (n_rounds, n_arms, dim)")
        x = np.asarray(features, dtype=np.float64)
        if x.shape != (n_rounds, self.n_arms, self.config.dim):
            raise ValueError(f"features {x.shape}, expected ({n_rounds}, {self.n_arms}, {self.config.dim})")
        return x

    def scores(self, features: FloatArray) -> FloatArray:
        """UCB per round and arm: ``theta_a . x + alpha * sqrt(x' A_a^-1 x)``."""
        x = self._check(features, features.shape[0])
        theta = np.einsum("mde,me->md", self.a_inv, self.b)
        if self.config.shared:
            mean = x @ theta[0]
            var = ((x @ self.a_inv[0]) * x).sum(axis=2)
        else:
            xt = x.transpose(1, 0, 2)  # (arms, rounds, d): batched matmul per arm
            mean = (xt @ theta[:, :, None])[:, :, 0].T
            var = ((xt @ self.a_inv) * xt).sum(axis=2).T
        return np.asarray(mean + self.config.alpha * np.sqrt(np.maximum(var, 0.0)))

    def select(
        self, n_rounds: int = 1, k: int = 1, *, features: FloatArray | None = None, mask: BoolArray | None = None
    ) -> IntArray:
        return top_k(self.scores(self._check(features, n_rounds)), k, mask)

    def update(self, arms: IntArray, rewards: FloatArray, features: FloatArray | None = None) -> None:
        a, r = as_updates(arms, rewards, self.n_arms)
        if features is None or np.shape(features) != (a.shape[0], self.config.dim):
            raise ValueError(f"LinUCB.update needs features of shape ({a.shape[0]}, {self.config.dim})")
        x = np.asarray(features, dtype=np.float64)
        for arm, rew, xi in zip(a.tolist(), r.tolist(), x, strict=True):
            m = 0 if self.config.shared else arm
            ax = self.a_inv[m] @ xi  # Sherman-Morrison rank-one update of A^-1
            self.a_inv[m] -= np.outer(ax, ax) / (1.0 + xi @ ax)
            self.b[m] += rew * xi

    def save(self, path: str | Path) -> None:
        save_state(path, "linucb", self.config, {"n_arms": self.n_arms}, {"a_inv": self.a_inv, "b": self.b})

    @classmethod
    def load(cls, path: str | Path) -> LinUCB:
        meta, z = load_state(path, "linucb")
        pol = cls(int(meta["n_arms"]), LinUCBConfig(**meta["config"]))
        pol.a_inv, pol.b = z["a_inv"], z["b"]
        return pol
