"""The candidate pool fit-time tuning scores weights on (:mod:`shelfwise.recommend.autotune`).

Each validation prefix keeps the union of every component's top candidates (and its next item),
each component's score scaled as ``HybridRecommender.recommend`` scales it; a trial of the
coordinate ascent is then a few vector products over the pool. Prefixes are scored in blocks,
every component's ``score_many`` at once, with the same floating-point operations as scoring
one prefix at a time (tests/recommend/test_recommend_fast_tuning.py); two blocks at a time, in
threads, gathered in block order (the same pool as one thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import minmax_rows
from shelfwise.results import FloatArray, IntArray

if TYPE_CHECKING:
    from shelfwise.recommend.autotune import Case
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
        gain = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))])  # gain[r]: ranks below r
        mean = (gain[np.minimum(rank + ties, k)] - gain[np.minimum(rank, k)]) / np.maximum(ties, 1)
        return np.where(tv > 0, mean, 0.0).astype(np.float32)


def _top_positive(d: npt.NDArray[np.float32], n_cand: int) -> IntArray:
    """Flat indices (ascending) of each row's positive scores down to its ``n_cand``-th highest
    (ties there all kept; every positive when fewer).

    Cut into ``g = 4 * n_cand`` groups (column ``j`` in group ``j mod g``), a row's group maxima
    are ``g`` of its values, so the ``n_cand``-th highest of them bounds its ``n_cand``-th highest
    value from below: one pass finds the values above the bound (about ``n_cand`` to a few times
    that a row), and only those are partitioned."""
    b, n = d.shape
    if not d.size:
        return np.zeros(0, dtype=np.int64)
    bound = np.zeros(b, dtype=np.float32)
    g = min(4 * n_cand, n)
    if g >= n_cand:  # else no bound: every positive is looked at
        w = n // g
        maxima = d[:, : w * g].reshape(b, w, g).max(axis=1)  # element-wise over w column blocks
        if n > w * g:  # the last columns join the first groups
            np.maximum(maxima[:, : n - w * g], d[:, w * g :], out=maxima[:, : n - w * g])
        if maxima.max() <= 0:  # every column is in a group: nothing positive (e.g. no evidence here)
            return np.zeros(0, dtype=np.int64)
        bound = np.partition(maxima, g - n_cand, axis=1)[:, g - n_cand]
    elif d.max() <= 0:
        return np.zeros(0, dtype=np.int64)
    tiny = np.nextafter(np.float32(0), np.float32(1))
    flat = np.flatnonzero(d >= np.maximum(bound, tiny)[:, None])  # positive and above the bound
    r = flat // n
    size = np.bincount(r, minlength=b)
    many = size > n_cand
    if not many.any():
        return flat
    v = d.reshape(-1)[flat]
    at = np.arange(len(r)) - np.repeat(np.cumsum(size) - size, size)
    in_many = many[r]
    place = np.cumsum(many) - 1  # each such row's place among them
    top = np.full((int(many.sum()), int(size.max())), -np.inf, dtype=np.float32)
    top[place[r[in_many]], at[in_many]] = v[in_many]
    kth = np.full(b, -np.inf, dtype=np.float32)
    kth[many] = -np.partition(-top, n_cand - 1, axis=1)[:, n_cand - 1]
    return flat[v >= kth[r]]


def kth_largest(d: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
    """Each row's ``k``-th largest positive value (rows holding at least ``k`` positives): the
    lowest of :func:`_top_positive`'s values in each row."""
    flat = _top_positive(d, k)
    out = np.full(d.shape[0], np.inf, dtype=np.float32)
    np.minimum.at(out, flat // d.shape[1], d.reshape(-1)[flat])
    return out


def _candidates(
    dense: Sequence[npt.NDArray[np.float32]], cases: Sequence[Case], n_cand: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Entries cached for a block of prefixes, from each component's scaled (prefixes x items)
    scores: the union of every component's top ``n_cand`` positive scores, and the truth. Returns
    (prefix, item) of each entry, prefix-major and items ascending, and each prefix's truth
    position among its entries."""
    b, n = dense[0].shape
    truth = np.array([c.truth for c in cases], dtype=np.int64)
    pick = np.zeros((b, n), dtype=bool)
    flat_pick = pick.reshape(-1)
    for d in dense:
        if b > 1 and np.array_equal(d[1], d[0]) and (d == d[0]).all():  # the same for every prefix (popularity)
            pick[:, _top_positive(d[:1], n_cand)] = True
        else:
            flat_pick[_top_positive(d, n_cand)] = True
    pick[np.arange(b), truth] = True
    prefix, item = np.divmod(np.flatnonzero(pick), n)  # row-major: (prefix, item) keys ascending
    return prefix, item, _truth_at(prefix, item, truth, n)


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
    blocks of about ``cells / n_items`` prefixes at once (``HybridRecommender.raw_scores_many``)."""
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
    items a new-items list may show (``HybridRecommender.scale``: seen items masked before each
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
    prefixes scaled over unseen items. Each component's scores are scaled in place once the
    new-item prefixes' rows are copied out."""
    n = hybrid.n_items
    raw = hybrid.raw_scores_many([c.ctx for c in part], names)
    lens = [len(c.ctx) for c in part]
    seen_flat = np.repeat(np.arange(len(part), dtype=np.int64) * n, lens)
    if len(seen_flat):
        seen_flat += np.concatenate([c.ctx.items for c in part]).astype(np.int64)
    ctx_seen = np.zeros(len(part) * n, dtype=bool)
    ctx_seen[seen_flat] = True
    is_new = np.array([c.new for c in part], dtype=bool)
    rows = np.flatnonzero(is_new) if unseen else np.zeros(0, np.int64)
    raw_new = {name: raw[name][rows] for name in names} if len(rows) else {}  # copies, before scaling in place
    dense = [hybrid.scale(raw[name], overwrite=True) for name in names]
    prefix, item, where = _candidates(dense, part, n_cand)
    flat = prefix * n + item
    scores = np.stack([d.reshape(-1)[flat] for d in dense]).astype(np.float32, copy=False)
    got_every: _Block = (scores, ctx_seen[flat], len(part), prefix, item, where)
    if not len(rows):
        return got_every, None
    del dense, raw
    # new items only: each component's top candidates among the items such a list may show
    # (cut from the entries above, a shopper with a long history kept few: most of each top was seen)
    sub = [part[r] for r in rows.tolist()]
    place = np.full(len(part), -1, dtype=np.int64)
    place[rows] = np.arange(len(rows))
    owner = seen_flat // max(n, 1)
    mine = place[owner] >= 0
    seen_new = place[owner[mine]] * n + seen_flat[mine] % max(n, 1)  # the seen cells of the copied rows
    dense_new = [_scale_unseen(raw_new.pop(name), seen_new) for name in names]  # seen items: 0
    prefix_n, item_n, where_n = _candidates(dense_new, sub, n_cand)
    flat_new = prefix_n * n + item_n
    new_scores = np.stack([d.reshape(-1)[flat_new] for d in dense_new]).astype(np.float32, copy=False)
    return got_every, (new_scores, np.zeros(len(flat_new), dtype=bool), len(rows), prefix_n, item_n, where_n)


def _scale_unseen(raw: npt.NDArray[np.float32], seen: IntArray) -> npt.NDArray[np.float32]:
    """Rows of ``raw`` scaled over their unseen items (``component_scores(..., exclude_seen=True)``
    row by row); ``raw`` is a copy, its ``seen`` cells (flat indices) overwritten and then scaled
    in place."""
    raw.reshape(-1)[seen] = -np.inf
    return minmax_rows(raw, overwrite=True)  # evidence on seen items only (repeat): all 0
