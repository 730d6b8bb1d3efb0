"""Per-store hybrid weights, learned at fit time on a time-ordered validation slice.

The store's own most recent sessions are held out (a global time cut, the protocol of Ludewig &
Jannach, 2018), the hybrid's components are fitted on everything earlier, and every validation
session prefix asks for the next item. Component weights and the tail penalty are then picked
by the coordinate ascent of :func:`shelfwise.recommend.evaluate.tune_weights`, twice: once
for NDCG@k with repeats counted as hits (the weights used when seen items may be shown), once
for NDCG@k over new items only with seen items excluded (``HybridConfig.new_weights``, used
under ``exclude_seen``). Scores are cached once per prefix on the union of each component's top
candidates, so a trial costs a few vector products. A truth tied with other items counts at the
mean NDCG of its places among them (a top-k list orders ties arbitrarily). On a small store,
earlier validation slices can be added (``TuneConfig.folds``, rolling-origin validation).

When the slice is too small to tell weights apart (fewer than ``min_cases`` prefixes of either
kind), the defaults stay and the report says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import Context, minmax_rows_at
from shelfwise.recommend.evaluate import tune_weights
from shelfwise.recommend.interactions import Interactions
from shelfwise.results import FloatArray, IntArray

if TYPE_CHECKING:
    from shelfwise.recommend.hybrid import HybridRecommender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuneConfig:
    """``fraction``: share of the most recent sessions held out; ``max_sessions`` caps them (the
    latest kept); ``min_cases``: fewer prefixes of either protocol keeps the defaults;
    ``max_cases``: prefixes scored at most (a random sample beyond); ``z``: see
    :func:`reliably_better`; ``folds`` / ``min_new_cases``: earlier slices are added (up to
    ``folds`` in all) while the slices hold fewer new-item prefixes (see :func:`validation_folds`);
    ``candidates``: each component's top items per prefix that enter the trial pool (50: the same
    tuned weights as 100 on YOOCHOOSE and Diginetica; YOOCHOOSE fit 5.6 -> 5.1 s, sessions_quiet.json);
    ``refit_iterations``: ALS sweeps of the final fit on all rows,
    started from the factors tuning fitted on the earlier rows (0 = the full ``ALSConfig.iterations``
    from random factors); ``refit_epochs``: likewise SASRec's epochs when it is weighted (0 = a
    full second training; with weight 0 after tuning it is not trained again at all)."""

    enabled: bool = True
    fraction: float = 0.1
    max_sessions: int = 2000
    min_cases: int = 100
    k: int = 20
    candidates: int = 50
    max_cases: int = 5000
    grid: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
    penalties: tuple[float, ...] = (0.0, 0.1, 0.25)
    z: float = 2.0  # tuned weights replace the defaults only when better by this many standard errors
    refit_iterations: int = 5
    refit_epochs: int = 10
    folds: int = 1
    min_new_cases: int = 2000

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction < 1.0:
            raise ValueError("TuneConfig.fraction must be in (0, 1)")
        if min(self.max_sessions, self.min_cases, self.k, self.candidates) < 1 or not self.grid or not self.penalties:
            raise ValueError("TuneConfig: sizes must be >= 1 and grids non-empty")
        if self.refit_iterations < 0 or self.refit_epochs < 0:
            raise ValueError("TuneConfig.refit_iterations and refit_epochs must be >= 0")
        if self.folds < 1:
            raise ValueError("TuneConfig.folds must be >= 1")


@dataclass(frozen=True)
class Case:
    """One validation prefix: what was known (``ctx``), the next item, and its validation session.
    ``is_new``: whether the next item is new to ``ctx`` when already known (None: work it out)."""

    ctx: Context
    truth: int
    session: int
    is_new: bool | None = field(default=None, compare=False, repr=False)

    @property
    def new(self) -> bool:
        if self.is_new is not None:
            return self.is_new
        return not bool(np.any(self.ctx.items == self.truth))


@dataclass
class TuningReport:
    """What fit-time tuning did; saved in ``hybrid.json`` as ``tuning``."""

    status: str = "not run"  # "tuned" | "defaults" | "not run"
    reason: str = ""
    sessions: int = 0
    repeat_cases: int = 0
    new_cases: int = 0
    default_score: float | None = None  # NDCG@k, repeats counted
    tuned_score: float | None = None
    default_new_score: float | None = None  # NDCG@k, new items only
    tuned_new_score: float | None = None
    weights: dict[str, float] = field(default_factory=dict)
    penalty: float = 0.0
    new_weights: dict[str, float] = field(default_factory=dict)
    new_penalty: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TuningReport:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def validation_split(data: Interactions, fraction: float, max_sessions: int) -> tuple[Interactions, Interactions]:
    """(earlier rows, the most recent ``fraction`` of sessions by start time, at most ``max_sessions``).

    Training keeps only rows before the first held-out session starts: nothing after the cut leaks.
    """
    if not len(data):
        return data, data
    sess, inv = np.unique(data.session, return_inverse=True)
    start = np.full(len(sess), np.inf)
    np.minimum.at(start, inv, data.timestamp)
    n_val = min(int(len(sess) * fraction), max_sessions)
    if n_val < 1:
        return data, data.take(np.zeros(len(data), dtype=bool))
    order = np.argsort(start, kind="stable")
    held = np.zeros(len(sess), dtype=bool)
    held[order[-n_val:]] = True
    cut = float(start[order[-n_val]])
    return data.take((data.timestamp < cut) & ~held[inv]), data.take(held[inv])


def user_context(train: Interactions) -> Mapping[int | str, tuple[IntArray, FloatArray]]:
    """Each training user's (items, weights) history, time-ordered, keyed by user id (by user
    index when ``train`` names no users)."""
    out: dict[int | str, tuple[IntArray, FloatArray]] = {}
    order = np.lexsort((train.timestamp, train.user))
    u = train.user[order]
    bounds = np.flatnonzero(np.diff(u)) + 1
    for idx in np.split(order, bounds):
        if len(idx):
            out[_user_key(train, int(train.user[idx[0]]))] = (train.item[idx], train.weight[idx])
    return out


def _user_key(data: Interactions, index: int) -> int | str:
    """User ``index`` of ``data`` as its id: two ``Interactions`` built from different logs number
    their users differently, so only ids match a held-out session to its shopper's history."""
    return data.users[index] if len(data.users) else index


