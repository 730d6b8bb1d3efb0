"""Exact KNN-Shapley and the KNN utility over language-model embeddings.

Setting of Jia et al. 2019, "Efficient task-specific data valuation for nearest neighbor
algorithms" (VLDB): a K-nearest-neighbour classifier over (L2-normalised) embeddings, whose
utility for a validation point is the share of its K nearest training points that carry its
label. That is exactly :func:`shelfwise.eval.metrics.precision_at_k` of the retrieved neighbours
with "same label" as relevance, so the valuation optimises the project's own metric
(the tests check the equality). Averaged over the validation set it is :class:`KNNUtility`.

Theorem 1 of the paper gives every training point's exact Shapley value for this utility
in O(N log N) per validation point: sort training points by distance, nearest first
(alpha_1 ... alpha_N), then

    s(alpha_N) = 1[y(alpha_N) = y] / N
    s(alpha_i) = s(alpha_{i+1}) + (1[y(alpha_i) = y] - 1[y(alpha_{i+1}) = y]) / K * min(K, i) / i

and average over validation points. We vectorise the recursion as a reverse cumulative sum
over chunks of validation points. Similarity is the dot product (cosine for the normalised
vectors every :class:`shelfwise.encode.Encoder` returns).

Use case here: value labelled product texts (title -> category) or labelled queries
(query -> product class) that search uses for category facets and query routing. Mislabelled
rows lower their neighbours' precision and get negative values (see the noise benchmark).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Literal

import numpy as np
import numpy.typing as npt

from shelfwise.results import IntArray
from shelfwise.valuation.base import F64, Values

Metric = Literal["precision", "accuracy"]


def _check(x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray, k: int) -> None:
    if k < 1:
        raise ValueError("k must be >= 1")
    if x_train.ndim != 2 or x_valid.ndim != 2 or x_train.shape[1] != x_valid.shape[1]:
        raise ValueError(f"embeddings must be 2-d with equal width: {x_train.shape} vs {x_valid.shape}")
    if len(y_train) != len(x_train) or len(y_valid) != len(x_valid):
        raise ValueError("one label per embedding row required")
    if not len(x_train) or not len(x_valid):
        raise ValueError("training and validation sets must be non-empty")


def knn_shapley(
    x_train: npt.NDArray[np.floating],
    y_train: IntArray,
    x_valid: npt.NDArray[np.floating],
    y_valid: IntArray,
    k: int = 5,
    *,
    names: tuple[str, ...] | None = None,
    chunk: int = 256,
) -> Values:
    """Exact KNN-Shapley value of every training sample (Jia et al. 2019, Theorem 1)."""
    _check(x_train, y_train, x_valid, y_valid, k)
    t0 = time.perf_counter()
    n = len(x_train)
    idx = np.arange(1, n, dtype=np.float64)  # i = 1 .. N-1 (1-based rank)
    factor = np.minimum(k, idx) / (k * idx)
    total = np.zeros(n, dtype=np.float64)
    for sim, yv in _similarities(x_train, x_valid, y_valid, chunk):
        order = np.argsort(-sim, axis=1, kind="stable")  # nearest first
        m = (y_train[order] == yv[:, None]).astype(np.float64)
        s = np.empty_like(m)
        s[:, -1] = m[:, -1] / n
        if n > 1:
            d = (m[:, :-1] - m[:, 1:]) * factor  # d_i for i = 1 .. N-1
            s[:, :-1] = s[:, -1:] + np.cumsum(d[:, ::-1], axis=1)[:, ::-1]
        out = np.empty_like(s)
        np.put_along_axis(out, order, s, axis=1)
        total += out.sum(axis=0)
    return _exact_values("knn-shapley", total / len(x_valid), names, len(x_valid), k, t0)


def _similarities(
    x_train: npt.NDArray[np.floating], x_valid: npt.NDArray[np.floating], y_valid: IntArray, chunk: int
) -> Iterator[tuple[npt.NDArray[np.float32], IntArray]]:
    """(validation rows x training rows) dot products, ``chunk`` validation rows at a time, with
    those rows' labels."""
    xt = np.asarray(x_train, dtype=np.float32)
    for start in range(0, len(x_valid), chunk):
        xv = np.asarray(x_valid[start : start + chunk], dtype=np.float32)
        yield xv @ xt.T, y_valid[start : start + chunk]


def _exact_values(method: str, values: F64, names: tuple[str, ...] | None, n_valid: int, k: int, t0: float) -> Values:
    """Per-sample values computed exactly in one pass (no sampling: zero standard error, one
    evaluation per validation point)."""
    n = len(values)
    return Values(
        method,
        "sample",
        names if names is not None else tuple(str(i) for i in range(n)),
        values,
        np.zeros(n),
        np.ones(n, dtype=np.int64),
        evaluations=n_valid,
        seconds=time.perf_counter() - t0,
        info={"k": float(k)},
    )


