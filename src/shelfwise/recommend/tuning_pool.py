"""The candidate pool fit-time tuning scores weights on (:mod:`shelfwise.recommend.autotune`).

Each validation prefix keeps the union of every component's top candidates (and its next item),
each component's score scaled as ``HybridRecommender.recommend`` scales it; a trial of the
coordinate ascent is then a few vector products over the pool. Prefixes are scored in blocks,
every component's ``score_many`` at once, with the same floating-point operations as scoring
one prefix at a time (tests/recommend/test_recommend_fast_tuning.py); two blocks at a time, in
threads, gathered in block order (the same pool as one thread). Candidates are chosen on the raw
scores and only the entries kept are scaled (scaling is monotone in each row; the same float32
values and ties as scaling every cell, tests/recommend/test_recommend_lazy_scale.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import RowScale
from shelfwise.recommend.cold_items import scores_many
from shelfwise.recommend.entries import EntryScores
from shelfwise.results import FloatArray, IntArray

if TYPE_CHECKING:
    from shelfwise.recommend.autotune import Case
    from shelfwise.recommend.base import Context
    from shelfwise.recommend.hybrid import HybridRecommender


@dataclass(frozen=True)
class _Pool:
    """Cached candidate scores of many prefixes, concatenated: prefix ``j`` owns entries
    ``start[j]:start[j + 1]``; ``truth[j]`` is the global entry of its next item."""

    scores: FloatArray  # (components, entries), each component scaled to [0, 1]
    log_counts: FloatArray  # log(1 + interactions) of each entry's item, for the tail penalty
    seen: npt.NDArray[np.bool_]
    start: IntArray
    truth: IntArray
    owner: IntArray
    item: IntArray  # each entry's catalog row
    _damping: dict[float, FloatArray] = field(default_factory=dict, compare=False, repr=False)

    def select(self, keep: npt.NDArray[np.bool_], drop_seen: bool = False) -> _Pool:
        """The prefixes ``keep`` marks; with ``drop_seen``, without their seen entries (the
        new-items protocol never counts them; a new item's truth is never seen)."""
        entry = np.repeat(keep, np.diff(self.start))
        if drop_seen:
            entry &= ~self.seen
            entry[self.truth[keep]] = True
        lengths = np.bincount(self.owner[entry], minlength=len(keep))[keep]
        start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return _Pool(
            self.scores[:, entry],
            self.log_counts[entry],
            self.seen[entry],
            start,
            np.cumsum(entry)[self.truth[keep]] - 1,
            np.repeat(np.arange(len(lengths)), lengths),
            self.item[entry],
        )

    def damping(self, penalty: float) -> FloatArray:
        """``exp(-penalty * log_counts)``, computed once per penalty."""
        out = self._damping.get(penalty)
        if out is None:
            out = self._damping[penalty] = np.exp(-penalty * self.log_counts)
        return out

    def ndcg(self, w: FloatArray, penalty: float, k: int, exclude_seen: bool) -> FloatArray:
        """Per-prefix NDCG@k of the fused ranking (one relevant item), all prefixes at once.

        Entries tied with the truth are ordered at random by a top-k list, so the truth's NDCG is
        its mean over every place among them (counting ties as beaten would reward components
        that give many items the same score, e.g. co-occurrence counts on a sparse store)."""
        fused = w @ self.scores
        if penalty > 0:
            fused *= self.damping(penalty)
        tv = fused[self.truth]
        at = np.repeat(tv, np.diff(self.start))
        better, tied = fused > at, fused == at
        if exclude_seen and self.seen.any():  # a pool of new-item prefixes may hold no seen entry
            better &= ~self.seen
            tied &= ~self.seen
        rank = np.add.reduceat(better.view(np.int8), self.start[:-1], dtype=np.int32)
        ties = np.add.reduceat(tied.view(np.int8), self.start[:-1], dtype=np.int32)  # the truth among them
        return np.where(tv > 0, tied_gain(rank, ties, k), 0.0).astype(np.float32)


def dcg_prefix(k: int) -> FloatArray:
    """``gain[r]``: the summed DCG discounts of ranks 0 .. r - 1, cut at ``k`` (``gain[0]`` = 0)."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))])


def tied_gain(above: IntArray, ties: IntArray, k: int) -> FloatArray:
    """The expected DCG@k discount of an item with ``above`` items scored higher and ``ties`` items
    (itself included) scored the same: its mean over every place among the ties, as a top-k list
    orders them at random (McSherry & Najork, 2008)."""
    gain = dcg_prefix(k)
    return (gain[np.minimum(above + ties, k)] - gain[np.minimum(above, k)]) / np.maximum(ties, 1)


_TINY = np.nextafter(np.float32(0), np.float32(1))


def _floor(scale: RowScale, bound: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Per row of ``scale``, a raw value at or below every raw score whose scaled value reaches ``bound``
    (> 0), leaving out few others: the scaled value rounds ``(x - sub) / div`` (``sub`` 0 on
    rows of non-negative scores), so a relative slack of 2**-15 and an absolute one of 2**-40
    cover both roundings and this one in float64 (the scores above are then cut on their
    scaled values)."""
    div, sub = scale.div.astype(np.float64), scale.sub.astype(np.float64)
    fl = sub + div * bound.astype(np.float64) * (1.0 - 2.0**-15) - (np.abs(sub) + div + 1.0) * 2.0**-40
    fl[scale.zero] = np.inf
    out = fl.astype(np.float32)
    out = np.where(out > fl, np.nextafter(out, np.float32(-np.inf)), out)  # rounded down
    return np.where(scale.spread, out, np.maximum(out, _TINY)).astype(np.float32)  # else: x > 0


def top_positive(d: npt.NDArray[np.float32], n_cand: int) -> IntArray:
    """Flat indices (ascending) of each row's positive scores down to its ``n_cand``-th highest
    (ties there all kept; every positive when fewer)."""
    return _top(d, n_cand, scaled=False)[0]


def _top_scaled(raw: npt.NDArray[np.float32], n_cand: int) -> tuple[IntArray, RowScale]:
    """:func:`top_positive` of ``minmax_rows(raw)`` without scaling ``raw``, and its scale."""
    flat, scale = _top(raw, n_cand, scaled=True)
    assert scale is not None
    return flat, scale


def _top(d: npt.NDArray[np.float32], n_cand: int, scaled: bool) -> tuple[IntArray, RowScale | None]:
    """:func:`top_positive` of ``d``, or with ``scaled`` of ``d``'s rows scaled (a :class:`RowScale`,
    returned): the scaling is monotone in each row, so the bound below is found on the raw group
    maxima and then scaled, the pass over the matrix keeps the raw scores above each row's
    :func:`_floor` of it, and only those are scaled and cut at the bound itself.

    Cut into ``g = 4 * n_cand`` groups (column ``j`` in group ``j mod g``), a row's group maxima
    are ``g`` of its values, so the ``n_cand``-th highest of them bounds its ``n_cand``-th highest
    value from below: one pass finds the values above the bound (about ``n_cand`` to a few times
    that a row), and only those are partitioned."""
    b, n = d.shape
    none = np.zeros(0, dtype=np.int64)
    g = min(4 * n_cand, n)
    if not d.size or g < n_cand:  # (no bound when n < n_cand: every positive is looked at)
        scale = RowScale(d, d.max(axis=1, initial=-np.inf)) if scaled else None
        if scale is not None and d.size:
            d = scale.values(np.repeat(np.arange(b), n), d.reshape(-1)).reshape(b, n)
        if not d.size or d.max() <= 0:
            return none, scale
        floor = cut = np.full(b, _TINY, dtype=np.float32)
        scale_v = None
    else:
        w = n // g
        maxima = d[:, : w * g].reshape(b, w, g).max(axis=1)  # element-wise over w column blocks
        if n > w * g:  # the last columns join the first groups
            np.maximum(maxima[:, : n - w * g], d[:, w * g :], out=maxima[:, : n - w * g])
        hi = maxima.max(axis=1)
        scale = RowScale(d, hi) if scaled else None
        every = np.arange(b)
        if (scale.values(every, hi) if scale is not None else hi).max() <= 0:  # every column is in a group:
            return none, scale  # nothing positive (e.g. no evidence here)
        bound = np.partition(maxima, g - n_cand, axis=1)[:, g - n_cand]
        if scale is not None:  # the scaling is monotone: the scaled maxima's order statistic, scaled
            bound = scale.values(every, bound)
        cut = np.maximum(bound, _TINY)
        floor = _floor(scale, cut) if scale is not None else cut
        scale_v = scale
    flat = np.flatnonzero(d >= floor[:, None])  # positive and above the bound (raw: a few more)
    r = flat // n
    v = d.reshape(-1)[flat]
    if scale_v is not None:
        v = scale_v.values(r, v)
        keep = v >= cut[r]
        flat, r, v = flat[keep], r[keep], v[keep]
    return row_tops(flat, r, v, b, n_cand), scale


def row_tops(flat: IntArray, r: IntArray, v: npt.NDArray[np.float32], b: int, n_cand: int) -> IntArray:
    """Of entries ``flat`` (rows ``r`` ascending, values ``v``, each row's positive values down to
    some bound at or below its ``n_cand``-th highest), those down to its ``n_cand``-th highest, ties kept."""
    size = np.bincount(r, minlength=b)
    many = size > n_cand
    if not many.any():
        return flat
    at = np.arange(len(r)) - np.repeat(np.cumsum(size) - size, size)
    in_many = many[r]
    place = np.cumsum(many) - 1  # each such row's place among them
    top = np.full((int(many.sum()), int(size.max())), -np.inf, dtype=np.float32)
    top[place[r[in_many]], at[in_many]] = v[in_many]
    kth = np.full(b, -np.inf, dtype=np.float32)
    kth[many] = -np.partition(-top, n_cand - 1, axis=1)[:, n_cand - 1]
    return flat[v >= kth[r]]


def entry_top(s: EntryScores, n_cand: int) -> tuple[IntArray, RowScale]:
    """:func:`_top_scaled` of a matrix held as its finite entries (:mod:`.entries`): every entry is
    scaled (few of them: no bound is needed to skip most), the positive ones cut per row."""
    rows = s.rows
    scale = RowScale.of_entries(rows, s.values, s.shape[0])
    v = scale.values(rows, s.values)
    pos = np.flatnonzero(v > 0)
    return row_tops(s.keys[pos], rows[pos], v[pos], s.shape[0], n_cand), scale


def kth_largest(d: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
    """Each row's ``k``-th largest positive value (rows holding at least ``k`` positives): the
    lowest of :func:`top_positive`'s values in each row."""
    flat = top_positive(d, k)
    out = np.full(d.shape[0], np.inf, dtype=np.float32)
    np.minimum.at(out, flat // d.shape[1], d.reshape(-1)[flat])
    return out


def _candidates(
    raw: Sequence[Raw], cases: Sequence[Case], n_cand: int
) -> tuple[IntArray, IntArray, IntArray, list[FloatArray]]:
    """Entries cached for a block of prefixes, from each component's raw (prefixes x items) scores
    scaled as ``minmax_rows`` scales them: the union of every component's top ``n_cand`` positive
    scaled scores, and the truth. Returns (prefix, item) of each entry, prefix-major and items
    ascending, each prefix's truth position among its entries, and each component's scaled scores
    of the entries (:class:`RowScale`: the scaled matrices are never written)."""
    b, n = raw[0].shape
    truth = np.array([c.truth for c in cases], dtype=np.int64)
    pick, scales = top_cells(raw, n_cand)
    pick[np.arange(b), truth] = True
    flat = np.flatnonzero(pick)
    prefix, item = np.divmod(flat, n)  # row-major: (prefix, item) keys ascending
    scores = [sc.values(prefix, raw_at(d, flat)) for sc, d in zip(scales, raw, strict=True)]
    return prefix, item, _truth_at(prefix, item, truth, n), scores


Raw = npt.NDArray[np.float32] | EntryScores  # a component's raw scores of a block of prefixes


def raw_scores(hybrid: HybridRecommender, contexts: Sequence[Context], names: Sequence[str]) -> list[Raw]:
    """Each named component's raw scores of ``contexts``, in ``names``' order: float32 matrices, or
    their finite entries where a component gives them (:func:`~shelfwise.recommend.cold_items.scores_many`)."""
    got = scores_many(hybrid.components, contexts, names, entries=True)
    return [d if isinstance(d := got[nm], EntryScores) else np.ascontiguousarray(d, dtype=np.float32) for nm in names]


def raw_at(d: Raw, flat: IntArray) -> npt.NDArray[np.float32]:
    """Raw scores of cells ``flat``."""
    return d.at(flat) if isinstance(d, EntryScores) else d.reshape(-1)[flat]


def top_cells(raw: Sequence[Raw], n_cand: int) -> tuple[npt.NDArray[np.bool_], list[RowScale]]:
    """(contexts x items) marks of every component's top ``n_cand`` positive scaled scores in
    ``raw`` (each component's raw scores, a matrix or its finite entries, scaled as ``minmax_rows``
    scales them), and each component's :class:`RowScale` (the scaled matrices are never written)."""
    b, n = raw[0].shape
    pick = np.zeros((b, n), dtype=bool)
    flat_pick = pick.reshape(-1)
    scales = []
    for d in raw:
        if isinstance(d, EntryScores):
            top, scale = entry_top(d, n_cand)
            flat_pick[top] = True
            scales.append(scale)
        elif b > 1 and np.array_equal(d[1], d[0]) and (d == d[0]).all():  # the same for every prefix (popularity)
            top, scale = _top_scaled(d[:1], n_cand)
            pick[:, top] = True
            scales.append(scale.tile(b))
        else:
            top, scale = _top_scaled(d, n_cand)
            flat_pick[top] = True
            scales.append(scale)
    return pick, scales


def _truth_at(prefix: IntArray, item: IntArray, truth: IntArray, n: int) -> IntArray:
    """Each prefix's truth position among its entries ((prefix, item) keys ascending)."""
    first = np.searchsorted(prefix, np.arange(len(truth)))
    return np.searchsorted(prefix * n + item, np.arange(len(truth)) * n + truth) - first


class _Entries:
    """Candidate entries of many prefixes, gathered block by block into a :class:`_Pool`."""

    def __init__(self, log_counts: FloatArray) -> None:
        self.log_counts = log_counts
        self.blocks: list[FloatArray] = []
        self.seen: list[npt.NDArray[np.bool_]] = []
        self.counts: list[FloatArray] = []
        self.sizes: list[IntArray] = []
        self.truth: list[IntArray] = []
        self.items: list[IntArray] = []
        self.offset = 0

    def add_at(
        self,
        scores: FloatArray,
        seen: npt.NDArray[np.bool_],
        n_part: int,
        prefix: IntArray,
        item: IntArray,
        where: IntArray,
    ) -> None:
        """Entries (``prefix``, ``item``) of a block of ``n_part`` prefixes with their (components x
        entries) ``scores`` and ``seen`` flags (``where``: each prefix's truth position among its own)."""
        size = np.bincount(prefix, minlength=n_part)
        self.truth.append(self.offset + np.concatenate([[0], np.cumsum(size)[:-1]]) + where)
        self.offset += len(item)
        self.blocks.append(scores)
        self.seen.append(seen)
        self.counts.append(self.log_counts[item])
        self.items.append(item)
        self.sizes.append(size)

    def pool(self, n_names: int, n_cases: int) -> _Pool:
        sizes = np.concatenate(self.sizes) if self.sizes else np.zeros(0, np.int64)
        start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return _Pool(
            np.concatenate(self.blocks, axis=1) if self.blocks else np.zeros((n_names, 0), np.float32),
            np.concatenate(self.counts) if self.counts else np.zeros(0, np.float32),
            np.concatenate(self.seen) if self.seen else np.zeros(0, bool),
            start,
            np.concatenate(self.truth).astype(np.int64) if self.truth else np.zeros(0, np.int64),
            np.repeat(np.arange(n_cases), np.diff(start)),
            np.concatenate(self.items).astype(np.int64) if self.items else np.zeros(0, np.int64),
        )


def _concat(pools: Sequence[_Pool]) -> _Pool:
    """The prefixes of ``pools`` in one pool, in order."""
    if len(pools) == 1:
        return pools[0]
    sizes = np.array([len(p.item) for p in pools], dtype=np.int64)
    counts = np.array([len(p.start) - 1 for p in pools], dtype=np.int64)
    entry0 = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    case0 = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return _Pool(
        np.concatenate([p.scores for p in pools], axis=1),
        np.concatenate([p.log_counts for p in pools]),
        np.concatenate([p.seen for p in pools]),
        np.concatenate([[0], *(p.start[1:] + e for p, e in zip(pools, entry0, strict=True))]).astype(np.int64),
        np.concatenate([p.truth + e for p, e in zip(pools, entry0, strict=True)]).astype(np.int64),
        np.concatenate([p.owner + c for p, c in zip(pools, case0, strict=True)]).astype(np.int64),
        np.concatenate([p.item for p in pools]).astype(np.int64),
    )


def _cache(
    hybrid: HybridRecommender, cases: Sequence[Case], names: Sequence[str], n_cand: int, cells: int = 1 << 21
) -> _Pool:
    """Each prefix's candidate scores, scaled as ``recommend()`` fuses them; components score
    blocks of about ``cells / n_items`` prefixes at once (:func:`~shelfwise.recommend.cold_items.scores_many`)."""
    return _caches(hybrid, cases, names, n_cand, cells)[0]


def _caches(
    hybrid: HybridRecommender,
    cases: Sequence[Case],
    names: Sequence[str],
    n_cand: int,
    cells: int = 1 << 21,
    unseen: bool = False,
    threads: int = 2,
) -> tuple[_Pool, _Pool | None]:
    """:func:`_cache`, and with ``unseen`` also the new-item prefixes' pool scaled over the
    items a new-items list may show (:func:`minmax_rows` with seen items masked before each
    component's scaling, so they do not set its maximum), its candidates each component's top
    among those items. Each block of prefixes (at most ``cells / n_items``; a multiple of
    ``threads`` blocks) is scored once for both, ``threads`` blocks at a time (the components only
    read their fitted state; numpy's array loops, sparse products and BLAS release the GIL), and
    gathered in block order."""
    log_counts = np.log1p(hybrid.counts).astype(np.float32)
    every, new = _Entries(log_counts), _Entries(log_counts)
    step = max(1, cells // max(hybrid.n_items, 1))
    blocks = -(-len(cases) // step)
    if blocks > 1:  # as many blocks per thread: the threads end together
        step = -(-len(cases) // (-(-blocks // threads) * threads))

    def block(a: int) -> tuple[_Block, _Block | None]:
        return _score_block(hybrid, cases[a : a + step], names, n_cand, unseen)

    with ThreadPoolExecutor(threads) as pool:  # results in block order: the same pool as one thread
        for got_every, got_new in pool.map(block, range(0, len(cases), step)):
            every.add_at(*got_every)
            if got_new is not None:
                new.add_at(*got_new)
    n_new = sum(c.new for c in cases)
    return every.pool(len(names), len(cases)), new.pool(len(names), n_new) if unseen else None


_Block = tuple[FloatArray, npt.NDArray[np.bool_], int, IntArray, IntArray, IntArray]  # _Entries.add_at's arguments


def _score_block(
    hybrid: HybridRecommender, part: Sequence[Case], names: Sequence[str], n_cand: int, unseen: bool
) -> tuple[_Block, _Block | None]:
    """One block of prefixes for :func:`_caches`: its candidate entries and their scaled scores
    (:meth:`_Entries.add_at`'s arguments), for every prefix and, with ``unseen``, for the new-item
    prefixes scaled over unseen items. The raw score matrices are only read (:func:`_candidates`
    scales the entries it keeps); the new-item prefixes' rows are copied out with seen items
    masked."""
    n = hybrid.n_items
    raw = raw_scores(hybrid, [c.ctx for c in part], names)  # read only
    lens = [len(c.ctx) for c in part]
    seen_flat = np.repeat(np.arange(len(part), dtype=np.int64) * n, lens)
    if len(seen_flat):
        seen_flat += np.concatenate([c.ctx.items for c in part]).astype(np.int64)
    ctx_seen = np.zeros(len(part) * n, dtype=bool)
    ctx_seen[seen_flat] = True
    is_new = np.array([c.new for c in part], dtype=bool)
    rows = np.flatnonzero(is_new) if unseen else np.zeros(0, np.int64)
    prefix, item, where, scaled = _candidates(raw, part, n_cand)
    scores = np.stack(scaled).astype(np.float32, copy=False)
    got_every: _Block = (scores, ctx_seen[prefix * n + item], len(part), prefix, item, where)
    if not len(rows):
        return got_every, None
    # new items only: each component's top candidates among the items such a list may show
    # (cut from the entries above, a shopper with a long history kept few: most of each top was seen)
    sub = [part[r] for r in rows.tolist()]
    place = np.full(len(part), -1, dtype=np.int64)
    place[rows] = np.arange(len(rows))
    owner = seen_flat // max(n, 1)
    mine = place[owner] >= 0
    seen_new = place[owner[mine]] * n + seen_flat[mine] % max(n, 1)  # the seen cells of the copied rows
    raw_new = [masked_raw(raw.pop(0), rows, seen_new) for _ in names]  # each block matrix freed once copied
    prefix_n, item_n, where_n, scaled_n = _candidates(raw_new, sub, n_cand)
    new_scores = np.stack(scaled_n).astype(np.float32, copy=False)
    return got_every, (new_scores, np.zeros(len(prefix_n), dtype=bool), len(rows), prefix_n, item_n, where_n)


def masked_raw(raw: Raw, rows: IntArray, seen: IntArray) -> Raw:
    """:func:`masked_rows` of a matrix or of its entries."""
    return raw.masked_rows(rows, seen) if isinstance(raw, EntryScores) else masked_rows(raw, rows, seen)


def masked_rows(raw: npt.NDArray[np.float32], rows: IntArray, seen: IntArray) -> npt.NDArray[np.float32]:
    """A copy of ``raw``'s ``rows`` with their ``seen`` cells (flat indices in the copy) at
    ``-inf``: scaled over their unseen items (``component_scores(..., exclude_seen=True)`` row by
    row), seen items neither set the scale nor score."""
    out = raw[rows]
    out.reshape(-1)[seen] = -np.inf
    return out
