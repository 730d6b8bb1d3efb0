"""Offline ranking and catalogue metrics.

Ranking metrics take a ranked list of item ids and a ``{item: gain}`` relevance map, so they
serve search (graded judgments) and recommendation (held-out interactions, gain 1) alike.
NDCG after Järvelin & Kekäläinen, 2002 (exponential gain 2^rel - 1).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T", bound=Hashable)


def dcg(gains: Sequence[float]) -> float:
    return float(sum((2.0**g - 1.0) / math.log2(i + 2) for i, g in enumerate(gains)))


def ndcg_at_k(ranked: Sequence[T], relevance: Mapping[T, float], k: int) -> float:
    ideal = dcg(sorted((g for g in relevance.values() if g > 0), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    return dcg([relevance.get(i, 0.0) for i in ranked[:k]]) / ideal


def recall_at_k(ranked: Sequence[T], relevance: Mapping[T, float], k: int) -> float:
    rel = {i for i, g in relevance.items() if g > 0}
    if not rel:
        return 0.0
    return len(rel.intersection(ranked[:k])) / len(rel)


def precision_at_k(ranked: Sequence[T], relevance: Mapping[T, float], k: int) -> float:
    if k <= 0:
        return 0.0
    return sum(1 for i in ranked[:k] if relevance.get(i, 0.0) > 0) / k


def mrr(ranked: Sequence[T], relevance: Mapping[T, float], k: int | None = None) -> float:
    for pos, i in enumerate(ranked[:k] if k else ranked, start=1):
        if relevance.get(i, 0.0) > 0:
            return 1.0 / pos
    return 0.0


def auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney U) formula, ties averaged. NaN if one class is absent."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def list_auc(ranked: Sequence[int], relevant: set[int], n_items: int) -> float:
    """ROC AUC of a top-``len(ranked)`` list over ``n_items`` items: the share of (relevant, other)
    pairs the list orders correctly, the items it does not list tied below every listed one (a tie
    counts half), as RecBole's AUC over a full ranking with the tail unranked. NaN if there is no
    relevant item or no other one."""
    n_pos = len(relevant)
    n_neg = n_items - n_pos
    if n_pos == 0 or n_neg <= 0:
        return float("nan")
    ranked = list(dict.fromkeys(ranked))  # an item listed twice counts once, where it first stands
    correct = 0.0
    neg_above = 0
    pos_listed = 0
    for item in ranked:
        if item in relevant:
            correct += n_neg - neg_above  # every other item below it: the rest of the list and the unlisted
            pos_listed += 1
        else:
            neg_above += 1
    unlisted_neg = n_neg - neg_above
    correct += (n_pos - pos_listed) * 0.5 * unlisted_neg  # unlisted relevant items: tied with the unlisted rest
    return correct / (n_pos * n_neg)


def coverage(recommended: Iterable[Sequence[int]], n_items: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    seen: set[int] = set()
    for lst in recommended:
        seen.update(lst)
    return len(seen) / n_items if n_items else 0.0


def long_tail_share(
    recommended: Iterable[Sequence[int]], popularity: npt.ArrayLike, head_fraction: float = 0.2
) -> float:
    """Share of recommended slots filled by items outside the top ``head_fraction`` by popularity."""
    pop = np.asarray(popularity, dtype=np.float64)
    head = head_items(pop, head_fraction)
    total = tail = 0
    for lst in recommended:
        total += len(lst)
        tail += sum(1 for i in lst if not head[i])
    return tail / total if total else 0.0


def head_items(popularity: npt.ArrayLike, head_fraction: float = 0.2) -> npt.NDArray[np.bool_]:
    """Boolean mask of the most popular ``head_fraction`` of items (ties broken by index): the items
    above the ``n_head``-th largest value, then the lowest-indexed of those equal to it (a linear-time
    selection, not a sort: the exploration slots ask on every request, 50,000 items at a time)."""
    pop = np.asarray(popularity, dtype=np.float64)
    n_head = min(math.ceil(head_fraction * len(pop)), len(pop))
    head = np.zeros(len(pop), dtype=bool)
    if n_head:
        edge = -np.partition(-pop, n_head - 1)[n_head - 1]  # the n_head-th largest value
        head[pop > edge] = True
        head[np.flatnonzero(pop == edge)[: n_head - int(head.sum())]] = True
    return head


def intra_list_diversity(lst: Sequence[int], vectors: npt.NDArray[np.float32]) -> float:
    """Mean pairwise cosine distance within a list (Ziegler et al., 2005); vectors L2-normalised."""
    if len(lst) < 2:
        return 0.0
    v = vectors[np.asarray(lst)]
    sim = v @ v.T
    n = len(lst)
    return float((n * n - sim.sum()) / (n * (n - 1)))
