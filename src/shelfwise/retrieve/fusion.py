"""Rank fusion of several result lists.

* RRF: Cormack, Clarke & Buettcher, 2009, "Reciprocal Rank Fusion outperforms Condorcet and
  individual rank learning methods": score = sum_i w_i / (k + rank_i).
* Weighted: convex combination of min-max normalised scores (Fox & Shaw, 1994, CombSUM).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shelfwise.results import Results


def rrf(lists: Sequence[Results], k: int, *, rrf_k: float = 60.0, weights: Sequence[float] | None = None) -> Results:
    w = list(weights) if weights is not None else [1.0] * len(lists)
    if len(w) != len(lists):
        raise ValueError("rrf: one weight per list")
    acc: dict[int, float] = {}
    for res, wi in zip(lists, w, strict=True):
        for rank, item in enumerate(res.ids.tolist(), start=1):
            acc[item] = acc.get(item, 0.0) + wi / (rrf_k + rank)
    return _top(acc, k)


def minmax(scores: np.ndarray) -> np.ndarray:
    """``scores`` scaled to [0, 1] as float32 (all equal, the span at most 1e-12: ones). The span is
    taken in the scores' own dtype, so float32 scores are scaled in float32 throughout (convex
    fusion's dense half is this, bit for bit)."""
    if scores.size == 0:
        return scores.astype(np.float32)
    lo = scores.min()
    span = float(scores.max() - lo)
    if span <= 1e-12:
        return np.ones_like(scores, dtype=np.float32)
    return ((scores - lo) / span).astype(np.float32)


def weighted(lists: Sequence[Results], k: int, weights: Sequence[float]) -> Results:
    """Sum of ``weights[i]`` x min-max normalised score; an item absent from a list gets 0 there."""
    if len(weights) != len(lists):
        raise ValueError("weighted: one weight per list")
    acc: dict[int, float] = {}
    for res, wi in zip(lists, weights, strict=True):
        for item, s in zip(res.ids.tolist(), minmax(res.scores).tolist(), strict=True):
            acc[item] = acc.get(item, 0.0) + wi * s
    return _top(acc, k)


def _top(acc: dict[int, float], k: int) -> Results:
    if not acc:
        return Results.empty()
    ids = np.fromiter(acc.keys(), dtype=np.int64, count=len(acc))
    scores = np.fromiter(acc.values(), dtype=np.float32, count=len(acc))
    order = np.lexsort((ids, -scores))[:k]
    return Results(ids[order], scores[order])
