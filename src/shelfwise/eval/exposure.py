"""Exposure of items and groups in ranked lists: how evenly search and recommendations spread
shoppers' attention over the catalog.

* Exposure of an item = sum over lists of the attention its position gets, ``1 / log2(rank + 1)``
  (the DCG position discount, as in "Fairness of Exposure in Rankings", Singh & Joachims, 2018),
  or 1 per appearance with ``weighted=False``.
* :func:`gini`: Gini coefficient of exposure over items (0 = every item equally exposed,
  1 = one item takes all), zeros included, so never-shown items count.
* :func:`group_shares`: per group (category, brand), its share of the catalog next to its share of
  exposure; a ratio below 1 means the group gets less attention than its size.
* :func:`popularity_deciles`: exposure share per decile of items ranked by popularity (long tail).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def position_weights(k: int) -> FloatArray:
    """Attention of ranks 1..k: ``1 / log2(rank + 1)``."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def exposure(lists: Iterable[Sequence[int]], n_items: int, k: int = 10, *, weighted: bool = True) -> FloatArray:
    """Exposure per catalog row over the top ``k`` of each list."""
    w = position_weights(k) if weighted else np.ones(k)
    out = np.zeros(n_items, dtype=np.float64)
    for lst in lists:
        top = np.asarray(list(lst)[:k], dtype=np.int64)
        if top.size:
            np.add.at(out, top, w[: top.size])
    return out


def gini(values: npt.ArrayLike) -> float:
    """Gini coefficient of non-negative ``values`` (0 when all equal or all zero)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = x.size, float(x.sum())
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float((2.0 * (ranks * x).sum()) / (n * total) - (n + 1.0) / n)


def lorenz(values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(cumulative share of items, cumulative share of the total), items sorted ascending; starts at (0, 0)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    total = float(x.sum())
    items = np.linspace(0.0, 1.0, x.size + 1)
    share = np.concatenate([[0.0], np.cumsum(x) / total]) if total > 0 else items.copy()
    return items, share


@dataclass(frozen=True)
class GroupShare:
    group: str
    items: int
    catalog_share: float
    exposure_share: float

    @property
    def ratio(self) -> float:
        """Exposure share over catalog share (1 = attention in proportion to size)."""
        return self.exposure_share / self.catalog_share if self.catalog_share > 0 else math.nan


def group_shares(groups: Sequence[str], item_exposure: npt.ArrayLike) -> list[GroupShare]:
    """Per distinct label in ``groups`` (one per catalog row; "" = no group), largest first."""
    e = np.asarray(item_exposure, dtype=np.float64)
    if len(groups) != e.size:
        raise ValueError(f"{len(groups)} group labels for {e.size} items")
    total_e, n = float(e.sum()), len(groups)
    index: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        index.setdefault(g or "(none)", []).append(i)
    out = [
        GroupShare(g, len(rows), len(rows) / n, float(e[rows].sum()) / total_e if total_e > 0 else 0.0)
        for g, rows in index.items()
    ]
    return sorted(out, key=lambda s: (-s.items, s.group))


def popularity_deciles(popularity: npt.ArrayLike, item_exposure: npt.ArrayLike, bins: int = 10) -> FloatArray:
    """Share of exposure per popularity bin: bin 0 holds the most popular tenth of the items (ties by row)."""
    pop = np.asarray(popularity, dtype=np.float64)
    e = np.asarray(item_exposure, dtype=np.float64)
    order = np.argsort(-pop, kind="stable")
    total = float(e.sum())
    parts = np.array_split(order, bins)
    return np.array([float(e[p].sum()) / total if total > 0 else 0.0 for p in parts], dtype=np.float64)
