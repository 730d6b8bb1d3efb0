"""Weights for a shopper between sessions: learned on next baskets at fit time, used when no session is live.

Fit-time tuning (:mod:`shelfwise.recommend.autotune`) picks the hybrid's weights on next-item
prefixes inside held-out sessions: the session's own items are in the context, where session kNN,
last-clicks co-occurrence and sequential rules shine. A shopper asking for a personal list with no
session under way (the start of a next grocery order) has the history alone; what predicts a next
basket from a history is mostly what the shopper bought before (personal item frequency: Hu et
al., 2020, "Modeling Personalized Item Frequency Information for Next-basket Recommendation",
SIGIR), and the in-session weights read the last order's items as if they were a live session.

So the held-out slice gives a second kind of case (:func:`basket_cases`): each held-out session of
a shopper with earlier rows is a next basket, its context the history alone, as
:meth:`~shelfwise.recommend.profiles.UserProfiles.context` builds it (the shopper's earlier
held-out sessions included), its truth every item of the session. Weights are scored by NDCG@k of
the whole basket (Järvelin & Kekäläinen, 2002, graded relevance, here binary), one case per basket:
the basket is one answer, so an item ranked below another item of the same basket is no miss (one
case per basket item would count it as one). Items tied on score count at their expected gain
under a random order of the tie (McSherry & Najork, 2008, "Computing Information Retrieval
Performance Measures Efficiently in the Presence of Tied Scores"), as the next-item pool counts
its one truth. The coordinate ascent of the in-session weights
(:func:`~shelfwise.recommend.autotune.coordinate_ascent`) runs twice, repeats counted (a list that
may show bought items again) and new items only (``exclude_seen``, truth: the basket's items new to
the shopper), each started from the in-session weights of that kind, which stay, and the report says
so, unless the ascent is better by ``TuneConfig.z`` standard errors of the per-basket difference,
or when there are fewer than ``TuneConfig.min_cases`` such baskets.

The repeats search may also weigh the "baskets" component (:mod:`shelfwise.recommend.baskets`:
TIFU's order-decayed personal frequency, Hu et al., 2020), at weight 0 in the in-session weights
it starts from: the pool holds its scores under each group size of ``BasketConfig.tried``, the size
whose scores alone rank the baskets best is kept (:func:`choose_group`), and the ascent weighs
that one; the size is saved as ``HybridConfig.basket_group_size`` when the weights chosen use it.

Serving (:func:`session_live`): ``Context.live`` says whether a session is under way; for a
shopper id, it is while the shopper's latest event is at most ``HybridConfig.idle_minutes`` old
(the events loader's default session gap, 30 minutes); a session's own items
(``recommend_session``) are one. :func:`list_fusion` is the fusion a personal list is ranked by.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.autotune import Ascent, TuneConfig, TuningReport, cached_objective, coordinate_ascent
from shelfwise.recommend.base import Context, RowScale
from shelfwise.recommend.entries import EntryScores
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.profiles import history_context
from shelfwise.recommend.reasons import BASKETS
from shelfwise.recommend.tuning_pool import (
    Raw,
    dcg_prefix,
    masked_raw,
    raw_at,
    raw_scores,
    row_tops,
    tied_gain,
    top_cells,
    top_positive,
)
from shelfwise.results import FloatArray, IntArray

if TYPE_CHECKING:
    from shelfwise.recommend.hybrid import HybridRecommender


@dataclass(frozen=True)
class BasketCase:
    """A next basket: the shopper's history before it (``ctx``, ``live`` False), its distinct items
    (``truth``, ascending) and its held-out session's number."""

    ctx: Context
    truth: IntArray
    session: int

    @cached_property
    def new_truth(self) -> IntArray:
        """The basket's items the history does not hold."""
        return np.setdiff1d(self.truth, self.ctx.items, assume_unique=True)


