"""Content-based recommendations from language-model item embeddings.

An item-kNN graph over text embeddings (each item keeps its ``neighbours`` most cosine-similar
items), scored like item-based CF (Sarwar et al., 2001) but with text similarity instead of
co-occurrence, so items with no behaviour at all (new arrivals) are reachable: the cold-start
remedy of content-based filtering (Lops et al., 2011; Schein et al., 2002). A typed query
adds a term for its matching items only (:mod:`shelfwise.recommend.query`), for shoppers with
no history. Related items (``score_item``) are read off the same graph: an item request
touches its ``neighbours`` items, not the catalog.

Above ``ContentConfig.all_rows_max_items`` the graph keeps rows only for the items with events
(the items a shopper's history can hold: 82k of 1M rows in the 1M bench); an item without a
row (a new arrival in a session, an event-less item's related items) gets its neighbours at
request time, the same top-``neighbours`` cosines: exact up to ``exact_max_items``, through the
shelf's vector index (its ANN search) above. The vectors are read where they live
(:class:`~shelfwise.recommend.vectors.ItemVectors`), not copied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.errors import MissingExtraError
from shelfwise.index.backends import VectorStore
from shelfwise.recommend.base import (
    BaseRecommender,
    Context,
    Recommendation,
    context_matrix,
    csr_rows,
    no_evidence,
    summed_duplicates,
)
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import StateFileError, csr_arrays, csr_from, csr_keys, read_npz
from shelfwise.recommend.query import ItemWords, QueryMatches, match_query
from shelfwise.recommend.vectors import ItemVectors
from shelfwise.recommend.wording import named
from shelfwise.results import FloatArray

if TYPE_CHECKING:
    from shelfwise.catalog.schema import Catalog
    from shelfwise.recommend.profiles import UserProfiles


QUERY_REASON = "matches what you searched for"  # the reason of a typed query's matches


@dataclass(frozen=True)
class _History:
    """A context's distinct items, their summed weights and their sharpened graph rows (by column)."""

    items: npt.NDArray[np.int64]
    weights: FloatArray
    rows: sp.csc_matrix


@dataclass(frozen=True)
class ContentConfig:
    """``exact_max_items``: the text graph is exact up to this many items (all pairs: O(n²));
    above it, each item's neighbours are searched among the items of the ``probe_cells`` k-means
    cells nearest its own (:func:`approx_knn_graph`). ``all_rows_max_items``: up to this many
    items every item has its graph row; above it only items with events do (see the module
    docstring). ``query_matches``: a typed query's term covers only its best this-many matches
    (:func:`~shelfwise.recommend.query.match_query`), at most ``query_match_share`` of the
    catalog (a query names a few products, not the store), among its ``query_pool`` nearest
    items: by exact cosine up to ``exact_max_items``, above it by the vector index's ANN search
    (for at most ``query_candidates`` items)."""

    neighbours: int = 50
    power: float = 2.0  # sharpen similarities: sim ** power
    min_similarity: float = 0.2
    query_weight: float = 1.0
    exact_max_items: int = 200_000
    probe_cells: int = 16
    all_rows_max_items: int = 200_000
    query_candidates: int = 2_000
    query_matches: int = 50
    query_pool: int = 200
    query_match_share: float = 0.05

    def __post_init__(self) -> None:
        if self.neighbours < 1 or self.power <= 0:
            raise ValueError("ContentConfig: neighbours >= 1 and power > 0")
        if not -1.0 <= self.min_similarity < 1.0:
            raise ValueError("ContentConfig.min_similarity must be in [-1, 1)")
        if self.exact_max_items < 0 or self.probe_cells < 1 or self.all_rows_max_items < 0:
            raise ValueError("ContentConfig: exact_max_items >= 0, all_rows_max_items >= 0 and probe_cells >= 1")
        if self.query_candidates < 1:
            raise ValueError("ContentConfig.query_candidates must be >= 1")
        if not 1 <= self.query_matches <= self.query_pool:
            raise ValueError("ContentConfig: 1 <= query_matches <= query_pool")
        if not 0.0 < self.query_match_share <= 1.0:
            raise ValueError("ContentConfig.query_match_share must be in (0, 1]")


