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
kind), the defaults stay and the report says so. The same slice then also chooses the weights for
a shopper with no live session, on next baskets (:mod:`shelfwise.recommend.between`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from shelfwise.recommend.base import Context
from shelfwise.recommend.evaluate import tune_weights
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.tuning_pool import _caches, _concat, _Pool
from shelfwise.results import FloatArray, IntArray

if TYPE_CHECKING:
    from shelfwise.recommend.hybrid import HybridRecommender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuneConfig:
    """``fraction``: share of the most recent sessions held out; ``max_sessions`` caps them (the
    latest kept); ``min_cases``: fewer prefixes of either protocol keeps the defaults;
    ``max_cases``: prefixes scored at most (a random sample beyond, drawn with ``sample_seed``); ``z``: see
    :func:`reliably_better`; ``folds`` / ``min_new_cases``: earlier slices are added (up to
    ``folds`` in all) while the slices hold fewer new-item prefixes (see :func:`validation_folds`);
    ``candidates``: each component's top items per prefix that enter the trial pool (50: the same
    tuned weights as 100 on YOOCHOOSE and Diginetica; YOOCHOOSE fit 5.6 -> 5.1 s, sessions_quiet.json);
    ``refit_iterations``: ALS sweeps of the final fit on all rows,
    started from the factors tuning fitted on the earlier rows (0 = the full ``ALSConfig.iterations``
    from random factors); ``refit_epochs``: likewise SASRec's epochs when it is weighted (0 = a
    full second training; with weight 0 after tuning it is not trained again at all); ``reuse_days``
    / ``reuse_growth``: a fit handed the model it replaces keeps that model's searched weights while
    the search is at most this many days old and the log between 1 / ``reuse_growth`` and
    ``reuse_growth`` times the rows it was searched on (:mod:`shelfwise.recommend.retune`);
    ``related``: the same search also chooses the related-items weights (:mod:`.related_tune`);
    ``between``: it also chooses the weights for a shopper with no live session, on next baskets
    (:mod:`.between`), at most ``between_cases`` of them (a random sample beyond, drawn with
    ``sample_seed``; each is a whole history to score: on Instacart 500 took ~0.8 s of a ~10 s
    fit, 1000 twice that, for the same repeats weights)."""

    enabled: bool = True
    fraction: float = 0.1
    max_sessions: int = 2000
    min_cases: int = 100
    k: int = 20
    candidates: int = 50
    max_cases: int = 5000
    sample_seed: int = 0
    grid: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
    penalties: tuple[float, ...] = (0.0, 0.1, 0.25)
    z: float = 2.0  # tuned weights replace the defaults only when better by this many standard errors
    refit_iterations: int = 5
    refit_epochs: int = 10
    folds: int = 1
    min_new_cases: int = 2000
    reuse_days: float = 7.0
    reuse_growth: float = 2.0
    related: bool = True  # also choose the related-items weights (False: the configured ones stay)
    between: bool = True  # also choose the between-sessions weights (False: the in-session ones serve)
    between_cases: int = 500

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction < 1.0:
            raise ValueError("TuneConfig.fraction must be in (0, 1)")
        sizes = (self.max_sessions, self.min_cases, self.k, self.candidates, self.between_cases)
        if min(sizes) < 1 or not self.grid or not self.penalties:
            raise ValueError("TuneConfig: sizes must be >= 1 and grids non-empty")
        if self.refit_iterations < 0 or self.refit_epochs < 0:
            raise ValueError("TuneConfig.refit_iterations and refit_epochs must be >= 0")
        if self.folds < 1:
            raise ValueError("TuneConfig.folds must be >= 1")
        if not self.reuse_days >= 0 or not self.reuse_growth >= 1:
            raise ValueError("TuneConfig.reuse_days must be >= 0 and reuse_growth >= 1")


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

    status: str = "not run"  # "tuned" | "reused" (an earlier fit's search: retune.py) | "defaults" | "not run"
    reason: str = ""
    tuned_at: float | None = None  # unix time of the search behind the weights (kept when reused)
    interactions: int = 0  # rows of the log that search fitted and validated on
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
    # the fusion the search started from (the fitted config's before it): which components it could weigh
    start_weights: dict[str, float] = field(default_factory=dict)
    start_penalty: float = 0.0
    start_new_weights: dict[str, float] = field(default_factory=dict)
    start_new_penalty: float = 0.0
    # related items (``similar``): the weights chosen on the same slice (empty: not searched), the
    # configured ones the choice started from, and hit@k of both on its seeds (:mod:`.related_tune`)
    related_weights: dict[str, float] = field(default_factory=dict)
    start_related_weights: dict[str, float] = field(default_factory=dict)
    related_score: float | None = None
    default_related_score: float | None = None
    related_cases: int = 0
    # a shopper with no live session (:mod:`.between`): next baskets from the history alone, scored
    # by NDCG@k of the whole basket; start_* = the in-session weights they would otherwise get.
    # between_status: "tuned" | "in-session kept" (no gain, or too few baskets) | "not run"
    between_status: str = "not run"
    between_cases: int = 0  # baskets (repeats counted)
    between_new_cases: int = 0  # baskets holding an item new to the shopper
    between_weights: dict[str, float] = field(default_factory=dict)
    between_penalty: float = 0.0
    between_new_weights: dict[str, float] = field(default_factory=dict)
    between_new_penalty: float = 0.0
    start_between_weights: dict[str, float] = field(default_factory=dict)  # where the search started
    start_between_new_weights: dict[str, float] = field(default_factory=dict)
    between_score: float | None = None
    start_between_score: float | None = None
    between_new_score: float | None = None
    start_between_new_score: float | None = None
    # every fusion as configured before this search replaced some (HybridConfig.fusion_sets): what a
    # second fit that searches again starts from (a report's time split); empty: not recorded (older saves)
    configured: dict[str, Any] = field(default_factory=dict)
    # the "baskets" component's group sizes tried: NDCG@k of each alone on the baskets, and the one
    # the repeats weights use (None: they do not weigh it)
    between_group_scores: dict[str, float] = field(default_factory=dict)
    between_group_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def announce(self, *, quiet: bool = False) -> None:
        """Log the verdict ("hybrid weights: defaults (why)"): a WARNING when default weights were
        kept, else INFO; ``quiet``: INFO either way (a second fit whose verdict is not news, such
        as a report's time split after the served model's fit said its own)."""
        level = logging.WARNING if self.status == "defaults" and not quiet else logging.INFO
        log.log(level, "hybrid weights: %s (%s)", self.status, self.reason)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TuningReport:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def validation_split(data: Interactions, fraction: float, max_sessions: int) -> tuple[Interactions, Interactions]:
    """(earlier rows, the most recent ``fraction`` of sessions by start time, at most ``max_sessions``).

    Training keeps only rows before the first held-out session starts: nothing after the cut leaks.
    When no row is earlier than that (every session starts at once: a one-day dump of dates, as the
    bundled H&M demo log is), there is no time order to respect: a seeded random ``fraction`` of the
    sessions is held out and the rest trains (else every fit-time search had nothing to fit on).
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
    train = (data.timestamp < cut) & ~held[inv]
    if not train.any():  # all sessions start together: no earlier rows to fit on
        held[:] = False
        held[np.random.default_rng(0).choice(len(sess), n_val, replace=False)] = True
        train = ~held[inv]
    return data.take(train), data.take(held[inv])


def _user_id(data: Interactions, index: int) -> str | None:
    """User ``index`` of ``data`` as its id (None for a log without ids): two ``Interactions`` built
    from different logs number their users differently, so only ids match a held-out session to its
    shopper's history."""
    return data.users[index] if len(data.users) else None


def prefix_cases(train: Interactions, held: Interactions, tail: int = 50) -> list[Case]:
    """Every prefix of every held-out session (with the user's earlier history in ``train`` when
    known, matched by user id) and its next item.

    A prefix's context holds its distinct items (ascending) with their summed weights (float64
    sums, history first then the session in time order, then float32) and its last ``tail``
    events in order. Prefixes of sessions with no history are summed all at once (one sort of
    (prefix, item) keys), those of a session with a history one session at a time
    (:func:`_history_contexts`), instead of one ``np.unique`` per prefix."""
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
        uid = _user_id(held, u)
        t = index.get(u if uid is None else uid)
        rows = np.zeros(0, np.int64)
        if t is not None:
            rows = by_user[np.searchsorted(sorted_user, t) : np.searchsorted(sorted_user, t, side="right")]
        sessions.append((k, rows, idx, uid))
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
        it = np.concatenate([h_items, items])
        for t, (ctx_items, sums, is_new) in enumerate(_history_contexts(h_items, h_w, items, weights), len(rows) + 1):
            ctx = Context(ctx_items, sums, user, sequence=it[max(0, t - tail) : t])
            cases.append(Case(ctx, int(it[t]), k, is_new))
    return cases


def _history_contexts(
    h_items: IntArray, h_w: FloatArray, items: IntArray, weights: FloatArray, cells: int = 1 << 20
) -> Iterator[tuple[IntArray, FloatArray, bool]]:
    """(distinct items, summed weights, next item new?) of each prefix of a session (``items``,
    ``weights`` in time order) after a history (``h_items``, ``h_w`` in time order).

    Over the items of both, the history's float64 sums (``np.bincount``, entry order) start a
    matrix whose row ``t`` adds prefix ``t``'s last event at its item; a cumulative sum down the
    rows gives each prefix's sums, every item's weights added in entry order (adding 0.0 elsewhere
    changes no sum), as one ``np.bincount`` per prefix adds them. Rows are taken about
    ``cells / items`` at a time."""
    u, inv = np.unique(np.concatenate([h_items, items]), return_inverse=True)
    nh, m = len(h_items), len(items) - 1  # prefixes: the history and the first 1 .. m events
    slot = inv[nh:]
    sums = np.bincount(inv[:nh], weights=h_w, minlength=len(u))  # float64
    seen = np.zeros(len(u), dtype=bool)
    seen[inv[:nh]] = True
    step = max(1, cells // max(len(u), 1))
    for lo in range(0, m, step):
        hi = min(m, lo + step)
        rows = np.arange(1, hi - lo + 1)
        add = np.zeros((hi - lo + 1, len(u)))
        add[0] = sums
        add[rows, slot[lo:hi]] = weights[lo:hi]
        marks = np.zeros((hi - lo + 1, len(u)), dtype=bool)
        marks[0] = seen
        marks[rows, slot[lo:hi]] = True
        acc = np.cumsum(add, axis=0)[1:]
        has = np.logical_or.accumulate(marks, axis=0)[1:]
        new = ~has[rows - 1, slot[lo + 1 : hi + 1]]
        for r, is_new in enumerate(new.tolist()):
            keep = has[r]
            yield u[keep], acc[r][keep].astype(np.float32), is_new
        sums, seen = acc[-1], has[-1]


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


def validation_folds(
    data: Interactions, config: TuneConfig, first: tuple[Interactions, Interactions] | None = None
) -> list[tuple[Interactions, list[Case]]]:
    """(earlier rows, prefixes of the held-out sessions) of each validation slice, latest first.

    The latest ``fraction`` of sessions is one slice (``first``: its :func:`validation_split`
    of ``data`` when already cut); while the slices hold fewer than ``config.min_new_cases``
    new-item prefixes (a small store), the ``fraction`` of sessions before it is another, up to
    ``config.folds`` slices (rolling-origin validation: each slice's components see only rows
    before it)."""
    out: list[tuple[Interactions, list[Case]]] = []
    rest, new = data, 0
    for _ in range(config.folds):
        cut = first if first is not None and rest is data else None
        train, held = cut or validation_split(rest, config.fraction, config.max_sessions)
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
    rep.configured = hybrid.config.fusion_sets()  # before any weight below replaces them
    start = dict(hybrid.config.weights)
    new_start, new_pen = hybrid.config.fusion(True)
    rep.weights, rep.penalty = start, hybrid.config.popularity_penalty
    rep.new_weights, rep.new_penalty = new_start, new_pen
    rep.start_weights, rep.start_penalty = dict(start), rep.penalty
    rep.start_new_weights, rep.start_new_penalty = dict(new_start), new_pen
    if min(rep.repeat_cases, rep.new_cases) < config.min_cases:
        rep.status = "defaults"
        rep.reason = (
            f"validation slice too small: {rep.repeat_cases} next-item prefixes ({rep.new_cases} new items) "
            f"from {rep.sessions} sessions, fewer than {config.min_cases}; default weights kept"
        )
        return rep
    names = list(dict.fromkeys(n for n in (*start, *new_start) if n in hybrid.components))
    rng = np.random.default_rng(config.sample_seed)
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
        return cached_objective(
            pools[new].scores, names, lambda w, p: pools[new].ndcg(w, p, config.k, exclude_seen=new)
        )

    def ascend(new: bool, w0: Mapping[str, float], p0: float) -> Ascent:
        return coordinate_ascent(per_case(new), names, w0, p0, config)

    # the two ascents are independent: the new-items one runs in a thread beside (numpy's array
    # loops and the BLAS product release the GIL); each scores its own pool, the same results
    with ThreadPoolExecutor(1) as pool_thread:
        later = pool_thread.submit(ascend, True, new_start, new_pen)
        rep.weights, rep.penalty, rep.tuned_score, rep.default_score, kept_repeats = ascend(False, start, rep.penalty)
        rep.new_weights, rep.new_penalty, rep.tuned_new_score, rep.default_new_score, kept_new = later.result()
    kept = [label for label, k in (("repeats", kept_repeats), ("new items", kept_new)) if k]
    rep.status = "tuned"
    rep.reason = (
        f"tuned on {rep.repeat_cases} prefixes ({rep.new_cases} new items) of the {rep.sessions} latest sessions"
    )
    if kept:
        rep.reason += f"; defaults kept for {' and '.join(kept)} (no gain beyond {config.z:g} standard errors)"
    return rep


_PerCase = Callable[[Mapping[str, float], float], FloatArray]
Ascent = tuple[dict[str, float], float, float, float, bool]  # weights, penalty, their score, the start's, start kept


def cached_objective(
    scores: FloatArray, names: Sequence[str], ndcg: Callable[[FloatArray, float], FloatArray]
) -> _PerCase:
    """Per-case NDCG of (weights, penalty) over a pool whose ``scores`` rows are the components
    ``names``: ``ndcg(weight vector, penalty)``, each distinct vector scored once (the ascent
    revisits weights). A component scoring 0 on every entry (no evidence in this pool, e.g. repeats
    among new items) adds exact zeros to the fused scores whatever its weight: weights differing
    only there share a score."""
    seen: dict[tuple[bytes, float], FloatArray] = {}
    silent = ~scores.any(axis=1)

    def run(weights: Mapping[str, float], penalty: float) -> FloatArray:
        w = np.array([weights.get(n, 0.0) for n in names], dtype=np.float32)
        w[silent] = 0.0
        key = (w.tobytes(), float(penalty))
        if key not in seen:
            seen[key] = ndcg(w, penalty)
        return seen[key]

    return run


def coordinate_ascent(
    f: _PerCase, names: Sequence[str], w0: Mapping[str, float], p0: float, config: TuneConfig
) -> Ascent:
    """:func:`~shelfwise.recommend.evaluate.tune_weights` on per-case scores ``f``, started from
    ``w0`` / ``p0`` or from one component of ``names`` alone, whichever scores best; the result
    replaces ``w0`` only when :func:`reliably_better`. Returns (weights, penalty, their mean score,
    ``w0``'s mean score, whether ``w0`` is kept)."""
    base = f(w0, p0)

    def mean_ndcg(weights: Mapping[str, float], penalty: float) -> float:
        return float(f(weights, penalty).mean())

    starts = [dict(w0), *({n: float(n == m) for n in w0} for m in w0 if m in names)]
    first = max(starts, key=lambda st: mean_ndcg(st, p0))
    w, p, score = tune_weights(mean_ndcg, first, grid=config.grid, penalties=config.penalties, rounds=3)
    if not reliably_better(f(w, p), base, config.z):
        return dict(w0), p0, float(base.mean()), float(base.mean()), True
    return dict(w), p, score, float(base.mean()), False


def reliably_better(tuned: FloatArray, base: FloatArray, z: float) -> bool:
    """Paired test on per-prefix NDCG: mean gain above ``z`` standard errors (coordinate ascent on a
    small slice overfits its noise; such gains do not carry over to the next sessions)."""
    d = tuned.astype(np.float64) - base.astype(np.float64)
    if len(d) < 2 or float(d.mean()) <= 0:
        return False
    se = float(d.std(ddof=1)) / np.sqrt(len(d))
    return float(d.mean()) > z * se