def basket_cases(train: Interactions, held: Interactions) -> list[BasketCase]:
    """One case per held-out session whose shopper (matched by user id; by index in a log without
    ids) has earlier rows: in ``train`` or in the shopper's held-out sessions that started before it.
    Sessions in order of their start (ties: session number); a history's rows in ``train``'s then
    ``held``'s row order, as the shopper's profile would hold them."""
    if not len(held):
        return []
    sess, inv = np.unique(held.session, return_inverse=True)
    start = np.full(len(sess), np.inf)
    np.minimum.at(start, inv, held.timestamp)
    owner = np.zeros(len(sess), dtype=np.int64)
    owner[inv] = held.user
    mine = _rows_by_user(train)
    by_session = np.split(np.argsort(inv, kind="stable"), np.cumsum(np.bincount(inv, minlength=len(sess)))[:-1])
    cases: list[BasketCase] = []
    for u in np.unique(owner).tolist():
        uid = held.users[u] if len(held.users) else None
        rows = mine.get(uid if uid is not None else u, np.zeros(0, np.int64))
        parts = [(train.item[rows], train.weight[rows], train.timestamp[rows])]
        for s in sorted(np.flatnonzero(owner == u).tolist(), key=lambda j: (start[j], j)):
            idx = by_session[s]
            items = np.concatenate([p[0] for p in parts])
            if len(items):
                ctx = history_context(
                    items,
                    np.concatenate([p[1] for p in parts]),
                    np.concatenate([p[2] for p in parts]),
                    uid,
                    train.half_life_days,
                    live=False,
                )
                cases.append(BasketCase(ctx, np.unique(held.item[idx]).astype(np.int64), int(sess[s])))
            parts.append((held.item[idx], held.weight[idx], held.timestamp[idx]))
    return cases


def _rows_by_user(data: Interactions) -> dict[int | str, IntArray]:
    """Each user's rows of ``data`` in row order, keyed by user id (by index when it has no ids)."""
    order = np.argsort(data.user, kind="stable")
    users, first = np.unique(data.user[order], return_index=True)
    groups = np.split(order, first[1:]) if len(order) else []
    return {(data.users[u] if len(data.users) else u): g for u, g in zip(users.tolist(), groups, strict=True)}


@dataclass(frozen=True)
class BasketPool:
    """Cached candidate scores of many baskets' contexts: case ``j`` owns the entries with
    ``owner == j`` (case-major), ``slot`` places each in a (cases x ``width``) matrix,
    ``relevant`` lists the entries that are basket items, and ``ideal`` holds each case's best
    DCG@k (its basket's size, up to k, every item at the top)."""

    scores: FloatArray  # (components, entries), each component scaled to [0, 1] as recommend() scales it
    log_counts: FloatArray
    owner: IntArray
    slot: IntArray
    width: int
    relevant: IntArray
    ideal: FloatArray
    k: int
    _damping: dict[float, FloatArray] = field(default_factory=dict, compare=False, repr=False)

    def ndcg(self, w: FloatArray, penalty: float) -> FloatArray:
        """Per-case NDCG@k of the fused ranking of each case's entries (fused scores of 0: not
        listed). The k best of each case are found by one partition of the padded matrix; an item
        at or above its case's k-th score is ranked among them, an item tied with others counts
        at the mean gain of the places they share."""
        fused = np.zeros(self.scores.shape[1], dtype=np.float32)
        for i in np.flatnonzero(w).tolist():  # as HybridRecommender.fuse adds them (a BLAS product was ~4x slower)
            fused += w[i] * self.scores[i]
        if penalty > 0:
            damp = self._damping.get(penalty)
            if damp is None:
                damp = self._damping[penalty] = np.exp(-penalty * self.log_counts).astype(np.float32)
            fused *= damp
        n, k = len(self.ideal), min(self.k, self.width)
        flat = np.full(n * self.width, -1.0, dtype=np.float32)
        flat[self.slot] = fused
        grid = flat.reshape(n, self.width)
        top = np.partition(grid, self.width - k, axis=1)[:, self.width - k :]  # each case's k best, unordered
        kth = top.min(axis=1)
        v, c = fused[self.relevant], self.owner[self.relevant]
        above = (top[c] > v[:, None]).sum(axis=1)  # every entry above an item at or over the k-th is in ``top``
        level = (grid == kth[:, None]).sum(axis=1)  # entries at the k-th score (some may fall outside ``top``)
        ties = np.where(v > kth[c], (top[c] == v[:, None]).sum(axis=1), level[c])
        got = np.where((v >= kth[c]) & (v > 0), tied_gain(above, ties, self.k), 0.0)
        return (np.bincount(c, weights=got, minlength=n) / self.ideal).astype(np.float32)


