"""Per-store hybrid weights, learned at fit time on a time-ordered validation slice.

The store's own most recent sessions are held out (a global time cut, the protocol of Ludewig &
Jannach, 2018), the hybrid's components are fitted on everything earlier, and every validation
session prefix asks for the next item. Component weights and the tail penalty are then picked
by the coordinate ascent of :func:`shelfwise.recommend.evaluate.tune_weights`, twice: once
for NDCG@k with repeats counted as hits (the weights used when seen items may be shown), once
for NDCG@k over new items only with seen items excluded (``HybridConfig.new_weights``, used
under ``exclude_seen``). Scores are cached once per prefix on the union of each component's top
candidates, so a trial costs a few vector products.

When the slice is too small to tell weights apart (fewer than ``min_cases`` prefixes of either
kind), the defaults stay and the report says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import Context
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
    :func:`reliably_better`; ``refit_iterations``: ALS sweeps of the final fit on all rows,
    started from the factors tuning fitted on the earlier rows (0 = the full ``ALSConfig.iterations``
    from random factors)."""

    enabled: bool = True
    fraction: float = 0.1
    max_sessions: int = 2000
    min_cases: int = 100
    k: int = 20
    candidates: int = 100
    max_cases: int = 5000
    grid: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
    penalties: tuple[float, ...] = (0.0, 0.1, 0.25)
    z: float = 2.0  # tuned weights replace the defaults only when better by this many standard errors
    refit_iterations: int = 5

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction < 1.0:
            raise ValueError("TuneConfig.fraction must be in (0, 1)")
        if min(self.max_sessions, self.min_cases, self.k, self.candidates) < 1 or not self.grid or not self.penalties:
            raise ValueError("TuneConfig: sizes must be >= 1 and grids non-empty")
        if self.refit_iterations < 0:
            raise ValueError("TuneConfig.refit_iterations must be >= 0")


@dataclass(frozen=True)
class Case:
    """One validation prefix: what was known (``ctx``), the next item, and its validation session."""

    ctx: Context
    truth: int
    session: int

    @property
    def new(self) -> bool:
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


def user_context(train: Interactions) -> Mapping[int, tuple[IntArray, FloatArray]]:
    """Each training user's (items, weights) history, time-ordered."""
    out: dict[int, tuple[IntArray, FloatArray]] = {}
    order = np.lexsort((train.timestamp, train.user))
    u = train.user[order]
    bounds = np.flatnonzero(np.diff(u)) + 1
    for idx in np.split(order, bounds):
        if len(idx):
            out[int(train.user[idx[0]])] = (train.item[idx], train.weight[idx])
    return out


def prefix_cases(train: Interactions, held: Interactions, tail: int = 50) -> list[Case]:
    """Every prefix of every held-out session (with the user's earlier history when known) and its next item."""
    hist = user_context(train)
    cases: list[Case] = []
    order = np.lexsort((np.arange(len(held)), held.timestamp, held.session))
    sess = held.session[order]
    for k, idx in enumerate(np.split(order, np.flatnonzero(np.diff(sess)) + 1)):
        if len(idx) < 2:
            continue
        items, weights = held.item[idx], held.weight[idx]
        h_items, h_w = hist.get(int(held.user[idx[0]]), (np.zeros(0, np.int64), np.zeros(0, np.float32)))
        user = held.users[int(held.user[idx[0]])] if len(held.users) else None
        for t in range(1, len(idx)):
            it = np.concatenate([h_items, items[:t]]).astype(np.int64)
            w = np.concatenate([h_w, weights[:t]]).astype(np.float32)
            uniq, inv = np.unique(it, return_inverse=True)
            ctx = Context(uniq, np.bincount(inv, weights=w).astype(np.float32), user, sequence=it[-tail:])
            cases.append(Case(ctx, int(items[t]), k))
    return cases


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
        """Per-prefix NDCG@k of the fused ranking (one relevant item), all prefixes at once."""
        fused = w @ self.scores
        if penalty > 0:
            fused *= self.damping(penalty)
        tv = fused[self.truth]
        better = fused > np.repeat(tv, np.diff(self.start))
        if exclude_seen:
            better &= ~self.seen
        rank = np.add.reduceat(better.view(np.int8), self.start[:-1], dtype=np.int64)
        hit = (tv > 0) & (rank < k)
        return np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0).astype(np.float32)


def _top_positive(d: npt.NDArray[np.float32], n_cand: int) -> npt.NDArray[np.bool_]:
    """Each row's positive scores down to its ``n_cand``-th highest (ties there all kept; every
    positive when fewer), as a mask."""
    positive = d > 0
    many = np.flatnonzero(positive.sum(axis=1) > n_cand)  # other rows: every positive is a top one
    if len(many):
        sub = d[many]
        positive[many] &= sub >= kth_largest(sub, n_cand)[:, None]
    return positive