def knn_graph(
    vectors: npt.NDArray[np.float32],
    neighbours: int,
    min_similarity: float,
    chunk: int = 2048,
    *,
    rows: npt.NDArray[np.int64] | None = None,
) -> sp.csr_matrix:
    """Sparse (n x n) matrix of each row's top-``neighbours`` cosines (self excluded), exact;
    with ``rows``, only those rows are filled (the others empty).

    faiss's flat inner-product search (heap top-k in C++, threads) when faiss is installed (the
    ``search`` extra), numpy otherwise; both give the same graph (tests/recommend/test_content_knn_graph.py)."""
    n = vectors.shape[0]
    m = min(neighbours, max(n - 1, 0))
    if m == 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    out_rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    flat: Any = None
    try:
        import faiss

        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    except ImportError:
        pass
    want = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    for a in range(0, len(want), chunk):
        idx = want[a : a + chunk]
        if flat is not None:
            d, i = flat.search(np.ascontiguousarray(vectors[idx], dtype=np.float32), m + 1)
            top, s = _without_self(i, d, idx)
        else:
            sims = vectors[idx] @ vectors.T
            sims[np.arange(len(idx)), idx] = -np.inf
            top = np.argpartition(-sims, m - 1, axis=1)[:, :m]
            s = np.take_along_axis(sims, top, axis=1)
        keep = s >= min_similarity
        out_rows.append(np.repeat(idx, m)[keep.ravel()])
        cols.append(top[keep])
        vals.append(s[keep])
    if not out_rows:
        return sp.csr_matrix((n, n), dtype=np.float32)
    r, c, v = np.concatenate(out_rows), np.concatenate(cols), np.concatenate(vals).astype(np.float32)
    return sp.csr_matrix((v, (r, c)), shape=(n, n))