Scorer = Callable[[Sequence[Context]], Sequence[npt.NDArray[np.float32]]]  # contexts -> rows of raw scores
_Entries = tuple[IntArray, IntArray, list[FloatArray], npt.NDArray[np.bool_]]  # case, item, scores, relevant


def _entries(
    raw: Sequence[Raw],
    truths: Sequence[IntArray],
    n_cand: int,
    seen: IntArray | None,
    damping: Sequence[FloatArray] = (),
) -> _Entries:
    """(case, item) entries of a block of contexts: each component's top ``n_cand``, alone and
    under each tail penalty's ``damping`` (per item), and every basket item, less the ``seen``
    cells (flat; new-items lists never show them), case-major; each component's scaled scores of
    them, and which are basket items.

    Without the penalised tops the pool misjudged penalties: every basket item is in it, but the
    items a penalty lifts are not (popularity's ``log1p(n) / (1 + n)^0.25`` peaks at n ~ 54, not at
    its top 50), so a penalised fusion ranked rare basket items high in the pool and listed dozens
    of tied mid-popular items in service (Complete Journey, new items: popularity at penalty 0.25
    was chosen and scored NDCG@10 0.000 on the test baskets)."""
    b, n = raw[0].shape
    pick, scales = top_cells(raw, n_cand)
    for d, scale in zip(raw, scales, strict=True) if damping else ():
        if scale.zero.all():  # no score above 0 in any row (e.g. no text): none under a damping either
            continue
        if isinstance(d, EntryScores):  # the same products, on the finite cells only (the others: -inf or 0)
            at, items = d.rows, d.keys % max(n, 1)
            base_e = scale.values(at, d.values) if scale.spread.any() else d.values
            for damp in damping:
                v = base_e * damp[0, items]
                pos = np.flatnonzero(v > 0)
                pick.reshape(-1)[row_tops(d.keys[pos], at[pos], v[pos], b, n_cand)] = True
            continue
        same = b > 1 and np.array_equal(d[1], d[0]) and bool((d == d[0]).all())  # popularity: one row for all
        rows, row_scale = (d[:1], RowScale(d[:1], d[:1].max(axis=1, initial=-np.inf))) if same else (d, scale)
        # a row of non-negative scores is scaled by a positive constant: its order under a damping is the raw one's
        base = row_scale.apply(rows) if row_scale.spread.any() else rows
        for damp in damping:
            top = top_positive(base * damp, n_cand)
            if same:
                pick[:, top] = True
            else:
                pick.reshape(-1)[top] = True
    rel = np.zeros((b, n), dtype=bool)
    rel[np.repeat(np.arange(b), [len(t) for t in truths]), np.concatenate(truths)] = True
    pick |= rel
    if seen is not None:
        pick.reshape(-1)[seen] = False
    flat = np.flatnonzero(pick)
    case, item = np.divmod(flat, n)
    scores = [sc.values(case, raw_at(d, flat)) for sc, d in zip(scales, raw, strict=True)]
    return case, item, scores, rel.reshape(-1)[flat]


def _pool(
    parts: Sequence[_Entries],
    sizes: Sequence[int],
    truth_sizes: IntArray,
    counts: FloatArray,
    k: int,
    n_names: int,
) -> BasketPool:
    """The blocks' entries (:func:`_entries`, in block order) as one :class:`BasketPool`."""
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    owner = np.concatenate([p[0] + o for p, o in zip(parts, offsets, strict=True)]) if parts else np.zeros(0, np.int64)
    item = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    scores = np.concatenate([np.stack(p[2]) for p in parts], axis=1) if parts else np.zeros((n_names, 0), np.float32)
    rel = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, bool)
    n = int(sum(sizes))
    per = np.bincount(owner, minlength=n)
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    width = max(int(per.max(initial=0)), 1)
    slot = owner * width + (np.arange(len(owner)) - first[owner])
    gain = dcg_prefix(k)
    return BasketPool(
        scores.astype(np.float32, copy=False),
        np.log1p(counts[item]).astype(np.float32),
        owner,
        slot,
        width,
        np.flatnonzero(rel),
        gain[np.minimum(truth_sizes, k)],
        k,
    )