def prefix_cases(train: Interactions, held: Interactions, tail: int = 50) -> list[Case]:
    """Every prefix of every held-out session (with the user's earlier history in ``train`` when
    known, matched by user id) and its next item.

    A prefix's context holds its distinct items (ascending) with their summed weights (float64
    sums, history first then the session in time order, then float32) and its last ``tail``
    events in order. Prefixes of sessions with no history are summed all at once (one sort of
    (prefix, item) keys) instead of one ``np.unique`` per prefix."""
    order = np.lexsort((np.arange(len(held)), held.timestamp, held.session))
    groups = np.split(order, np.flatnonzero(np.diff(held.session[order])) + 1) if len(held) else []
    by_user = np.lexsort((train.timestamp, train.user))
    sorted_user = train.user[by_user]
    index: dict[int | str, int] = (
        {uid: i for i, uid in enumerate(train.users)}
        if len(train.users)
        else {u: u for u in np.unique(train.user).tolist()}
    )
    sessions: list[tuple[int, IntArray, IntArray, str | None]] = []  # (session, history rows, its rows, user)
    for k, idx in enumerate(groups):
        if len(idx) < 2:
            continue
        u = int(held.user[idx[0]])
        t = index.get(_user_key(held, u))
        rows = np.zeros(0, np.int64)
        if t is not None:
            rows = by_user[np.searchsorted(sorted_user, t) : np.searchsorted(sorted_user, t, side="right")]
        sessions.append((k, rows, idx, _user_id(held, u)))
    fresh = _fresh_contexts(held, [idx for _, rows, idx, _ in sessions if not len(rows)])
    cases: list[Case] = []
    for k, rows, idx, user in sessions:
        items, weights = held.item[idx].astype(np.int64), held.weight[idx].astype(np.float32)
        if not len(rows):
            for t in range(1, len(idx)):
                ctx_items, sums, is_new = next(fresh)
                seq = items[max(0, t - tail) : t]
                cases.append(Case(Context(ctx_items, sums, user, sequence=seq), int(items[t]), k, is_new))
            continue
        h_items, h_w = train.item[rows].astype(np.int64), train.weight[rows].astype(np.float32)
        for t in range(1, len(idx)):
            it = np.concatenate([h_items, items[:t]])
            w = np.concatenate([h_w, weights[:t]])
            uniq, inv = np.unique(it, return_inverse=True)
            ctx = Context(uniq, np.bincount(inv, weights=w).astype(np.float32), user, sequence=it[-tail:])
            cases.append(Case(ctx, int(items[t]), k))
    return cases


