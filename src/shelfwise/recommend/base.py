"""Recommendation protocol, typed results with reasons, and the shared recommend/similar logic.

Every model scores the whole catalog densely (``-inf`` where it has no evidence), so the
hybrid can fuse them and filters become boolean masks (as in ``implicit`` and ``Results``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.catalog.schema import Filters
from shelfwise.events.schema import Event
from shelfwise.recommend.wording import NEUTRAL, Wording
from shelfwise.results import FloatArray, IntArray, Results

if TYPE_CHECKING:
    from shelfwise.catalog.schema import Catalog
    from shelfwise.recommend.interactions import Interactions
    from shelfwise.recommend.profiles import UserProfiles

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Timeline:
    """A history's every event, in the order recorded: item rows and unix times (read by
    components that cut a history into baskets, :mod:`shelfwise.recommend.baskets`)."""

    items: IntArray
    times: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        if self.items.shape != self.times.shape or self.items.ndim != 1:
            raise ValueError(f"Timeline: items {self.items.shape} and times {self.times.shape} must match")


@dataclass(frozen=True)
class Context:
    """What is known about the shopper now: history or session items (catalog rows) with
    recency-decayed implicit weights, the user id when known, and an optional query vector
    (cold-start users: the text they typed, encoded by the item encoder).

    ``sequence`` is the recent interactions in order, oldest first, repeats kept (the session's
    clicks, or the tail of the history); sequence-aware components weigh its last items most.
    None means no order is known: they then treat ``items`` as unordered.

    ``live``: whether the latest events are a session still under way (True), or the history
    alone with no session under way (False: e.g. a shopper opening the store for a next order,
    whose lists the hybrid fuses with its between-sessions weights); None: not known, treated as
    under way (a session's own items, the in-session weights).

    ``timeline``: the history's every event with its time, when the context is a shopper's history
    (:func:`~shelfwise.recommend.profiles.history_context`); None otherwise (a session's items).
    """

    items: IntArray
    weights: FloatArray
    user: str | None = None
    query_vector: FloatArray | None = None
    sequence: IntArray | None = None
    query: str = ""  # the typed text behind ``query_vector``
    live: bool | None = None
    timeline: Timeline | None = None

    def __post_init__(self) -> None:
        if self.items.shape != self.weights.shape or self.items.ndim != 1:
            raise ValueError(f"Context: items {self.items.shape} and weights {self.weights.shape} must match")
        if self.sequence is not None and self.sequence.ndim != 1:
            raise ValueError("Context: sequence must be 1-d")

    @classmethod
    def of(
        cls,
        items: Sequence[int] | IntArray,
        weights: Sequence[float] | FloatArray | None = None,
        *,
        user: str | None = None,
        query_vector: FloatArray | None = None,
        query: str = "",
    ) -> Context:
        """A context from ``items`` given in the order they happened (oldest first): that order
        becomes ``sequence``."""
        it = np.asarray(items, dtype=np.int64).reshape(-1)
        w = np.ones(len(it), dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
        return cls(it, w.reshape(-1), user, query_vector, it, query)

    @property
    def ordered(self) -> IntArray:
        """``sequence`` when known, else ``items`` (no order)."""
        return self.sequence if self.sequence is not None else self.items

    @classmethod
    def empty(cls, user: str | None = None) -> Context:
        return cls.of([], user=user)

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def seen_mask(self, n_items: int) -> BoolArray:
        m = np.zeros(n_items, dtype=bool)
        m[self.items] = True
        return m


@dataclass(frozen=True)
class Recommendation:
    """Ranked catalog rows with scores (best first) and one human-readable reason per item."""

    ids: IntArray
    scores: FloatArray
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        if not (self.ids.shape == self.scores.shape and len(self.reasons) == self.ids.shape[0]):
            raise ValueError("Recommendation: ids, scores and reasons must have equal lengths")

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def results(self) -> Results:
        return Results(self.ids, self.scores)

    @classmethod
    def empty(cls) -> Recommendation:
        r = Results.empty()
        return cls(r.ids, r.scores, ())


@runtime_checkable
class Recommender(Protocol):
    """fit on interactions; recommend for a user (id or :class:`Context`); items similar to an item."""

    def fit(self, data: Interactions) -> None: ...

    def recommend(
        self, user: str | Context, k: int = 10, filters: Filters | None = None, *, exclude_seen: bool = True
    ) -> Recommendation: ...

    def similar(self, item: int, k: int = 10, filters: Filters | None = None) -> Recommendation: ...


class ItemScorer(Protocol):
    """What the hybrid fuses: dense scores over the catalog, ``-inf`` where a model has no evidence.
    ``score`` returns a new array each call: the hybrid writes into it (seen items under ``exclude_seen``)."""

    name: str

    def fit(self, data: Interactions) -> None: ...

    def score(self, ctx: Context) -> FloatArray: ...

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]: ...

    def score_item(self, item: int) -> FloatArray: ...

    def explain(self, ctx: Context | None, item: int) -> str: ...


def no_evidence(n: int) -> FloatArray:
    return np.full(n, -np.inf, dtype=np.float32)


class BaseRecommender:
    """Implements :class:`Recommender` on top of ``score`` / ``score_item`` / ``explain``.

    Subclasses set ``name`` and implement ``_fit``, ``score``, ``score_item`` and ``explain``.
    """

    name = "base"

    def __init__(self) -> None:
        self._catalog: Catalog | None = None
        self.profiles: UserProfiles | None = None

    # --- to implement -------------------------------------------------------------------
    def _fit(self, data: Interactions) -> None:
        raise NotImplementedError

    def score(self, ctx: Context) -> FloatArray:
        raise NotImplementedError

    def score_item(self, item: int) -> FloatArray:
        raise NotImplementedError

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context, stacked (contexts x items); components that can batch
        (one sparse or matrix product for all rows) override it."""
        if not contexts:
            return np.zeros((0, self.n_items), dtype=np.float32)
        return np.stack([self.score(c) for c in contexts]).astype(np.float32, copy=False)

    def explain(self, ctx: Context | None, item: int) -> str:
        return ""

    @property
    def wording(self) -> Wording:
        """How this model's reasons name its evidence (:mod:`shelfwise.recommend.wording`)."""
        return self.profiles.wording if self.profiles is not None else NEUTRAL

    def update(self, events: Sequence[Event]) -> None:
        """Absorb committed events (the ``Updatable`` contract); default: nothing to learn."""

    # --- shared ---------------------------------------------------------------------------
    def fit(self, data: Interactions) -> None:
        self._catalog = data.catalog
        self.profiles = data.profiles
        self._fit(data)

    def attach(self, catalog: Catalog, profiles: UserProfiles | None) -> None:
        """Bind to a catalog and shared histories without fitting (before ``load_state``)."""
        self._catalog = catalog
        self.profiles = profiles

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(interactions) first")
        return self._catalog

    @property
    def n_items(self) -> int:
        return len(self.catalog)

    def context(self, user: str | Context) -> Context:
        if isinstance(user, Context):
            return user
        ctx = self.profiles.context(user) if self.profiles is not None else None
        return ctx if ctx is not None else Context.empty(user)

    def allowed(self, filters: Filters | None, ctx: Context | None = None, exclude_seen: bool = False) -> BoolArray:
        m = self.catalog.mask(filters)
        mask = np.ones(self.n_items, dtype=bool) if m is None else m.copy()
        if exclude_seen and ctx is not None and len(ctx):
            mask &= ~ctx.seen_mask(self.n_items)
        return mask

    def recommend(
        self, user: str | Context, k: int = 10, filters: Filters | None = None, *, exclude_seen: bool = True
    ) -> Recommendation:
        ctx = self.context(user)
        res = Results.from_scores(self.score(ctx), k, self.allowed(filters, ctx, exclude_seen))
        return Recommendation(res.ids, res.scores, tuple(self.explain(ctx, int(i)) for i in res.ids))

    def similar(self, item: int, k: int = 10, filters: Filters | None = None) -> Recommendation:
        mask = self.allowed(filters)
        mask[item] = False
        res = Results.from_scores(self.score_item(item), k, mask)
        ctx = Context.of([item])
        return Recommendation(res.ids, res.scores, tuple(self.explain(ctx, int(i)) for i in res.ids))


def csr_rows(m: sp.csr_matrix, rows: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any], FloatArray]:
    """``m[rows]`` as (indptr, indices, data), entries in the order scipy's row indexing gives,
    read straight off the CSR arrays: scipy's fancy indexing costs ~0.1 ms of checks per call,
    more than the gather itself on the few rows a shopper's context touches."""
    r = np.asarray(rows, dtype=np.int64).reshape(-1)
    lo, hi = m.indptr[r].astype(np.int64), m.indptr[r + 1].astype(np.int64)
    lens = hi - lo
    indptr = np.zeros(len(r) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    take = np.arange(int(indptr[-1]), dtype=np.int64) + np.repeat(lo - indptr[:-1], lens)
    return indptr, m.indices[take], m.data[take]


def context_entries(contexts: Sequence[Context]) -> tuple[npt.NDArray[np.int64], IntArray, FloatArray]:
    """Every context's (row in ``contexts``, item, weight) entries, context-major, items and
    weights concatenated as they are (no dtype change)."""
    rows = np.repeat(np.arange(len(contexts), dtype=np.int64), [len(c) for c in contexts])
    items = np.concatenate([c.items for c in contexts]) if contexts else np.zeros(0, np.int64)
    weights = np.concatenate([c.weights for c in contexts]) if contexts else np.zeros(0, np.float32)
    return rows, items, weights


def summed_duplicates(items: IntArray, weights: FloatArray) -> tuple[IntArray, FloatArray]:
    """``items`` with each repeated one kept once (ascending) and its ``weights`` summed as
    :func:`context_matrix` sums a context's repeats (float32, the same scipy constructor), so that
    a linear scorer (``rows.T @ weights``) gathers one row per distinct item, not one per click,
    with the scores its ``score_many`` gives: a session of 5,000 clicks on ~1,700 popular items
    gathered 5,000 long co-occurrence rows (~70 ms). The same arrays, untouched, when no item repeats."""
    if len(items) < 2:
        return items, weights
    s = np.sort(items)
    if not (s[1:] == s[:-1]).any():
        return items, weights
    rows = np.zeros(len(items), dtype=np.int64)
    m = sp.csr_matrix((weights.astype(np.float32), (rows, items)), shape=(1, int(s[-1]) + 1))
    m.sum_duplicates()
    return m.indices.astype(np.int64), m.data


def context_matrix(contexts: Sequence[Context], n_items: int) -> sp.csr_matrix:
    """(contexts x items) CSR of each context's item weights (duplicate items summed)."""
    rows, cols, vals = context_entries(contexts)
    return sp.csr_matrix((vals.astype(np.float32), (rows, cols)), shape=(len(contexts), n_items))


_NEG_INF_BITS = -8388608  # float32 -inf read as int32; a negative finite value reads lower, -0.0 lowest
_NEG_ZERO_BITS = np.iinfo(np.int32).min


def _lowest_negative(s: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each row's lowest finite score, in rows holding a negative finite one (``-inf`` left out)
    in one pass without a mask (``min(where=...)`` is many times slower): a negative float's bits
    read as uint32 grow with its magnitude, up to ``-inf``'s (0xFF800000); adding 0x800000 wraps
    ``-inf`` to 0 and keeps every negative finite value above every non-negative one."""
    shift = np.uint32(0x800000)
    top = (s.view(np.uint32) + shift).max(axis=1, initial=0)
    return (top - shift).view(np.float32)


class RowScale:
    """:func:`minmax` of each row of a (contexts x items) matrix of finite or ``-inf`` raw scores,
    as per-row parameters found from ``hi`` (the row maxima): :meth:`apply` scales whole rows
    (:func:`minmax_rows`), :meth:`values` only the entries read (the tuning pool's candidates),
    each value with the same float32 operations.

    Rows with no negative score (most components) are ``max(x, 0) / div``; the others
    (``spread``) are ``(x - sub) / div`` with ``-inf`` at 0 (rows whose finite scores are all one
    negative value scale to 0: ``max(x, 0) / 1``). A row's lowest float bits read as int32 tell
    them apart in one pass: every negative finite value reads below ``-inf``'s bits (rows holding
    ``-0.0``, which reads lowest of all, are checked value by value)."""

    def __init__(self, raw: npt.NDArray[np.float32], hi: npt.NDArray[np.float32]) -> None:
        _check(hi)
        low_bits = raw.view(np.int32).min(axis=1, initial=0)
        nonneg = low_bits >= _NEG_INF_BITS
        doubt = np.flatnonzero(low_bits == _NEG_ZERO_BITS)  # -0.0 reads lowest: look at the values
        if len(doubt):
            nonneg[doubt] = ((raw[doubt] >= 0) | (raw[doubt] == -np.inf)).all(axis=1)
        general = np.flatnonzero(~nonneg)
        self._set(hi, general, _lowest_negative(raw if len(general) == len(hi) else raw[general]))

    @classmethod
    def of_entries(cls, rows: IntArray, values: npt.NDArray[np.float32], n_rows: int) -> RowScale:
        """The scale of a (``n_rows`` x items) matrix held as its finite entries (``rows`` ascending,
        ``values``; ``-inf`` elsewhere), bit for bit ``RowScale(matrix, row maxima)``: the same row
        maxima, the same rows told apart (a row of entries >= 0, ``-0.0`` included, is not spread) and
        the same lowest value of a spread row (its lowest entry)."""
        starts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]])) if len(rows) else rows
        at = rows[starts]
        hi = np.full(n_rows, -np.inf, dtype=np.float32)
        low = np.zeros(n_rows, dtype=np.float32)
        negative = np.zeros(n_rows, dtype=bool)
        if len(rows):
            hi[at] = np.maximum.reduceat(values, starts)
            low[at] = np.minimum.reduceat(values, starts)
            negative[at] = np.logical_or.reduceat(values < 0, starts)
        _check(hi)
        out = object.__new__(cls)
        general = np.flatnonzero(negative)
        out._set(hi, general, low[general])
        return out

    def _set(self, hi: npt.NDArray[np.float32], general: IntArray, lo32: npt.NDArray[np.float32]) -> None:
        """Parameters from the row maxima ``hi``, the rows holding a negative finite score
        (``general``) and their lowest finite scores (``lo32``)."""
        self.div = np.where(hi > 0, hi, np.float32(1.0)).astype(np.float32)
        self.sub = np.zeros(len(hi), dtype=np.float32)
        self.spread = np.zeros(len(hi), dtype=bool)
        self.zero = ~(hi > 0)  # rows scaled to 0 everywhere (spread rows taken out below)
        if not len(general):
            return
        lo, h = lo32.astype(np.float64), hi[general].astype(np.float64)
        spread = h > lo  # else every finite score is one negative value: all 0
        self.spread[general[spread]] = True
        self.zero[general[spread]] = False
        self.sub[general[spread]] = lo32[spread]
        # the scalars are rounded as minmax's Python floats are when they meet a float32 array
        self.div[general] = np.where(spread, h - lo, 1.0).astype(np.float32)

    def tile(self, b: int) -> RowScale:
        """This one-row scale for ``b`` equal rows."""
        out = object.__new__(RowScale)
        out.div, out.sub, out.spread, out.zero = (np.repeat(a, b) for a in (self.div, self.sub, self.spread, self.zero))
        return out

    def values(self, rows: IntArray, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Scaled values of raw entries ``x`` of rows ``rows``."""
        spread = self.spread[rows]
        if not spread.any():
            out = np.maximum(x, np.float32(0.0))
            out /= self.div[rows]
            return out
        out = np.empty_like(x)
        keep = ~spread
        out[keep] = np.maximum(x[keep], np.float32(0.0)) / self.div[rows[keep]]
        out[spread] = _spread(x[spread], self.sub[rows[spread]], self.div[rows[spread]])
        return out

    def apply(
        self, raw: npt.NDArray[np.float32], out: npt.NDArray[np.float32] | None = None
    ) -> npt.NDArray[np.float32]:
        """Every row of ``raw`` scaled, into ``out`` (a new matrix when None; ``raw`` itself may be given)."""
        rows = np.flatnonzero(self.spread)
        if len(rows) == len(self.div) and len(rows):  # e.g. ALS's dot products: no row copied out and back
            return _spread(raw, self.sub[:, None], self.div[:, None], out)
        kept = raw[rows] if len(rows) else None  # read before ``out`` may overwrite them
        out = np.maximum(raw, np.float32(0.0), out=out)
        out /= self.div[:, None]
        if kept is not None:
            out[rows] = _spread(kept, self.sub[rows, None], self.div[rows, None])
        return out


def _check(hi: npt.NDArray[np.float32]) -> None:
    if np.isnan(hi).any() or np.isposinf(hi).any():  # NaN and +inf propagate to the row maximum
        raise ValueError("minmax_rows: scores must be finite or -inf")


def _spread(
    x: npt.NDArray[np.float32],
    sub: npt.NDArray[np.float32],
    div: npt.NDArray[np.float32],
    out: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.float32]:
    """``(x - sub) / div`` in float32, ``-inf`` at 0: the scaled values of rows holding a negative
    finite score (``out``: where to write them; ``x`` itself may be given)."""
    none = x == -np.inf
    v = np.subtract(x, sub, out=out)
    v /= div
    v[none] = 0.0
    return v


def minmax_rows(scores: npt.NDArray[np.float32], overwrite: bool = False) -> npt.NDArray[np.float32]:
    """:func:`minmax` of each row of a (contexts x items) matrix of finite or ``-inf`` scores
    (:class:`RowScale`); ``overwrite``: a float32 ``scores`` of the caller's own is scaled in
    place (one matrix less)."""
    s = np.asarray(scores, dtype=np.float32)
    if s.ndim != 2:
        raise ValueError("minmax_rows: scores must be 2-d")
    scale = RowScale(s, s.max(axis=1, initial=-np.inf))
    return scale.apply(s, s if overwrite and s is scores else None)


def minmax(scores: FloatArray) -> FloatArray:
    """Scale finite scores to [0, 1]; ``-inf`` (no evidence) becomes 0.

    Non-negative scores are divided by their maximum (ratios kept); others are min-max scaled.
    """
    s = np.asarray(scores, dtype=np.float32)
    fin = np.isfinite(s)
    out = np.zeros_like(s)
    # most components score a few items: index those once instead of boolean-masking three times
    idx: npt.NDArray[np.intp] | slice = slice(None) if fin.all() else np.flatnonzero(fin)
    v = s[idx]
    if not v.size:
        return out
    lo, hi = float(v.min()), float(v.max())
    if lo >= 0.0 and hi > 0.0:
        out[idx] = v / hi
    elif hi > lo:
        out[idx] = (v - lo) / (hi - lo)
    else:
        out[idx] = 1.0 if hi > 0 else 0.0
    return out


def category_label(catalog: Catalog, row: int, depth: int = 1) -> str:
    cat = catalog.products[row].category
    return " > ".join(cat[:depth]) if cat else "the catalog"