def kth_largest(d: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
    """Each row's ``k``-th largest positive value (rows holding at least ``k`` positives).

    Cut into ``k`` slices, a row's slice maxima are ``k`` of its values, so their minimum is a
    lower bound of the answer: only values above it (a few hundred) are partitioned, not the row."""
    b, n = d.shape
    width = -(-n // k)
    padded = np.full((b, k * width), -np.inf, dtype=np.float32)
    padded[:, :n] = d
    bound = np.maximum(padded.reshape(b, k, width).max(axis=2).min(axis=1), 0.0)
    out = np.empty(b, dtype=np.float32)
    for r in range(b):
        v = d[r][(d[r] >= bound[r]) & (d[r] > 0)]
        out[r] = np.partition(v, len(v) - k)[len(v) - k]
    return out


def _candidates(
    dense: Sequence[npt.NDArray[np.float32]], cases: Sequence[Case], n_cand: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Entries cached for a block of prefixes, from each component's scaled (prefixes x items)
    scores: the union of every component's top ``n_cand`` positive scores, and the truth. Returns
    (prefix, item) of each entry, prefix-major and items ascending, and each prefix's truth
    position among its entries."""
    b, n = dense[0].shape
    rows = np.arange(b)[:, None]
    truth = np.array([c.truth for c in cases], dtype=np.int64)
    pick = np.zeros((b, n), dtype=bool)
    for d in dense:
        if b > 1 and (d == d[0]).all():  # the same scores for every prefix (popularity): one top
            pick |= _top_positive(d[:1], n_cand)
        else:
            pick |= _top_positive(d, n_cand)
    pick[rows[:, 0], truth] = True
    prefix, item = np.nonzero(pick)  # row-major: (prefix, item) keys ascending
    first = np.searchsorted(prefix, np.arange(b))
    where = np.searchsorted(prefix * n + item, np.arange(b) * n + truth) - first
    return prefix, item, where


def _cache(
    hybrid: HybridRecommender, cases: Sequence[Case], names: Sequence[str], n_cand: int, cells: int = 1 << 21
) -> _Pool:
    """Each prefix's candidate scores, scaled as ``recommend()`` fuses them; components score
    blocks of about ``cells / n_items`` prefixes at once (``HybridRecommender.component_scores_many``)."""
    blocks, seen, counts, sizes, truth, items = [], [], [], [], [], []
    log_counts = np.log1p(hybrid.counts).astype(np.float32)
    step = max(1, cells // max(hybrid.n_items, 1))
    offset = 0
    for a in range(0, len(cases), step):
        part = cases[a : a + step]
        scored = hybrid.component_scores_many([c.ctx for c in part], names)
        dense = [scored[n] for n in names]
        prefix, item, where = _candidates(dense, part, n_cand)
        ctx_seen = np.zeros(dense[0].shape, dtype=bool)
        for j, c in enumerate(part):
            ctx_seen[j, c.ctx.items] = True
        size = np.bincount(prefix, minlength=len(part))
        truth.append(offset + np.concatenate([[0], np.cumsum(size)[:-1]]) + where)
        offset += len(item)
        blocks.append(np.stack([d[prefix, item] for d in dense]).astype(np.float32))
        seen.append(ctx_seen[prefix, item])
        counts.append(log_counts[item])
        items.append(item)
        sizes.append(size)
    start = np.concatenate([[0], np.cumsum(np.concatenate(sizes))]).astype(np.int64) if sizes else np.zeros(1, np.int64)
    return _Pool(
        np.concatenate(blocks, axis=1) if blocks else np.zeros((len(names), 0), np.float32),
        np.concatenate(counts) if counts else np.zeros(0, np.float32),
        np.concatenate(seen) if seen else np.zeros(0, bool),
        start,
        np.concatenate(truth).astype(np.int64) if truth else np.zeros(0, np.int64),
        np.repeat(np.arange(len(cases)), np.diff(start)),
        np.concatenate(items).astype(np.int64) if items else np.zeros(0, np.int64),
    )


def tune(hybrid: HybridRecommender, cases: Sequence[Case], config: TuneConfig) -> TuningReport:
    """Pick ``hybrid``'s weights and penalty on ``cases`` (components already fitted on the earlier rows)."""
    rep = TuningReport(sessions=len({c.session for c in cases}))
    rep.repeat_cases = len(cases)
    rep.new_cases = sum(c.new for c in cases)
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
    if len(cases) > config.max_cases:  # a random sample bounds the fit time on big stores
        pick = np.sort(np.random.default_rng(0).choice(len(cases), config.max_cases, replace=False))
        cases = [cases[i] for i in pick]
    pool = _cache(hybrid, cases, names, config.candidates)
    pools = {False: pool, True: pool.select(np.array([c.new for c in cases], dtype=bool), drop_seen=True)}

    def per_case(new: bool) -> _PerCase:
        def run(weights: Mapping[str, float], penalty: float) -> FloatArray:
            w = np.array([weights.get(n, 0.0) for n in names], dtype=np.float32)
            return pools[new].ndcg(w, penalty, config.k, exclude_seen=new)

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
