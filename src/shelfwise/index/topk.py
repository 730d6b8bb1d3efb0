"""Top-k of a catalog-length score array without sorting or partitioning the whole catalog.

A lexical query at 1M products scores hundreds of thousands of rows (character n-grams touch most
of the catalog), and choosing the best 100 of them by ``argpartition`` over all 1M cost ~13 ms of
a ~20 ms query (``bench/bench_million.py``). :func:`top_k` first takes the k-th best score of a
strided sample of the eligible rows. That is a lower bound of the k-th best score over all
eligible rows (the sample is a subset of them), so every row of the true top k scores at least as
much: one vectorised comparison over the array keeps the few rows that do, and only those are
partitioned and sorted. The answer is exact, not approximate: the same rows and scores as a full
sort by (score descending, row ascending) (tested against one).

The sample takes every ``step``-th row, ``step`` ~ sqrt(n / k) (:func:`sample_step`): a sample of
~sqrt(n k) rows, whose k-th best keeps ~k * step = ~sqrt(n k) rows (when most rows are eligible), so
the two partitions cost about the same and both are ~sqrt(n k), not n. (A fixed 65,536-row sample
partitioned the whole array below 65,536 rows: two full partitions at 50k products.) The sample
never exceeds :data:`SAMPLE` rows.

``positive=False`` serves scores of any sign (inner products, cosines): every row scoring more than
``-inf`` is eligible, and the sampled threshold bounds the k-th best of them the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shelfwise.results import Results

SAMPLE = 1 << 16  # at most this many rows are read to find the threshold


def sample_step(n: int, k: int) -> int:
    """Stride of the threshold sample for ``n`` rows and top ``k``: ~sqrt(n / k), at least 1, and
    large enough that the sample holds at most :data:`SAMPLE` rows."""
    return max(1, -(-n // SAMPLE), int(np.sqrt(n / max(k, 1))))


def top_k(
    scores: npt.NDArray[np.floating],
    k: int,
    mask: npt.NDArray[np.bool_] | None = None,
    drop: npt.NDArray[np.int64] | None = None,
    *,
    positive: bool = True,
) -> Results:
    """The ``k`` rows with the highest positive ``scores`` among rows allowed by ``mask`` and not in
    ``drop`` (sorted unique row ids), best first; equal scores in row order. Rows scoring 0 or less
    (or NaN) are never returned, as a lexical index returns only matching documents; with
    ``positive=False`` only NaN and ``-inf`` rows are left out (scores of any sign, e.g. cosines)."""
    s = np.asarray(scores, dtype=np.float32)
    n = s.shape[0]
    if k < 1 or n == 0:
        return Results.empty()
    floor = 0.0 if positive else -np.inf
    thr = _threshold(s, k, mask, drop, floor)
    cand = np.flatnonzero(s > floor) if thr is None else np.flatnonzero(s >= thr)
    if mask is not None:
        cand = cand[mask[cand]]
    if drop is not None and len(drop) and len(cand):
        pos = np.minimum(np.searchsorted(drop, cand), len(drop) - 1)
        cand = cand[drop[pos] != cand]
    return _select(cand, s[cand], k)


def _threshold(
    s: npt.NDArray[np.floating],
    k: int,
    mask: npt.NDArray[np.bool_] | None,
    drop: npt.NDArray[np.int64] | None,
    floor: float = 0.0,
) -> float | None:
    """The k-th best score above ``floor`` among eligible rows of a strided sample (None when the
    sample holds fewer than ``k`` of them: the caller then keeps every row scoring above ``floor``)."""
    step = sample_step(s.shape[0], k)
    sub = s[::step]
    keep = sub > floor
    if mask is not None:
        keep &= mask[::step]
    if drop is not None and len(drop):
        keep &= ~np.isin(np.arange(0, s.shape[0], step), drop, assume_unique=True)
    pos = sub[keep]
    if len(pos) < k:
        return None
    return float(np.partition(pos, len(pos) - k)[len(pos) - k])


def _select(cand: npt.NDArray[np.intp], sc: npt.NDArray[np.floating], k: int) -> Results:
    """Best ``k`` of ascending rows ``cand`` with scores ``sc``: score descending, ties by row."""
    if len(cand) > k:
        kth = np.partition(sc, len(sc) - k)[len(sc) - k]
        keep = sc > kth
        need = k - int(keep.sum())
        keep[np.flatnonzero(sc == kth)[:need]] = True
        cand, sc = cand[keep], sc[keep]
    order = np.argsort(-sc, kind="stable")
    return Results(cand[order].astype(np.int64), sc[order].astype(np.float32))