def basket_pools(
    hybrid: HybridRecommender,
    cases: Sequence[BasketCase],
    names: Sequence[str],
    config: TuneConfig,
    cells: int = 1 << 21,
    threads: int = 2,
    extra: Scorer | None = None,
) -> tuple[BasketPool, BasketPool]:
    """The pools of ``cases`` for lists that may repeat bought items, and for new items only (the
    cases whose basket holds one: each component scaled over the items such a list may show when
    ``HybridConfig.scale_unseen``, as ``recommend(exclude_seen=True)`` scales it). Components score
    blocks of about ``cells / n_items`` contexts at once, ``threads`` blocks at a time (as the
    next-item pool does), gathered in block order. ``extra``: more rows of raw scores, after
    ``names``'s, in the repeats pool only (the "baskets" component under each group size tried)."""
    n = hybrid.n_items
    step = max(1, cells // max(n, 1))
    log_counts = np.log1p(hybrid.counts)
    damping = [np.exp(-p * log_counts).astype(np.float32)[None, :] for p in config.penalties if p > 0]

    def block(a: int) -> tuple[_Entries, _Entries | None, int]:
        part = cases[a : a + step]
        ctxs = [c.ctx for c in part]
        raw = raw_scores(hybrid, ctxs, names)
        more = [np.ascontiguousarray(m, dtype=np.float32) for m in (extra(ctxs) if extra is not None else ())]
        every = _entries([*raw, *more], [c.truth for c in part], config.candidates, None, damping)
        fresh = [c.new_truth for c in part]
        rows = np.array([j for j, t in enumerate(fresh) if len(t)], dtype=np.int64)
        if not len(rows):
            return every, None, 0
        seen = np.concatenate([r * n + part[j].ctx.items for r, j in enumerate(rows.tolist())]).astype(np.int64)
        sub = [masked_raw(d, rows, seen if hybrid.config.scale_unseen else seen[:0]) for d in raw]
        return every, _entries(sub, [fresh[j] for j in rows.tolist()], config.candidates, seen, damping), len(rows)

    with ThreadPoolExecutor(threads) as pool:
        got = list(pool.map(block, range(0, len(cases), step)))
    counts = hybrid.counts
    sizes = [len(cases[a : a + step]) for a in range(0, len(cases), step)]
    truth_sizes = np.array([len(c.truth) for c in cases])
    n_rows = len(names) + (len(extra([])) if extra is not None else 0)
    every = _pool([g[0] for g in got], sizes, truth_sizes, counts, config.k, n_rows)
    fresh = [len(c.new_truth) for c in cases if len(c.new_truth)]
    new = _pool(
        [g[1] for g in got if g[1] is not None],
        [g[2] for g in got if g[1] is not None],
        np.array(fresh, dtype=np.int64),
        counts,
        config.k,
        len(names),
    )
    return every, new


def choose_group(pool: BasketPool, first: int, sizes: Sequence[int]) -> tuple[int, dict[str, float]]:
    """Of ``sizes`` (the pool's score rows from ``first`` on, in that order), the group size whose
    row alone has the best mean NDCG@k (the first of equals), and each one's score."""
    scores = {}
    for j, g in enumerate(sizes):
        w = np.zeros(len(pool.scores), dtype=np.float32)
        w[first + j] = 1.0
        scores[str(g)] = float(pool.ndcg(w, 0.0).mean())
    best = max(sizes, key=lambda g: scores[str(g)])
    return best, scores


def _offer_baskets(hybrid: HybridRecommender, start: dict[str, float]) -> tuple[int, ...]:
    """The group sizes the repeats search tries the "baskets" component at (none: not offered),
    with it added to ``start`` at weight 0 when offered and not weighted there."""
    cfg = hybrid.config.baskets
    if not cfg.offer or BASKETS not in hybrid.components:
        return ()
    start.setdefault(BASKETS, 0.0)
    return cfg.tried


@dataclass(frozen=True)
class BasketSearch:
    """What the between-sessions search does before the in-session weights are known
    (:func:`prepare_between`): the next baskets (``n_all``, ``n_new`` of them with new items; ``cases``,
    those scored), the components the search weighs and, when there are enough baskets, their pools."""

    n_all: int
    n_new: int
    cases: list[BasketCase]
    names: list[str]
    pools: tuple[BasketPool, BasketPool] | None
    group_sizes: tuple[int, ...] = ()  # the "baskets" group sizes whose rows follow the others' in the repeats pool


def _names(hybrid: HybridRecommender, starts: Mapping[bool, tuple[dict[str, float], float]]) -> list[str]:
    """The components either start names (each once, in order)."""
    return list(dict.fromkeys(nm for w, _ in starts.values() for nm in w if nm in hybrid.components))


def _starts(hybrid: HybridRecommender) -> dict[bool, tuple[dict[str, float], float]]:
    """Where each search starts (repeats, new items): the configured between-sessions weights, else
    the in-session ones."""
    return {new: hybrid.config.fusion(new, live=False) for new in (False, True)}


def _plan(
    hybrid: HybridRecommender, starts: Mapping[bool, tuple[dict[str, float], float]]
) -> tuple[tuple[int, ...], list[str], list[str], Scorer | None]:
    """What the search pools: the "baskets" group sizes tried (:func:`_offer_baskets`, which adds it to
    the repeats start at weight 0), every component named, those pooled by name (all but "baskets"
    when its group sizes are tried) and the scorer of its rows at each group size."""
    group_sizes = _offer_baskets(hybrid, starts[False][0])  # at weight 0: the start's fusion is the same
    names = _names(hybrid, starts)
    plain = [nm for nm in names if nm != BASKETS] if group_sizes else names
    at = [replace(hybrid.config.basket_setting(), group_size=g) for g in group_sizes]
    extra = partial(hybrid.baskets.score_many_at, configs=at) if at else None
    return group_sizes, names, plain, extra


def prepare_between(
    hybrid: HybridRecommender, first: tuple[Interactions, Interactions], threads: int = 2
) -> BasketSearch | None:
    """The next baskets of ``first``'s held-out sessions and their pools (the hybrid's components
    fitted on its earlier rows), None when ``TuneConfig.between`` is off. It only reads ``hybrid``:
    it may run in a thread while the in-session weights are tuned. The components it pools are those
    the in-session weights name now; tuning changes their values, not which (:func:`finish_between`
    pools again if they differ)."""
    tc = hybrid.config.tune
    if not tc.between:
        return None
    cases = basket_cases(*first)
    n_all, n_new = len(cases), sum(1 for c in cases if len(c.new_truth))
    if n_all > tc.between_cases:
        pick = np.sort(np.random.default_rng(tc.sample_seed).choice(n_all, tc.between_cases, replace=False))
        cases = [cases[i] for i in pick.tolist()]
    if min(n_all, n_new) < tc.min_cases:
        return BasketSearch(n_all, n_new, cases, [], None)
    sizes, names, plain, extra = _plan(hybrid, _starts(hybrid))
    pools = basket_pools(hybrid, cases, plain, tc, threads=threads, extra=extra)
    return BasketSearch(n_all, n_new, cases, names, pools, sizes)


def finish_between(hybrid: HybridRecommender, found: BasketSearch | None, rep: TuningReport) -> None:
    """Choose the between-sessions weights on the baskets ``found`` (the in-session weights just
    tuned), set them in ``hybrid.config`` when reliably better than the in-session ones, and say
    what was done in ``rep``."""
    tc = hybrid.config.tune
    if found is None:
        return
    n_all, n_new = found.n_all, found.n_new
    rep.between_cases, rep.between_new_cases = n_all, n_new
    starts = _starts(hybrid)  # configured, else in-session
    rep.between_weights, rep.between_penalty = starts[False]
    rep.between_new_weights, rep.between_new_penalty = starts[True]
    rep.start_between_weights, rep.start_between_new_weights = dict(starts[False][0]), dict(starts[True][0])
    if found.pools is None:
        rep.between_status = "in-session kept"
        rep.reason += (
            f"; between sessions: in-session weights kept ({n_all} next baskets of returning shoppers, {n_new} "
            f"with new items, fewer than {tc.min_cases})"
        )
        return
    cases = found.cases
    group_sizes, names, plain, extra = _plan(hybrid, starts)
    same = names == found.names and group_sizes == found.group_sizes
    every, fresh = found.pools if same else basket_pools(hybrid, cases, plain, tc, extra=extra)
    pools, pool_names = {False: every, True: fresh}, {False: names, True: plain}
    chosen = None
    if group_sizes:
        chosen, rep.between_group_scores = choose_group(every, len(plain), group_sizes)
        keep = [*range(len(plain)), len(plain) + group_sizes.index(chosen)]
        pools[False], pool_names[False] = replace(every, scores=every.scores[keep]), [*plain, BASKETS]

    def ascend(new: bool) -> Ascent:
        pool, nm = pools[new], pool_names[new]
        return coordinate_ascent(cached_objective(pool.scores, nm, pool.ndcg), nm, *starts[new], tc)

    with ThreadPoolExecutor(1) as thread:
        later = thread.submit(ascend, True)
        got = {False: ascend(False), True: later.result()}
    kept = []
    for new, (w, p, score, base, keep_start) in got.items():
        if new:
            rep.between_new_weights, rep.between_new_penalty = w, p
            rep.between_new_score, rep.start_between_new_score = score, base
        else:
            rep.between_weights, rep.between_penalty = w, p
            rep.between_score, rep.start_between_score = score, base
        if keep_start:
            kept.append("new items" if new else "repeats")
        else:
            hybrid.config = hybrid.config.with_weights(w, p, new=new, between=True)
    if chosen is not None and "repeats" not in kept and rep.between_weights.get(BASKETS, 0.0) > 0:
        hybrid.config = replace(hybrid.config, basket_group_size=chosen)
        rep.between_group_size = chosen
    rep.between_status = "in-session kept" if len(kept) == 2 else "tuned"
    rep.reason += f"; between sessions: tuned on {len(cases)} next baskets ({len(pools[True].ideal)} with new items)"
    if rep.between_group_size is not None:
        rep.reason += f", order-decayed frequency in groups of {rep.between_group_size} baskets"
    if kept:
        rep.reason += f", in-session weights kept for {' and '.join(kept)} (no gain beyond {tc.z:g} standard errors)"


def tune_between(hybrid: HybridRecommender, first: tuple[Interactions, Interactions], rep: TuningReport) -> None:
    """:func:`prepare_between`, then :func:`finish_between`: the between-sessions weights chosen on the
    next baskets of ``first``'s held-out sessions (the hybrid's components fitted on its earlier rows,
    its in-session weights just tuned)."""
    finish_between(hybrid, prepare_between(hybrid, first), rep)


def session_live(hybrid: HybridRecommender, user: str | Context, ctx: Context, now: float | None = None) -> bool:
    """Whether ``ctx`` (``hybrid``'s context for ``user``) has a session under way: its own
    ``live`` when said; for a shopper id, whether the latest event is at most
    ``HybridConfig.idle_minutes`` before ``now`` (the clock's time when None); else True. The latest
    event is read from ``ctx.timeline`` when it has one (the history this request already holds)."""
    if ctx.live is not None:
        return ctx.live
    if isinstance(user, Context) or hybrid.profiles is None:
        return True
    line = ctx.timeline
    last = float(line.times.max()) if line is not None and len(line.times) else hybrid.profiles.last_event(user)
    if last is None:
        return True
    return (time.time() if now is None else now) - last <= hybrid.config.idle_minutes * 60.0


def said_live(hybrid: HybridRecommender, user: str, live: bool | None) -> str | Context:
    """Shopper ``user`` as :meth:`~shelfwise.recommend.hybrid.HybridRecommender.recommend` takes it
    when the caller says whether a session is under way (``live``, the ``live`` parameter of
    ``/recommend/user``): its context with ``Context.live`` set; None: the id itself, whose
    latest event's age decides (:func:`session_live`)."""
    return user if live is None else replace(hybrid.context(user), live=live)


def list_fusion(
    hybrid: HybridRecommender, user: str | Context, ctx: Context, exclude_seen: bool
) -> tuple[dict[str, float], float]:
    """The (weights, penalty) :meth:`~shelfwise.recommend.hybrid.HybridRecommender.recommend` fuses
    ``ctx`` (its context for ``user``) with: popularity alone for an empty context with no query,
    else the between-sessions weights when no session is live (:func:`session_live`), else the
    in-session ones, for ``exclude_seen``. Whatever scores items of that list asks here, so both use
    one fusion (:meth:`~shelfwise.recommend.hybrid.HybridRecommender.score`; an explored slot's own
    score reads the list's own pass, :func:`shelfwise.recommend.explore.own_scores`)."""
    if not len(ctx) and ctx.query_vector is None:  # cold: popularity alone, whether or not a session is live
        return hybrid.config.fusion(exclude_seen, cold=True)
    return hybrid.config.fusion(exclude_seen, live=session_live(hybrid, user, ctx))