def _without_self(
    ids: npt.NDArray[np.int64], sims: npt.NDArray[np.float32], own: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """A faiss top-``k + 1`` result (each row best first, distinct ids) cut to ``k`` columns without
    the row's own id ``own[r]``: wherever ties put it, or the last column when ties left it out
    (faiss already sorts each row: no argsort)."""
    keep = ids != own[:, None]
    keep[keep.all(axis=1), -1] = False
    k = ids.shape[1] - 1
    return ids[keep].reshape(-1, k), sims[keep].reshape(-1, k)


CELL_ITEMS = 250  # items per k-means cell of the approximate text graph


def approx_knn_graph(
    vectors: npt.NDArray[np.float32],
    neighbours: int,
    min_similarity: float,
    probe_cells: int = 16,
    *,
    cells: int = 0,
    seed: int = 0,
    rows: npt.NDArray[np.int64] | None = None,
) -> sp.csr_matrix:
    """:func:`knn_graph` over a bounded candidate set, for catalogs too large for all pairs;
    with ``rows``, only those rows are filled (each with the neighbours it has in the full graph).

    Spherical k-means (faiss) splits the items into ``cells`` (default n / 250: 250 items each);
    each item's neighbours are the best ``neighbours`` among the items of the
    ``probe_cells`` cells whose centroids are nearest its own cell's (its own first), found with
    one matrix product per cell (BLAS), not per-item index scans. The candidate *set* is
    approximate (an item just across a cell border from a far cell can be missed: recall is
    measured in ``bench/bench_million.py``); each kept similarity is the exact cosine.
    Cost: n x probe_cells x (n / cells) dot products instead of n² (4,000 per item instead of
    1M at 1M items). Needs faiss (the ``search`` extra): :class:`MissingExtraError` otherwise."""
    try:
        import faiss
    except ImportError as exc:
        raise MissingExtraError("faiss-cpu", "search") from exc

    n, d = vectors.shape
    m = min(neighbours, max(n - 1, 0))
    n_cells = cells or max(1, n // CELL_ITEMS)
    probe = min(probe_cells, n_cells)
    if m == 0 or n_cells < 2:
        return knn_graph(vectors, neighbours, min_similarity, rows=rows)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    km = faiss.Kmeans(d, n_cells, niter=10, seed=seed, spherical=True, max_points_per_centroid=32)
    km.train(x)
    cell = np.empty(n, dtype=np.int64)
    for a in range(0, n, 65536):
        cell[a : a + 65536] = km.index.search(x[a : a + 65536], 1)[1][:, 0]
    centroids = np.asarray(km.centroids, dtype=np.float32)
    near = np.argsort(-(centroids @ centroids.T), axis=1, kind="stable")
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(n_cells + 1))
    want = np.arange(n, dtype=np.int64) if rows is None else np.unique(np.asarray(rows, dtype=np.int64))
    slot = np.full(n, -1, dtype=np.int64)  # catalog row -> its row in ``cols`` / ``sims``
    slot[want] = np.arange(len(want))
    cols = np.full((len(want), m), -1, dtype=np.int32)
    sims = np.full((len(want), m), -np.inf, dtype=np.float32)
    for c in range(n_cells):
        own = order[bounds[c] : bounds[c + 1]]
        at = np.flatnonzero(slot[own] >= 0)  # positions in ``own`` of the rows to fill
        if not len(at):
            continue
        others = [o for o in near[c][: probe + 1].tolist() if o != c][: probe - 1]
        cand = np.concatenate([own, *(order[bounds[o] : bounds[o + 1]] for o in others)])
        k = min(m, len(cand) - 1)
        if k < 1:
            continue
        # blocked matrix product + heap top-k in faiss's C++; self comes back among the k + 1
        s, top = faiss.knn(x[own[at]], x[cand], k + 1, metric=faiss.METRIC_INNER_PRODUCT)
        top, s = _without_self(top, s, at)  # self: ``own`` leads ``cand``
        cols[slot[own[at]], :k] = cand[top]
        sims[slot[own[at]], :k] = s
    keep = sims >= min_similarity
    counts = np.zeros(n, dtype=np.int64)
    counts[want] = keep.sum(axis=1)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    g = sp.csr_matrix((sims[keep], cols[keep], indptr), shape=(n, n))
    g.sort_indices()
    return g


class ContentRecommender(BaseRecommender):
    name = "content"

    def __init__(
        self, item_vectors: npt.NDArray[np.float32] | VectorStore | ItemVectors, config: ContentConfig | None = None
    ) -> None:
        super().__init__()
        self.config = config or ContentConfig()
        self.vectors = ItemVectors(item_vectors)
        self.graph: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.has_row: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)  # items whose row ``graph`` holds
        self._rows_memo: tuple[Context, npt.NDArray[np.float32]] | None = None
        self._graph_memo: tuple[Context, sp.csr_matrix, _History] | None = None  # (ctx, graph, its rows)
        self._query_memo: tuple[FloatArray, str, QueryMatches] | None = None
        self._words: ItemWords | None = None  # each item's words, for typed-query matching

    def _fit(self, data: Interactions) -> None:
        n = self.vectors.shape[0]
        self._forget()
        if n != data.n_items:
            raise ValueError(f"item_vectors has {n} rows, catalog has {data.n_items}")
        want = np.ones(n, dtype=bool) if n <= self.config.all_rows_max_items else data.item_counts() > 0
        if self.graph.shape == (n, n):  # the graph depends on the vectors only: a refit (e.g. after
            missing = np.flatnonzero(want & ~self.has_row)  # weight tuning) keeps it, adding rows
            if len(missing):  # for items that have events now
                self.graph = (self.graph + self._build(missing)).tocsr()
                self.has_row[missing] = True
            return
        self.graph = self._build(None if want.all() else np.flatnonzero(want))
        self.has_row = want.copy()

    def attach(self, catalog: Catalog, profiles: UserProfiles | None) -> None:
        super().attach(catalog, profiles)
        self._forget()

    def _forget(self) -> None:
        """Drop what was kept for the previous catalog and graph (a refit, attach or load may change
        them): nothing of theirs stays in memory."""
        self._rows_memo = self._graph_memo = self._query_memo = None
        self._words = None

    def _build(self, rows: npt.NDArray[np.int64] | None) -> sp.csr_matrix:
        """The sharpened graph with rows ``rows`` (all: None) filled."""
        cfg = self.config
        x = self.vectors.matrix()
        if x.shape[0] <= cfg.exact_max_items:
            g = knn_graph(x, cfg.neighbours, cfg.min_similarity, rows=rows)
        else:
            g = approx_knn_graph(x, cfg.neighbours, cfg.min_similarity, cfg.probe_cells, rows=rows)
        g.data = np.power(np.maximum(g.data, 0.0), cfg.power).astype(np.float32)
        return g

    def _graph_rows(self, items: npt.NDArray[np.int64]) -> sp.csr_matrix:
        """The sharpened graph rows of ``items`` (len(items) x n), rows it lacks found now."""
        if self.has_row[items].all():
            return self.graph[items]
        g, parts = self.graph, []
        for i in items.tolist():
            if self.has_row[i]:
                a, b = int(g.indptr[i]), int(g.indptr[i + 1])
                parts.append((g.indices[a:b].astype(np.int64), g.data[a:b]))
            else:
                rows, sims = self.neighbours(i)
                parts.append((rows, np.power(np.maximum(sims, 0.0), self.config.power).astype(np.float32)))
        indptr = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(r) for r, _ in parts], out=indptr[1:])
        cols, vals = np.concatenate([r for r, _ in parts]), np.concatenate([v for _, v in parts])
        return sp.csr_matrix((vals, cols, indptr), shape=(len(parts), self.n_items))

    def score(self, ctx: Context) -> FloatArray:
        s = np.zeros(self.n_items, dtype=np.float32)
        hit = np.zeros(self.n_items, dtype=bool)
        if len(ctx):
            items, weights = summed_duplicates(ctx.items, ctx.weights)  # one row (or search) per item
            sub = self._graph_rows(items)
            s += np.asarray(sub.T @ weights, dtype=np.float32).ravel()
            hit[sub.indices] = True
        if ctx.query_vector is not None:
            self._add_query(s, hit, ctx)
        return np.where(hit, s, -np.inf).astype(np.float32) if hit.any() else no_evidence(self.n_items)

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context: the graph rows of all contexts in one sparse product
        (contexts holding an item without a graph row: one :meth:`score` each)."""
        items = np.concatenate([c.items for c in contexts]) if contexts else np.zeros(0, np.int64)
        if not self.has_row[items].all():
            return np.stack([self.score(c) for c in contexts])
        w = context_matrix(contexts, self.n_items)
        s = np.asarray((w @ self.graph).toarray(), dtype=np.float32)
        hit = np.zeros(s.shape, dtype=bool)
        if contexts:  # each context's items' graph rows, read off the CSR arrays (no copy of the graph)
            owner = np.repeat(np.arange(len(contexts)), [len(c) for c in contexts])
            indptr, cols, _ = csr_rows(self.graph, items)
            hit[np.repeat(owner, np.diff(indptr)), cols] = True
        for j, c in enumerate(contexts):
            if c.query_vector is not None:
                self._add_query(s[j], hit[j], c)
        return np.where(hit, s, -np.inf).astype(np.float32)

    def _add_query(self, s: FloatArray, hit: npt.NDArray[np.bool_], ctx: Context) -> None:
        """Add a typed query's term to ``s`` (in place) and mark the items it reaches in ``hit``:
        ``query_weight`` x each match's strength, for the query's matches only
        (:meth:`query_matches`). A term on every item's raw cosine would be nearly flat (the
        embeddings are anisotropic) and let popularity, not the query, order the list."""
        m = self.query_matches(ctx)
        if m is None or not len(m):
            return
        s[m.rows] += np.float32(self.config.query_weight) * m.strength
        hit[m.rows] = True

    @property
    def _item_words(self) -> ItemWords:
        """The catalog's item words, kept while the catalog is the same object."""
        got = self._words
        if got is None or got.catalog is not self.catalog:
            got = self._words = ItemWords(self.catalog)
        return got

    def query_matches(self, ctx: Context) -> QueryMatches | None:
        """The matches of ``ctx``'s typed query (None without one), kept for the next call with
        the same query: a list's ranking and reasons read them again. Candidates: the
        ``query_pool`` nearest by exact cosine up to ``exact_max_items``; above it by the vector
        index's approximate search (at 1M items the exact pass decodes every row: the typed-query
        session took 107/148 ms p50/p99 with it, 7.4/14.1 without, in ``bench/results/million.json``)."""
        qv = ctx.query_vector
        if qv is None:
            return None
        memo = self._query_memo  # one read: another thread may replace it meanwhile
        if memo is not None and memo[0] is qv and memo[1] == ctx.query:
            return memo[2]
        cfg = self.config
        exact = self.n_items <= cfg.exact_max_items
        pool = cfg.query_pool if exact else min(cfg.query_pool, cfg.query_candidates)
        size = max(1, min(cfg.query_matches, math.ceil(cfg.query_match_share * self.n_items)))
        m = match_query(self.vectors, self._item_words, qv, ctx.query, size=size, pool=pool, exact=exact)
        self._query_memo = (qv, ctx.query, m)
        return m

    def neighbours(self, item: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """``item``'s text neighbours: (rows, cosines), unordered.

        These are the catalog's ``neighbours`` most cosine-similar items (at least
        ``min_similarity``). From the fit-time kNN graph when it has ``item``'s row (the cosine
        read back from the sharpened weight, so no other item is scored); otherwise found now:
        exact over every row up to ``exact_max_items``, the vector index's search above."""
        if self.has_row[item]:
            g = self.graph
            a, b = int(g.indptr[item]), int(g.indptr[item + 1])
            sims = np.power(g.data[a:b], np.float32(1.0 / self.config.power), dtype=np.float32)
            return g.indices[a:b].astype(np.int64), sims
        cfg, n = self.config, self.n_items
        m = min(cfg.neighbours, max(n - 1, 0))
        rows, sims = self.vectors.nearest(self.vectors[item], m + 1, exact=n <= cfg.exact_max_items)
        keep = (rows != item) & (sims >= cfg.min_similarity)
        return rows[keep][:m], sims[keep][:m]

    def cosines(self, item: int, rows: npt.NDArray[np.int64] | None = None) -> FloatArray:
        """Exact cosines of ``item`` with ``rows`` (default: the whole catalog)."""
        v = self.vectors[item]
        return (self.vectors.scores(v) if rows is None else self.vectors[rows] @ v).astype(np.float32)

    def score_item(self, item: int) -> FloatArray:
        """Cosine to ``item`` of its graph neighbours, ``-inf`` elsewhere: the top of the exact
        ranking (:meth:`cosines`) down to ``neighbours`` items, without scoring the catalog."""
        rows, sims = self.neighbours(item)
        s = no_evidence(self.n_items)
        s[rows] = sims
        return s

    def _context_rows(self, ctx: Context) -> npt.NDArray[np.float32]:
        """The vectors of ``ctx``'s items, kept for the next call with the same context: a list's
        reasons explain each of its items against one context (read from a vector index, a long
        history's rows would otherwise be decoded once per listed item)."""
        memo = self._rows_memo  # one read: another thread may replace it meanwhile
        if memo is not None and memo[0] is ctx:
            return memo[1]
        rows = self.vectors[ctx.items]
        self._rows_memo = (ctx, rows)
        return rows

    def _history_rows(self, ctx: Context) -> _History:
        """:meth:`_graph_rows` of ``ctx``'s distinct items (their weights summed, as :meth:`score`
        sums them), by column, kept for the next call with the same context and graph: a list's
        reasons read one column of them per listed item (an item without a graph row would
        otherwise be searched for again per listed item)."""
        memo = self._graph_memo  # one read: another thread may replace it meanwhile
        if memo is not None and memo[0] is ctx and memo[1] is self.graph:
            return memo[2]
        graph = self.graph
        items, weights = summed_duplicates(ctx.items, ctx.weights)
        held = _History(items, weights, self._graph_rows(items).tocsc())
        self._graph_memo = (ctx, graph, held)
        return held

    def source(self, ctx: Context, item: int) -> int | None:
        """The item of ``ctx``'s history (``ctx`` holds items) that :meth:`explain` names for
        ``item``: the one whose text term scored it most, else the nearest by cosine (``item``
        itself when it is in the history and nearest); None when the typed query's term is at
        least the history's (``item`` is one of the query's matches)."""
        m = self.query_matches(ctx)
        at = np.flatnonzero(m.rows == item) if m is not None else np.zeros(0, np.int64)
        h = self._history_rows(ctx)
        terms = h.rows[:, item].toarray().ravel() * h.weights  # each history item's term in score()
        if m is not None and len(at) and self.config.query_weight * float(m.strength[at[0]]) >= float(terms.sum()):
            return None
        if terms.max(initial=0.0) > 0 and item not in h.items:  # the history item whose term scored it most
            return int(h.items[int(np.argmax(terms))])
        sims = (self._context_rows(ctx) @ self.vectors[item]) * ctx.weights  # no graph term: the nearest by cosine
        return int(ctx.items[int(np.argmax(sims))])

    def explain(self, ctx: Context | None, item: int) -> str:
        """Names the query only for its matches (:meth:`query_matches`), when the query's term
        is at least the history's; else the most similar history item (:meth:`source`)."""
        if ctx is None or not len(ctx):
            m = self.query_matches(ctx) if ctx is not None else None
            return QUERY_REASON if m is not None and item in m.rows else "similar product description"
        best = self.source(ctx, item)
        if best is None:
            return QUERY_REASON
        if best == item:
            return self.wording.before
        return f"similar text to {named(self.catalog.products[best].title)}"

    def save(self, path: str | Path) -> None:
        """``content.npz``: the item-kNN graph and which items have their row in it (``rows``);
        the vectors themselves belong to the search index."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        rows = np.flatnonzero(self.has_row).astype(np.int64)
        np.savez(p / "content.npz", allow_pickle=False, rows=rows, **csr_arrays("graph", self.graph))

    def load_state(self, path: str | Path) -> None:
        """Restore the graph :meth:`save` wrote (after ``fit`` or ``attach`` on the same catalog);
        a file from before ``rows`` was saved holds every item's row."""
        f = Path(path) / "content.npz"
        n = self.vectors.shape[0]
        z = read_npz(f, csr_keys("graph"))
        graph = csr_from(z, "graph", f, (n, n))
        has_row = np.ones(n, dtype=bool)
        if "rows" in z:
            rows = z["rows"].astype(np.int64)
            if len(rows) and (rows.min() < 0 or rows.max() >= n):
                raise StateFileError(f, "rows out of range")
            has_row = np.zeros(n, dtype=bool)
            has_row[rows] = True
            if np.diff(graph.indptr)[~has_row].any():
                raise StateFileError(f, "graph has entries in rows not listed in rows")
        self.graph = graph if graph.dtype == np.float32 else graph.astype(np.float32)
        self.has_row = has_row
        self._forget()


def similar_by_text(
    index: VectorStore, catalog: Catalog, item: int, k: int = 10, allowed: npt.NDArray[np.bool_] | None = None
) -> Recommendation:
    """The ``k`` products nearest to ``item`` in the search index's product vectors (``allowed``
    rows only; never the item itself): related products on the first day, before any behaviour
    exists to fit a recommender on (the zero-shot start). Each reason names the text similarity.
    ``allowed`` is passed to the index as it is (the searcher's memoised mask: the index caches its
    row ids / selector per mask object), and one more hit is asked for in place of the item: a mask
    made per call would cost a catalog-sized copy and a fresh selector on every request."""
    vec = np.asarray(index.rows(np.array([item], dtype=np.int64))[0], dtype=np.float32)
    res = index.search(vec, k + 1, allowed)
    res = res.take(res.ids != item).top(k)
    seed = named(catalog.products[item].title)
    return Recommendation(
        res.ids, res.scores, tuple(f"similar text to {seed} (cosine {float(s):.2f})" for s in res.scores.tolist())
    )