def _fresh_contexts(held: Interactions, sessions: Sequence[IntArray]) -> Iterator[tuple[IntArray, FloatArray, bool]]:
    """(distinct items, summed weights, next item new?) of each prefix of each session (its rows of
    ``held`` in time order), in order: every prefix's (prefix, item) keys sorted at once."""
    n = max(held.n_items, 1)
    m = np.array([len(idx) - 1 for idx in sessions], dtype=np.int64)  # prefixes per session
    if not m.sum():
        return
    total = int(m.sum())
    rows: list[IntArray] = []
    for idx, k in zip(sessions, m.tolist(), strict=True):
        tri = np.arange(k)[None, :] <= np.arange(k)[:, None]  # prefix t holds the first t + 1 events
        rows.append(np.broadcast_to(idx[:k], (k, k))[tri])
    case = np.repeat(np.arange(total, dtype=np.int64), np.concatenate([np.arange(1, k + 1) for k in m.tolist()]))
    entry = np.concatenate(rows)
    keys, inv = np.unique(case * n + held.item[entry].astype(np.int64), return_inverse=True)
    sums = np.bincount(inv, weights=held.weight[entry].astype(np.float32)).astype(np.float32)  # in event order
    bounds = np.searchsorted(keys // n, np.arange(total + 1)).tolist()
    truth = np.concatenate([held.item[idx[1:]].astype(np.int64) for idx in sessions])
    want = np.arange(total, dtype=np.int64) * n + truth
    found = keys[np.minimum(np.searchsorted(keys, want), len(keys) - 1)] == want
    items = keys % n
    for j, new in enumerate((~found).tolist()):
        yield items[bounds[j] : bounds[j + 1]], sums[bounds[j] : bounds[j + 1]], new


def _user_id(data: Interactions, index: int) -> str | None:
    return data.users[index] if len(data.users) else None


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
        rank = np.add.reduceat(better.view(np.int8), self.start[:-1], dtype=np.int64)
        ties = np.add.reduceat(tied.view(np.int8), self.start[:-1], dtype=np.int64)  # the truth among them
        gain = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(k) + 2.0))])  # gain[r]: ranks below r
        mean = (gain[np.minimum(rank + ties, k)] - gain[np.minimum(rank, k)]) / np.maximum(ties, 1)
        return np.where(tv > 0, mean, 0.0).astype(np.float32)


