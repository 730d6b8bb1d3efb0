"""Item-item co-occurrence within baskets/sessions ("frequently bought together"; reasons name
the event types counted: :mod:`shelfwise.recommend.wording`).

Item-based collaborative filtering (Sarwar et al., 2001; Linden et al., 2003, "Amazon.com
recommendations: item-to-item collaborative filtering") with the asymmetric cosine
``c_ij / (n_i^alpha * n_j^(1-alpha))`` of Aiolli, 2013, which controls popularity bias.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.events.schema import EVENT_WEIGHTS, Event, EventType
from shelfwise.recommend.base import BaseRecommender, Context, context_entries, no_evidence, summed_duplicates
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import (
    StateFileError,
    check_shape,
    csr_arrays,
    csr_from,
    csr_keys,
    read_json,
    read_npz,
    write_json,
)
from shelfwise.recommend.wording import KINDS, LEVELS, Wording, evidence_levels, level, named
from shelfwise.results import FloatArray, IntArray

_OPEN_SESSIONS = 10_000
_LEVEL_KEYS = ("carted", "bought")  # the npz names of ``levels``, one per LEVELS entry


def _ones(rows: list[int], cols: list[int], n: int) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))


def dense_product(a: sp.csr_matrix, b: sp.csr_matrix) -> npt.NDArray[np.float32]:
    """``(a @ b).toarray()`` as float32, for float32 CSR ``a`` and ``b`` whose product is dense
    (long contexts reach most items): scipy's own kernel (``csr_matmat``, the one ``a @ b`` calls:
    the same products summed in the same order) writes into buffers sized for a dense result,
    which skips ``a @ b``'s first pass over every product (counting the sparse result's entries)
    and the sparse matrix in between. ``a @ b`` where that kernel is not at hand."""
    m, n = a.shape[0], b.shape[1]
    kernels: Any = getattr(sp, "_sparsetools", None)
    fast = (
        kernels is not None
        and hasattr(kernels, "csr_matmat")
        and hasattr(kernels, "csr_todense")
        and a.format == b.format == "csr"
        and a.dtype == b.dtype == np.float32
        and 0 < m * n < np.iinfo(np.int32).max
        and max(a.nnz, b.nnz) < np.iinfo(np.int32).max
    )
    if not fast:
        return np.asarray((a @ b).toarray(), dtype=np.float32)
    i32 = np.int32
    indptr, indices = np.empty(m + 1, dtype=i32), np.empty(m * n, dtype=i32)  # pages past the product's
    data = np.empty(m * n, dtype=np.float32)  # entries are never touched
    kernels.csr_matmat(
        m, n, a.indptr.astype(i32, copy=False), a.indices.astype(i32, copy=False), a.data,
        b.indptr.astype(i32, copy=False), b.indices.astype(i32, copy=False), b.data, indptr, indices, data,
    )  # fmt: skip
    out = np.zeros((m, n), dtype=np.float32)
    kernels.csr_todense(m, n, indptr, indices, data, out)
    return out


def pair_count(m: sp.csr_matrix, a: int, b: int) -> float:
    """``float(m[a, b])`` read off the CSR arrays (scipy's scalar indexing costs ~50 us of checks,
    several per listed item's reason)."""
    lo, hi = int(m.indptr[a]), int(m.indptr[a + 1])
    return float(m.data[lo:hi][m.indices[lo:hi] == b].sum())


@dataclass(frozen=True)
class CooccurrenceConfig:
    alpha: float = 0.5  # 0.5 = cosine; larger favours rarer candidates less
    min_count: int = 1  # pairs seen fewer times are ignored

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError("CooccurrenceConfig.alpha must be in [0, 1]")
        if self.min_count < 1:
            raise ValueError("CooccurrenceConfig.min_count must be >= 1")


class CooccurrenceRecommender(BaseRecommender):
    name = "cooccurrence"

    def __init__(self, config: CooccurrenceConfig | None = None) -> None:
        super().__init__()
        self.config = config or CooccurrenceConfig()
        self.pairs: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.baskets: FloatArray = np.zeros(0, dtype=np.float32)
        self._open: OrderedDict[str, set[int]] = OrderedDict()
        self._norms: dict[float, FloatArray] = {}  # basket-count normalisers, dropped when counts change
        # pair counts of the sessions where both items were at least added to cart / bought
        # (:data:`~shelfwise.recommend.wording.LEVELS`), kept when the store logs more than one
        # kind of event, so that each pair's reason names its own evidence; empty otherwise
        self.levels: list[sp.csr_matrix] = []
        self._open_levels: dict[str, dict[int, int]] = {}  # each open session's rows' levels (not saved)
        # without ``levels``: the level every counted pair reached when the store logged one kind of
        # event (0 viewed, 1 carted, 2 bought), so that a live event of another kind splits the
        # counts into ``levels`` then and each pair keeps its own evidence; None when not known
        self.evidence: int | None = None
        self._summed: tuple[Context, IntArray, FloatArray] | None = None  # :meth:`_summed_weights`' last context

    def _fit(self, data: Interactions) -> None:
        x = data.session_item()
        c = (x.T @ x).tocsr().astype(np.float32)
        c.setdiag(0.0)
        if self.config.min_count > 1:
            c.data[c.data < self.config.min_count] = 0.0
        c.eliminate_zeros()
        self.pairs = c
        self.baskets = np.asarray(x.sum(axis=0), dtype=np.float32).ravel()
        self._norms = {}
        self._open_levels = {}
        self.levels = []
        kinds = evidence_levels(data.event_types)
        self.evidence = kinds.pop() if len(kinds) == 1 else None
        if data.event_type is not None and len(kinds) > 1:
            for lv in LEVELS:
                y = data.take(data.event_type >= int(lv)).session_item()
                m = (y.T @ y).tocsr().astype(np.float32)
                m.setdiag(0.0)
                m.eliminate_zeros()
                self.levels.append(m)

    def update(self, events: Sequence[Event]) -> None:
        """New pairs within each event's session are added to the counts. The first event of
        another kind than a one-kind store's (a view after purchases) splits the counts by level
        (:attr:`levels`), so that every pair keeps naming its own evidence."""
        rows: list[int] = []
        cols: list[int] = []
        counted = [(e, row) for e in events if (row := self._counted_row(e)) is not None]
        if not self.levels and self.evidence is not None and self._other_kind(e for e, _ in counted):
            self._split_levels()
        level_pairs: list[tuple[list[int], list[int]]] = [([], []) for _ in self.levels]
        for e, row in counted:
            key = e.session_id or f"user:{e.user_id}"
            basket = self._open.setdefault(key, set())
            self._open.move_to_end(key)
            if self.levels:
                self._raise_level(key, basket, row, e.type, level_pairs)
            if row in basket:
                continue
            for other in basket:
                rows += [row, other]
                cols += [other, row]
            basket.add(row)
            self.baskets[row] += 1.0
            self._norms = {}
            if len(self._open) > _OPEN_SESSIONS:
                self._open_levels.pop(self._open.popitem(last=False)[0], None)
        n = self.n_items
        if rows:
            self.pairs = (self.pairs + _ones(rows, cols, n)).tocsr()
        for j, (r, c) in enumerate(level_pairs):
            if r:
                self.levels[j] = (self.levels[j] + _ones(r, c, n)).tocsr()

    def _raise_level(
        self, key: str, basket: set[int], row: int, kind: EventType, out: list[tuple[list[int], list[int]]]
    ) -> None:
        """Record ``row``'s level in session ``key`` (how far it went: viewed, carted, bought) and
        the pairs this event lifts to a level they had not reached in it, into ``out`` (one
        (rows, cols) per level). Rows of a session opened before a reload count as viewed."""
        got = self._open_levels.setdefault(key, {})
        new = level(kind)
        old = got.get(row, 0) if row in basket else -1
        if new <= old:
            return
        for other in basket:
            if other == row:
                continue
            lo = got.get(other, 0)
            for j in range(len(LEVELS)):  # level j + 1: both items reached LEVELS[j]
                if min(new, lo) >= j + 1 > min(old, lo):
                    out[j][0].extend((row, other))
                    out[j][1].extend((other, row))
        got[row] = new

    def _counted_row(self, e: Event) -> int | None:
        """The catalog row of ``e``'s item when ``e`` counts (a known item, a positive weight)."""
        row = self.catalog.get_row(e.item_id) if e.item_id else None
        return None if row is None or EVENT_WEIGHTS.get(e.type, 0.0) <= 0 else row

    def _other_kind(self, events: Iterable[Event]) -> bool:
        """Whether counted ``events`` hold one of another kind than :attr:`evidence`'s."""
        return any(e.type in KINDS and level(e.type) != self.evidence for e in events)

    def _split_levels(self) -> None:
        """Start :attr:`levels` from counts of one kind of evidence: every pair (and every open
        session's row) reached :attr:`evidence`'s level."""
        assert self.evidence is not None
        n = self.n_items
        self.levels = [
            self.pairs.copy() if self.evidence > j else sp.csr_matrix((n, n), dtype=np.float32)
            for j in range(len(LEVELS))
        ]
        self._open_levels = {k: dict.fromkeys(rows, self.evidence) for k, rows in self._open.items()}
        self.evidence = None

    def pair_wording(self, a: int, b: int) -> Wording:
        """How the reason for items ``a`` and ``b`` names their evidence: the pair's own
        (:attr:`levels`, or :attr:`evidence` for a store of one kind), else the store's."""
        if self.levels:
            return Wording.of_pair(*(pair_count(m, a, b) for m in (self.pairs, *self.levels[:2])))
        if self.evidence is None:
            return self.wording
        n = pair_count(self.pairs, a, b)
        return Wording.of_pair(n, n if self.evidence > 0 else 0.0, n if self.evidence > 1 else 0.0)

    def _norm(self, counts: FloatArray, exponent: float) -> FloatArray:
        return np.power(np.maximum(counts, 1.0), exponent).astype(np.float32)

    def norm(self, exponent: float) -> FloatArray:
        """``max(n_i, 1) ** exponent`` over the catalog, computed once per basket-count state."""
        out = self._norms.get(exponent)
        if out is None or out.shape != self.baskets.shape:
            out = self._norms[exponent] = self._norm(self.baskets, exponent)
        return out

    def score(self, ctx: Context) -> FloatArray:
        if not len(ctx):
            return no_evidence(self.n_items)
        a = self.config.alpha
        items, w = summed_duplicates(ctx.items, ctx.weights / self.norm(a)[ctx.items])  # one row per item
        raw = np.asarray(self.pairs[items].T @ w, dtype=np.float32).ravel()
        s = raw / self.norm(1.0 - a)
        return np.where(raw > 0, s, -np.inf).astype(np.float32)

    def scaled_batch(self, contexts: sp.spmatrix) -> npt.NDArray[np.float32]:
        """Asymmetric-cosine scores of many shoppers at once, 0 where there is no evidence: row
        ``u`` of ``contexts`` (shoppers x items) holds shopper ``u``'s item weights; returns dense
        (shoppers x items). Linear in ``contexts``: the rows of a sum are the sums of the rows."""
        a = self.config.alpha
        w = sp.csr_matrix(contexts, dtype=np.float32) @ sp.diags(1.0 / self.norm(a))
        raw = np.asarray((w @ self.pairs).toarray(), dtype=np.float32)
        return (raw / self.norm(1.0 - a)[None, :]).astype(np.float32)

    def score_batch(self, contexts: sp.spmatrix) -> npt.NDArray[np.float32]:
        """:meth:`score` for many shoppers at once (``-inf`` where there is no evidence); see
        :meth:`scaled_batch`."""
        s = self.scaled_batch(contexts)
        return np.where(s > 0, s, -np.inf).astype(np.float32)

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context in one sparse product, the same float32 operations in the
        same order as :meth:`score` (weights divided by the normaliser, then summed item by item)."""
        rows, items, weights = context_entries(contexts)
        return self.score_entries(rows, items.astype(np.int64), weights, len(contexts))

    def score_entries(
        self, rows: npt.NDArray[np.int64], items: npt.NDArray[np.int64], weights: FloatArray, n_rows: int
    ) -> npt.NDArray[np.float32]:
        """:meth:`score_many` of ``n_rows`` contexts given as entries (context row, item, weight),
        context-major (duplicates are summed as :func:`~shelfwise.recommend.base.context_matrix`
        sums them: the same sparse constructor)."""
        w = (weights / self.norm(self.config.alpha)[items]).astype(np.float32)  # as score() weighs them
        return self._scores(sp.csr_matrix((w, (rows, items)), shape=(n_rows, self.n_items)))

    def _scores(self, weighted: sp.csr_matrix) -> npt.NDArray[np.float32]:
        """``score``'s ``where(raw > 0, raw / norm, -inf)`` of every row, in place on the product."""
        raw = dense_product(weighted, self.pairs)
        none = raw <= 0  # no NaN in counts: the complement of raw > 0
        np.divide(raw, self.norm(1.0 - self.config.alpha), out=raw)
        raw[none] = -np.inf
        return raw

    def score_item(self, item: int) -> FloatArray:
        return self.score(Context.of([item]))

    def together(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw co-occurrence counts of ``item``: (partner rows, counts)."""
        p = self.pairs  # the CSR row read in place: no scipy slice per call (one per listed item)
        a, b = int(p.indptr[item]), int(p.indptr[item + 1])
        return p.indices[a:b].astype(np.int64), p.data[a:b].astype(np.float32)

    def _summed_weights(self, ctx: Context) -> tuple[IntArray, FloatArray]:
        """``ctx``'s distinct items (ascending) and each one's summed weight, as :meth:`score`
        sums them, kept for the next call with the same context: a list's reasons look up every
        listed item's partner in one context (a long session would otherwise be sorted once per
        listed item)."""
        memo = self._summed  # one read: another thread may replace it meanwhile
        if memo is not None and memo[0] is ctx:
            return memo[1], memo[2]
        items, inverse = np.unique(ctx.items, return_inverse=True)
        weights = np.zeros(len(items), dtype=np.float64)
        np.add.at(weights, inverse, ctx.weights)
        self._summed = (ctx, items, weights.astype(np.float32))
        return items, self._summed[2]

    def partner(self, ctx: Context, item: int) -> int | None:
        """The context item whose term in :meth:`score` is the largest for ``item`` (pair count x
        its summed weight / its basket count ** alpha: the normalised term that ranked ``item``,
        not the raw count, which favours popular partners), if any (ties: the lowest row)."""
        if not len(ctx):
            return None
        partners, counts = self.together(item)
        items, weights = self._summed_weights(ctx)
        at = np.minimum(np.searchsorted(items, partners), len(items) - 1)
        hit = np.flatnonzero(items[at] == partners)
        if not len(hit):
            return None
        order = hit[np.argsort(partners[hit], kind="stable")]  # common items ascending, as intersect1d gives
        rows = partners[order]
        terms = counts[order] * weights[at[order]] / self.norm(self.config.alpha)[rows]
        return int(rows[np.argmax(terms)])

    def explain(self, ctx: Context | None, item: int) -> str:
        best = self.partner(ctx, item) if ctx is not None else None
        if best is None:
            return self.wording.frequently_together()
        times = pair_count(self.pairs, best, item)
        return self.pair_wording(best, item).together_with(named(self.catalog.products[best].title), times)

    def save(self, path: str | Path) -> None:
        """``cooccurrence.npz`` (pair counts as scipy CSR arrays, basket counts) and
        ``cooccurrence.json`` (the open sessions that later ``update`` calls extend)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        levels = {k: v for lv, m in zip(_LEVEL_KEYS, self.levels, strict=False) for k, v in csr_arrays(lv, m).items()}
        np.savez(
            p / "cooccurrence.npz",
            allow_pickle=False,
            baskets=self.baskets,
            **csr_arrays("pairs", self.pairs),
            **levels,
        )
        meta = {
            "open_sessions": [[k, sorted(v)] for k, v in self._open.items()],
            "open_levels": [[k, sorted(v.items())] for k, v in self._open_levels.items()],
            "evidence": self.evidence,
        }
        write_json(p / "cooccurrence.json", meta)

    def load_state(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote (after ``fit`` or ``attach`` on the same catalog)."""
        p = Path(path)
        n = self.n_items
        f = p / "cooccurrence.npz"
        z = read_npz(f, ("baskets", *csr_keys("pairs")))
        self.pairs = csr_from(z, "pairs", f, (n, n)).astype(np.float32)
        self.baskets = check_shape(f, "baskets", z["baskets"].astype(np.float32), (n,))
        self._norms = {}
        self._open_levels = {}
        # saved before levels were (or one kind of event): reasons use the store's wording
        has = all(f"{lv}_indptr" in z for lv in _LEVEL_KEYS)
        self.levels = [csr_from(z, lv, f, (n, n)).astype(np.float32) for lv in _LEVEL_KEYS] if has else []
        j = p / "cooccurrence.json"
        try:
            meta = read_json(j)
            self._open = OrderedDict((str(k), {int(r) for r in rows}) for k, rows in meta["open_sessions"])
            levels = meta.get("open_levels", [])
            self._open_levels = {str(k): {int(r): int(lv) for r, lv in rows} for k, rows in levels}
            evidence = meta.get("evidence")  # saved before it was: the store's wording, as then
            self.evidence = None if evidence is None or self.levels else int(evidence)
            if self.evidence is not None and not 0 <= self.evidence <= len(LEVELS):
                raise ValueError(f"evidence level {self.evidence}")
        except (KeyError, TypeError, ValueError) as e:
            raise StateFileError(j, f"bad open_sessions ({e})") from e
        if any(r < 0 or r >= n for rows in self._open.values() for r in rows):
            raise StateFileError(j, "open_sessions holds rows outside the catalog")
