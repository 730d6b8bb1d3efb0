"""Replay simulation of a bandit policy on a log collected by a uniformly random policy
(Li, Chu, Langford & Wang 2011, "Unbiased offline evaluation of contextual-bandit-based news
article recommendation algorithms"): stream the logged rows; when the policy picks the logged
arm, it sees the logged reward and learns from it, otherwise the row is skipped. Each matched
row is an unbiased sample of what the policy would have met online.

With ``bootstrap=True`` the stream is resampled with replacement to ``n_rows`` rows (Mary, Preux
& Nicol 2014, "Improving offline evaluation of contextual bandit algorithms via bootstrapping
techniques"), which lengthens a short log at the price of re-using its rewards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shelfwise.bandit.ope import BanditLog
from shelfwise.bandit.policy import FloatArray, IntArray, Policy


def arm_features(log: BanditLog, rows: IntArray) -> FloatArray:
    """Per-round, per-arm features for contextual policies: user features, the user-item
    affinity and a bias, shape (len(rows), n_actions, d)."""
    n, a = rows.shape[0], log.n_actions
    user = np.broadcast_to(log.context[rows][:, None, :], (n, a, log.context.shape[1]))
    return np.concatenate([user, log.affinity[rows][:, :, None], np.ones((n, a, 1))], axis=2)


def feature_dim(log: BanditLog) -> int:
    return int(log.context.shape[1]) + 2


@dataclass(frozen=True)
class ReplayConfig:
    """``n_rows``: rows streamed (default: the log once, in time order); ``bootstrap``: resample
    rows with replacement; ``contextual``: pass :func:`arm_features` to the policy; ``chunk``:
    rounds selected at once between updates."""

    n_rows: int | None = None
    bootstrap: bool = False
    contextual: bool = False
    chunk: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if (self.n_rows is not None and self.n_rows < 1) or self.chunk < 1:
            raise ValueError("ReplayConfig: n_rows >= 1 and chunk >= 1")


@dataclass(frozen=True)
class ReplayResult:
    """``rewards``: the reward of each matched round in order; ``rows``: rows streamed."""

    rewards: FloatArray
    rows: int

    @property
    def matched(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def cumulative(self) -> FloatArray:
        return np.cumsum(self.rewards)

    @property
    def ctr(self) -> float:
        return float(self.rewards.mean()) if self.matched else float("nan")


def replay(policy: Policy, log: BanditLog, config: ReplayConfig | None = None) -> ReplayResult:
    """Run ``policy`` through ``log`` by rejection replay; the policy is updated as it goes."""
    cfg = config or ReplayConfig()
    if policy.n_arms != log.n_actions:
        raise ValueError(f"policy has {policy.n_arms} arms, log has {log.n_actions} actions")
    n = cfg.n_rows or len(log)
    rng = np.random.default_rng(cfg.seed)
    stream = rng.integers(0, len(log), n) if cfg.bootstrap else np.arange(n) % len(log)
    rewards: list[float] = []
    i = 0
    while i < n:
        rows = stream[i : i + cfg.chunk]
        feats = arm_features(log, rows) if cfg.contextual else None
        picks = policy.select(rows.shape[0], 1, features=feats)[:, 0]
        hit = np.flatnonzero(picks == log.action[rows])
        if hit.size == 0:
            i += rows.shape[0]
            continue
        j = int(hit[0])  # state changes at the first match: later picks in the chunk are stale
        row = int(rows[j])
        r = float(log.reward[row])
        rewards.append(r)
        arm = int(log.action[row])
        played = feats[j, arm][None, :] if feats is not None else None
        policy.update(np.array([arm]), np.array([r]), played)
        i += j + 1
    return ReplayResult(np.asarray(rewards, dtype=np.float64), n)