class KNNUtility:
    """Validation metric of a KNN classifier trained on a coalition of players.

    Players are training samples, or groups of samples when ``groups`` (one id per sample)
    is given. ``metric="precision"``: mean precision@K of the neighbours (the KNN-Shapley
    utility); ``"accuracy"``: majority-vote accuracy (ties to the nearer neighbours).
    """

    def __init__(
        self,
        x_train: npt.NDArray[np.floating],
        y_train: IntArray,
        x_valid: npt.NDArray[np.floating],
        y_valid: IntArray,
        k: int = 5,
        *,
        groups: IntArray | None = None,
        metric: Metric = "precision",
    ) -> None:
        _check(x_train, y_train, x_valid, y_valid, k)
        if metric not in ("precision", "accuracy"):
            raise ValueError(f"metric must be 'precision' or 'accuracy', got {metric!r}")
        self.k, self.metric = k, metric
        self.y_train = np.asarray(y_train, dtype=np.int64)
        self.y_valid = np.asarray(y_valid, dtype=np.int64)
        self.x_train = np.asarray(x_train, dtype=np.float32)
        self.x_valid = np.asarray(x_valid, dtype=np.float32)
        self.sim = self.x_valid @ self.x_train.T
        self.match = self.y_valid[:, None] == self.y_train[None, :]
        self.n_classes = int(max(self.y_train.max(), self.y_valid.max())) + 1
        if groups is None:
            self.members = [np.array([i], dtype=np.int64) for i in range(len(x_train))]
        else:
            g = np.asarray(groups, dtype=np.int64)
            if g.shape != (len(x_train),) or g.min() < 0:
                raise ValueError("groups must hold one non-negative id per training sample")
            order = np.argsort(g, kind="stable")
            counts = np.bincount(g)
            self.members = [m.astype(np.int64) for m in np.split(order, np.cumsum(counts)[:-1])]

    @property
    def n_players(self) -> int:
        return len(self.members)

    def samples(self, players: IntArray) -> IntArray:
        if not len(players):
            return np.empty(0, dtype=np.int64)
        return np.concatenate([self.members[int(p)] for p in players])

    def __call__(self, players: IntArray) -> float:
        cols = self.samples(players)
        return self.on_samples(cols)

    def on_samples(self, cols: IntArray) -> float:
        if not len(cols):
            return 0.0
        s = self.sim[:, cols]
        kk = min(self.k, len(cols))
        if kk < len(cols):
            top = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        else:
            top = np.tile(np.arange(len(cols)), (len(s), 1))
        if self.metric == "precision":
            hits = np.take_along_axis(self.match[:, cols], top, axis=1)
            return float(hits.sum() / (self.k * len(s)))
        labels = self.y_train[cols][top]
        votes = np.zeros((len(s), self.n_classes), dtype=np.float64)
        rows = np.repeat(np.arange(len(s)), kk)
        # 1 vote per neighbour, plus a tiny similarity bonus so ties go to the nearer neighbours
        np.add.at(votes, (rows, labels.ravel()), 1.0 + 1e-6 * np.take_along_axis(s, top, axis=1).ravel())
        return float(np.mean(votes.argmax(axis=1) == self.y_valid))

    def scan(self, order: IntArray) -> F64:
        """Utility of every prefix of ``order``, keeping a running top-K per validation point."""
        if self.metric != "precision":
            return np.array([self(order[: i + 1]) for i in range(len(order))], dtype=np.float64)
        nv = self.sim.shape[0]
        rows = np.arange(nv)
        top_sim = np.full((nv, self.k), -np.inf, dtype=np.float32)
        top_hit = np.zeros((nv, self.k), dtype=bool)
        hits = 0
        out = np.empty(len(order), dtype=np.float64)
        denom = float(self.k * nv)
        for i, p in enumerate(order.tolist()):
            for j in self.members[p].tolist():
                sj = self.sim[:, j]
                pos = top_sim.argmin(axis=1)
                upd = sj > top_sim[rows, pos]
                r, c = rows[upd], pos[upd]
                new = self.match[upd, j]
                hits += int(new.sum()) - int(top_hit[r, c].sum())
                top_sim[r, c] = sj[upd]
                top_hit[r, c] = new
            out[i] = hits / denom
        return out


def knn_loo(
    x_train: npt.NDArray[np.floating],
    y_train: IntArray,
    x_valid: npt.NDArray[np.floating],
    y_valid: IntArray,
    k: int = 5,
    *,
    names: tuple[str, ...] | None = None,
    chunk: int = 256,
) -> Values:
    """Exact leave-one-out values for the KNN utility in one pass (same numbers as ``leave_one_out``).

    Removing training point ``i`` changes validation point ``v`` only if ``i`` is among its K
    nearest; the (K+1)-th neighbour then moves up: ``U_v(N) - U_v(N \\ i) = (hit_i - hit_{K+1}) / K``.
    """
    _check(x_train, y_train, x_valid, y_valid, k)
    t0 = time.perf_counter()
    n = len(x_train)
    kk = min(k + 1, n)
    total = np.zeros(n, dtype=np.float64)
    for sim, yv in _similarities(x_train, x_valid, y_valid, chunk):
        part = np.argpartition(-sim, kk - 1, axis=1)[:, :kk] if kk < n else np.tile(np.arange(n), (len(sim), 1))
        order = np.take_along_axis(part, np.argsort(-np.take_along_axis(sim, part, axis=1), axis=1, kind="stable"), 1)
        hit = (y_train[order] == yv[:, None]).astype(np.float64)
        nxt = hit[:, k] if n > k else np.zeros(len(sim))
        top = order[:, : min(k, n)]
        np.add.at(total, top.ravel(), ((hit[:, : min(k, n)] - nxt[:, None]) / k).ravel())
    return _exact_values("loo", total / len(x_valid), names, len(x_valid), k, t0)