def _top_positive(d: npt.NDArray[np.float32], n_cand: int) -> IntArray:
    """Flat indices (ascending) of each row's positive scores down to its ``n_cand``-th highest
    (ties there all kept; every positive when fewer).

    Cut into ``n_cand`` slices, a row's slice maxima are ``n_cand`` of its values, so their
    minimum bounds its ``n_cand``-th highest from below: one pass finds the values above the
    bound (a few hundred a row), and only those are partitioned."""
    b, n = d.shape
    bound = np.zeros(b, dtype=np.float32)
    starts = np.arange(0, n, max(1, -(-n // n_cand)))
    if len(starts) >= n_cand:  # else no bound: every positive is looked at
        bound = np.maximum.reduceat(d, starts, axis=1).min(axis=1)
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
    blocks of about ``cells / n_items`` prefixes at once (``HybridRecommender.component_scores_many``)."""
    return _caches(hybrid, cases, names, n_cand, cells)[0]


def _caches(
    hybrid: HybridRecommender,
    cases: Sequence[Case],
    names: Sequence[str],
    n_cand: int,
    cells: int = 1 << 21,
    unseen: bool = False,
) -> tuple[_Pool, _Pool | None]:
    """:func:`_cache`, and with ``unseen`` also the new-item prefixes' pool scaled over the
    items a new-items list may show (``HybridRecommender.scale``: seen items masked before each
    component's scaling, so they do not set its maximum): the same entries less the seen ones.
    Each block of prefixes is scored once for both."""
    log_counts = np.log1p(hybrid.counts).astype(np.float32)
    every, new = _Entries(log_counts), _Entries(log_counts)
    step = max(1, cells // max(hybrid.n_items, 1))
    for a in range(0, len(cases), step):
        got_every, got_new = _score_block(hybrid, cases[a : a + step], names, n_cand, unseen)
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
    prefixes scaled over unseen items."""
    n = hybrid.n_items
    raw = hybrid.raw_scores_many([c.ctx for c in part], names)
    ctx_seen = np.zeros((len(part), n), dtype=bool)
    for j, c in enumerate(part):
        ctx_seen[j, c.ctx.items] = True
    dense = [hybrid.scale(raw[name]) for name in names]
    prefix, item, where = _candidates(dense, part, n_cand)
    flat = prefix * n + item
    scores = np.stack([d.reshape(-1)[flat] for d in dense]).astype(np.float32)
    got_every: _Block = (scores, ctx_seen.reshape(-1)[flat], len(part), prefix, item, where)
    is_new = np.array([c.new for c in part], dtype=bool)
    if not (unseen and is_new.any()):
        return got_every, None
    # the same entries less the seen ones (a new truth is unseen)
    rows = np.flatnonzero(is_new)
    keep = is_new[prefix] & ~ctx_seen.reshape(-1)[flat]
    seen = ctx_seen[rows]
    at = (np.cumsum(is_new) - 1)[prefix[keep]], item[keep]
    truth = np.array([part[r].truth for r in rows.tolist()], dtype=np.int64)
    flat_new = at[0] * n + at[1]
    new_scores = np.stack([_unseen_scaled(raw[name][rows], seen, flat_new) for name in names]).astype(np.float32)
    return got_every, (new_scores, np.zeros(len(flat_new), dtype=bool), len(rows), *at, _truth_at(*at, truth, n))


def _unseen_scaled(raw: npt.NDArray[np.float32], seen: npt.NDArray[np.bool_], flat: IntArray) -> FloatArray:
    """``HybridRecommender.scale(raw, seen)`` at the entries ``flat`` (``raw`` is a copy: its
    seen entries are overwritten)."""
    raw[seen] = -np.inf
    return minmax_rows_at(raw, flat)


def validation_folds(data: Interactions, config: TuneConfig) -> list[tuple[Interactions, list[Case]]]:
    """(earlier rows, prefixes of the held-out sessions) of each validation slice, latest first.

    The latest ``fraction`` of sessions is one slice; while the slices hold fewer than
    ``config.min_new_cases`` new-item prefixes (a small store), the ``fraction`` of sessions
    before it is another, up to ``config.folds`` slices (rolling-origin validation: each slice's
    components see only rows before it)."""
    out: list[tuple[Interactions, list[Case]]] = []
    rest, new = data, 0
    for _ in range(config.folds):
        train, held = validation_split(rest, config.fraction, config.max_sessions)
        if not len(held) or len(train) == len(rest):
            break
        cases = prefix_cases(train, held)
        out.append((train, cases))
        new += sum(c.new for c in cases)
        if new >= config.min_new_cases:
            break
        rest = train
    return out


def tune_folds(
    hybrid: HybridRecommender,
    folds: Sequence[tuple[Interactions | None, Sequence[Case]]],
    config: TuneConfig,
    fit: Callable[[Interactions], None],
) -> TuningReport:
    """:func:`tune` on the prefixes of several validation slices (latest first, as
    :func:`validation_folds` gives them): for each slice, oldest first, ``fit(rows)`` fits the
    components on its earlier rows (None: already fitted) and its prefixes are scored; weights
    are then picked on all prefixes at once. The latest slice's fit is the one left in place."""
    every = [c for _, cs in folds for c in cs]
    rep = TuningReport(sessions=sum(len({c.session for c in cs}) for _, cs in folds))
    rep.repeat_cases = len(every)
    rep.new_cases = sum(c.new for c in every)
    start = dict(hybrid.config.weights)
    new_start, new_pen = hybrid.config.fusion(True)
    rep.weights, rep.penalty = start, hybrid.config.popularity_penalty
    rep.new_weights, rep.new_penalty = new_start, new_pen
    if min(rep.repeat_cases, rep.new_cases) < config.min_cases:
        rep.status = "defaults"
        rep.reason = (
            f"validation slice too small: {rep.repeat_cases} next-item prefixes ({rep.new_cases} new items) "
            f"from {rep.sessions} sessions, fewer than {config.min_cases}; default weights kept"
        )
        return rep
    names = list(dict.fromkeys(n for n in (*start, *new_start) if n in hybrid.components))
    rng = np.random.default_rng(0)
    share = min(1.0, config.max_cases / len(every))  # a random sample bounds the fit time on big stores
    parts: list[tuple[_Pool, _Pool | None]] = []
    cases: list[Case] = []
    for train, fold in reversed(folds):
        if share < 1.0:
            pick = np.sort(rng.choice(len(fold), round(share * len(fold)), replace=False))
            fold = [fold[i] for i in pick]
        if train is not None:
            fit(train)
        parts.append(_caches(hybrid, fold, names, config.candidates, unseen=hybrid.config.scale_unseen))
        cases.extend(fold)
    pool = _concat([p for p, _ in parts])
    is_new = np.array([c.new for c in cases], dtype=bool)
    unseen = [u for _, u in parts if u is not None]
    pools = {False: pool, True: _concat(unseen) if unseen else pool.select(is_new, drop_seen=True)}

    def per_case(new: bool) -> _PerCase:
        seen: dict[tuple[bytes, float], FloatArray] = {}  # the ascent revisits weights: each is scored once

        def run(weights: Mapping[str, float], penalty: float) -> FloatArray:
            w = np.array([weights.get(n, 0.0) for n in names], dtype=np.float32)
            key = (w.tobytes(), float(penalty))
            if key not in seen:
                seen[key] = pools[new].ndcg(w, penalty, config.k, exclude_seen=new)
            return seen[key]

        return run

    kept = []
    for new, w0, p0 in ((False, start, rep.penalty), (True, new_start, new_pen)):
        f = per_case(new)
        base = f(w0, p0)

        def mean_ndcg(weights: Mapping[str, float], penalty: float, f: _PerCase = f) -> float:
            return float(f(weights, penalty).mean())

        # start the ascent from the defaults or from one component alone, whichever is best
        starts = [dict(w0), *({n: float(n == m) for n in w0} for m in w0 if m in names)]
        first = max(starts, key=lambda st: mean_ndcg(st, p0))
        w, p, score = tune_weights(mean_ndcg, first, grid=config.grid, penalties=config.penalties, rounds=3)
        if not reliably_better(f(w, p), base, config.z):
            w, p, score = dict(w0), p0, float(base.mean())
            kept.append("new items" if new else "repeats")
        if new:
            rep.default_new_score, rep.tuned_new_score, rep.new_weights, rep.new_penalty = (
                float(base.mean()),
                score,
                w,
                p,
            )
        else:
            rep.default_score, rep.tuned_score, rep.weights, rep.penalty = float(base.mean()), score, w, p
    rep.status = "tuned"
    rep.reason = (
        f"tuned on {rep.repeat_cases} prefixes ({rep.new_cases} new items) of the {rep.sessions} latest sessions"
    )
    if kept:
        rep.reason += f"; defaults kept for {' and '.join(kept)} (no gain beyond {config.z:g} standard errors)"
    return rep


_PerCase = Callable[[Mapping[str, float], float], FloatArray]


def reliably_better(tuned: FloatArray, base: FloatArray, z: float) -> bool:
    """Paired test on per-prefix NDCG: mean gain above ``z`` standard errors (coordinate ascent on a
    small slice overfits its noise; such gains do not carry over to the next sessions)."""
    d = tuned.astype(np.float64) - base.astype(np.float64)
    if len(d) < 2 or float(d.mean()) <= 0:
        return False
    se = float(d.std(ddof=1)) / np.sqrt(len(d))
    return float(d.mean()) > z * se
