"""Proof of usefulness: removal curves and noise detection.

Point-removal experiments of Ghorbani & Zou 2019 (Fig. 2) and of the data-valuation benchmark
OpenDataVal (Jiang et al. 2023): drop the lowest-valued (or highest-valued, or random) share of
players, retrain, and measure the metric. A useful valuation keeps or improves the metric when
low-value data goes, while random removal of the same amount hurts. Curves should be measured
with a *test* utility (same players, different evaluation split) so that the values, fitted on
validation, are not graded on the data they were computed from.

Noise detection: flip the labels of (or otherwise corrupt) a random subset and report
precision@|noise| of the lowest values (how many of the ``|noise|`` lowest-valued players are
the corrupted ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shelfwise.results import IntArray
from shelfwise.valuation.base import F64, Utility, Values, all_players

DEFAULT_FRACTIONS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


@dataclass(frozen=True)
class RemovalCurve:
    """Metric after removing each fraction of players: lowest-valued first, highest first, random."""

    fractions: F64
    lowest: F64
    highest: F64
    random_mean: F64
    random_std: F64
    method: str

    def advantage(self) -> F64:
        """How much better than random the low-value removal scores at each fraction."""
        return self.lowest - self.random_mean


def removal_curve(
    utility: Utility,
    values: Values,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    *,
    n_random: int = 5,
    seed: int = 0,
) -> RemovalCurve:
    """Evaluate ``utility`` on the players left after removing each fraction in three orders."""
    n = utility.n_players
    if len(values) != n:
        raise ValueError(f"removal_curve: {len(values)} values for {n} players")
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.min() < 0 or fr.max() >= 1:
        raise ValueError("fractions must lie in [0, 1)")
    everyone = all_players(utility)
    asc = values.ascending()
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(n) for _ in range(n_random)]
    low, high, rnd = [], [], []
    for f in fr:
        m = round(f * n)
        low.append(utility(np.sort(asc[m:])))
        high.append(utility(np.sort(asc[: n - m])))
        rnd.append([utility(np.sort(p[m:])) for p in perms] if m else [utility(everyone)] * n_random)
    r = np.asarray(rnd, dtype=np.float64)
    return RemovalCurve(fr, np.asarray(low), np.asarray(high), r.mean(axis=1), r.std(axis=1), values.method)


def flip_labels(labels: IntArray, fraction: float, n_classes: int, seed: int = 0) -> tuple[IntArray, IntArray]:
    """Copy of ``labels`` with a random ``fraction`` changed to a different random class -> (labels, flipped rows)."""
    if not 0 < fraction < 1 or n_classes < 2:
        raise ValueError("flip_labels: 0 < fraction < 1 and at least two classes required")
    rng = np.random.default_rng(seed)
    y = np.asarray(labels, dtype=np.int64).copy()
    rows = np.sort(rng.choice(len(y), size=max(1, round(fraction * len(y))), replace=False)).astype(np.int64)
    shift = rng.integers(1, n_classes, size=len(rows))
    y[rows] = (y[rows] + shift) % n_classes
    return y, rows


def detection_precision(values: Values, corrupted: IntArray) -> float:
    """precision@|corrupted| of the lowest values: share of the |corrupted| lowest that are corrupted."""
    if not len(corrupted):
        raise ValueError("detection_precision: no corrupted players given")
    low = values.lowest(len(corrupted))
    return float(np.isin(low, corrupted).mean())


def detection_recall_at(values: Values, corrupted: IntArray, fraction: float) -> float:
    """Share of corrupted players found among the lowest ``fraction`` of all players."""
    low = values.lowest(max(1, round(fraction * len(values))))
    return float(np.isin(corrupted, low).mean())
