"""Top-k of a catalog-length score array without sorting or partitioning the whole catalog.

A lexical query at 1M products scores hundreds of thousands of rows (character n-grams touch most
of the catalog), and choosing the best 100 of them by ``argpartition`` over all 1M cost ~13 ms of
a ~20 ms query (``bench/bench_million.py``). :func:`top_k` first takes the k-th best score of a
strided sample of the eligible rows. That is a lower bound of the k-th best score over all
eligible rows (the sample is a subset of them), so every row of the true top k scores at least as
much: one vectorised comparison over the array keeps the few rows that do, and only those are
partitioned and sorted. The answer is exact, not approximate: the same rows and scores as a full
sort by (score descending, row ascending) (tested against one).

The sample takes every ``step``-th row. Its k-th best eligible score keeps ~k * step rows, and its
partition costs ~E / step for E eligible rows, so ``step`` ~ sqrt(E / k) balances the two. The first
sample assumes every row eligible, ``step`` ~ sqrt(n / k) (:func:`sample_step`); when it finds few
eligible rows (a selective filter, a word-only index) E is estimated from it and a denser sample is
taken. (A fixed 65,536-row sample partitioned every eligible row below 65,536 rows: two full
partitions at 50k products, and at 1M a ~40k-row partition where ~6k rows do.) A sample never
exceeds :data:`SAMPLE` rows.

``positive=False`` serves scores of any sign (inner products, cosines): every row scoring more than
``-inf`` is eligible, and the sampled threshold bounds the k-th best of them the same way.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from shelfwise.results import Results

SAMPLE = 1 << 16  # at most this many rows are read to find the threshold


def sample_step(n: int, k: int) -> int:
    """Stride of the threshold sample for ``n`` rows and top ``k``: ~sqrt(n / k), at least 1, and
    large enough that the sample holds at most :data:`SAMPLE` rows."""
    return max(1, -(-n // SAMPLE), math.isqrt(n // max(k, 1)))


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
    above = s > floor if thr is None else s >= thr
    if mask is not None:  # (one pass over the booleans: a selective filter would leave few of the rows above)
        above &= mask
    cand = np.flatnonzero(above)
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
    sample holds fewer than ``k`` of them: the caller then keeps every row scoring above ``floor``).

    The first sample's stride assumes every row eligible; when its eligible share says a stride of
    under half that balances the two partitions (see the module doc), the rows are sampled again at
    that stride (at most :data:`SAMPLE` rows)."""
    n = s.shape[0]
    step = sample_step(n, k)
    pos = _eligible(s, step, mask, drop, floor)
    finest = max(1, -(-n // SAMPLE))
    if step > finest:
        want = max(finest, math.isqrt(len(pos) * step // max(k, 1)))
        if 2 * want <= step:
            step = want
            pos = _eligible(s, step, mask, drop, floor)
    if len(pos) < k:
        return None
    return float(np.partition(pos, len(pos) - k)[len(pos) - k])


def _eligible(
    s: npt.NDArray[np.floating],
    step: int,
    mask: npt.NDArray[np.bool_] | None,
    drop: npt.NDArray[np.int64] | None,
    floor: float,
) -> npt.NDArray[np.floating]:
    """Scores of the eligible rows among every ``step``-th row: above ``floor``, allowed by ``mask``,
    not in ``drop``."""
    sub = s[::step]
    keep = sub > floor
    if mask is not None:
        keep &= mask[::step]
    if drop is not None and len(drop):
        keep &= ~np.isin(np.arange(0, s.shape[0], step), drop, assume_unique=True)
    return sub[keep]


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
