"""Content-based recommendations from language-model item embeddings.

An item-kNN graph over text embeddings (each item keeps its ``neighbours`` most cosine-similar
items), scored like item-based CF (Sarwar et al., 2001) but with text similarity instead of
co-occurrence, so items with no behaviour at all (new arrivals) are reachable: the cold-start
remedy of content-based filtering (Lops et al., 2011; Schein et al., 2002). A query vector
adds a direct cosine term for shoppers with no history. Related items (``score_item``) are read
off the same graph: an item request touches its ``neighbours`` items, not the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.recommend.base import BaseRecommender, Context, context_matrix, no_evidence
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import csr_arrays, csr_from, csr_keys, read_npz
from shelfwise.results import FloatArray


@dataclass(frozen=True)
class ContentConfig:
    neighbours: int = 50
    power: float = 2.0  # sharpen similarities: sim ** power
    min_similarity: float = 0.2
    query_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.neighbours < 1 or self.power <= 0:
            raise ValueError("ContentConfig: neighbours >= 1 and power > 0")
        if not -1.0 <= self.min_similarity < 1.0:
            raise ValueError("ContentConfig.min_similarity must be in [-1, 1)")


def knn_graph(
    vectors: npt.NDArray[np.float32], neighbours: int, min_similarity: float, chunk: int = 2048
) -> sp.csr_matrix:
    """Sparse (n x n) matrix of each row's top-``neighbours`` cosines (self excluded), exact.

    faiss's flat inner-product search (heap top-k in C++, threads) when faiss is installed (the
    ``search`` extra), numpy otherwise; both give the same graph (tests/recommend/test_content_knn_graph.py)."""
    n = vectors.shape[0]
    m = min(neighbours, max(n - 1, 0))
    if m == 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    flat: Any = None
    try:
        import faiss

        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    except ImportError:
        pass
    for a in range(0, n, chunk):
        idx = np.arange(a, min(a + chunk, n))
        if flat is not None:
            d, i = flat.search(np.ascontiguousarray(vectors[a : a + chunk], dtype=np.float32), m + 1)
            d = np.where(i == idx[:, None], -np.inf, d)  # self out (wherever ties put it)
            order = np.argsort(-d, axis=1, kind="stable")[:, :m]
            top, s = np.take_along_axis(i, order, axis=1), np.take_along_axis(d, order, axis=1)
        else:
            sims = vectors[a : a + chunk] @ vectors.T
            sims[idx - a, idx] = -np.inf
            top = np.argpartition(-sims, m - 1, axis=1)[:, :m]
            s = np.take_along_axis(sims, top, axis=1)
        keep = s >= min_similarity
        rows.append(np.repeat(idx, m)[keep.ravel()])
        cols.append(top[keep])
        vals.append(s[keep])
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals).astype(np.float32)
    return sp.csr_matrix((v, (r, c)), shape=(n, n))


class ContentRecommender(BaseRecommender):
    name = "content"

    def __init__(self, item_vectors: npt.NDArray[np.float32], config: ContentConfig | None = None) -> None:
        super().__init__()
        self.config = config or ContentConfig()
        self.vectors = np.ascontiguousarray(item_vectors, dtype=np.float32)
        self.graph: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)

    def _fit(self, data: Interactions) -> None:
        if self.vectors.shape[0] != data.n_items:
            raise ValueError(f"item_vectors has {self.vectors.shape[0]} rows, catalog has {data.n_items}")
        if self.graph.shape == (data.n_items, data.n_items):
            return  # the text graph depends on the vectors only: a refit (e.g. after weight tuning) keeps it
        g = knn_graph(self.vectors, self.config.neighbours, self.config.min_similarity)
        g.data = np.power(np.maximum(g.data, 0.0), self.config.power).astype(np.float32)
        self.graph = g

    def score(self, ctx: Context) -> FloatArray:
        s = np.zeros(self.n_items, dtype=np.float32)
        hit = np.zeros(self.n_items, dtype=bool)
        if len(ctx):
            sub = self.graph[ctx.items]
            s += np.asarray(sub.T @ ctx.weights, dtype=np.float32).ravel()
            hit[sub.indices] = True
        if ctx.query_vector is not None:
            s += self.config.query_weight * np.maximum(self.vectors @ ctx.query_vector, 0.0)
            hit[:] = True
        return np.where(hit, s, -np.inf).astype(np.float32) if hit.any() else no_evidence(self.n_items)

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context: the graph rows of all contexts in one sparse product."""
        w = context_matrix(contexts, self.n_items)
        s = np.asarray((w @ self.graph).toarray(), dtype=np.float32)
        reach = w.copy()
        reach.data[:] = 1.0
        pattern = self.graph.copy()
        pattern.data[:] = 1.0
        hit = np.asarray((reach @ pattern).toarray()) > 0
        for j, c in enumerate(contexts):
            if c.query_vector is not None:
                s[j] += self.config.query_weight * np.maximum(self.vectors @ c.query_vector, 0.0)
                hit[j] = True
        return np.where(hit, s, -np.inf).astype(np.float32)

    def neighbours(self, item: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """``item``'s text neighbours from the fit-time kNN graph: (rows, cosines), unordered.

        These are the catalog's ``neighbours`` most cosine-similar items (at least
        ``min_similarity``); the cosine is read back from the sharpened graph weight, so no
        other item is scored."""
        g = self.graph
        a, b = int(g.indptr[item]), int(g.indptr[item + 1])
        sims = np.power(g.data[a:b], np.float32(1.0 / self.config.power), dtype=np.float32)
        return g.indices[a:b].astype(np.int64), sims

    def cosines(self, item: int, rows: npt.NDArray[np.int64] | None = None) -> FloatArray:
        """Exact cosines of ``item`` with ``rows`` (default: the whole catalog)."""
        v = self.vectors if rows is None else self.vectors[rows]
        return (v @ self.vectors[item]).astype(np.float32)

    def score_item(self, item: int) -> FloatArray:
        """Cosine to ``item`` of its graph neighbours, ``-inf`` elsewhere: the top of the exact
        ranking (:meth:`cosines`) down to ``neighbours`` items, without scoring the catalog."""
        rows, sims = self.neighbours(item)
        s = no_evidence(self.n_items)
        s[rows] = sims
        return s

    def explain(self, ctx: Context | None, item: int) -> str:
        if ctx is None or not len(ctx):
            return "matches what you searched for"
        sims = (self.vectors[ctx.items] @ self.vectors[item]) * ctx.weights
        best = int(ctx.items[int(np.argmax(sims))])
        if best == item:
            return "you bought this before"
        return f"similar text to {self.catalog.products[best].title}"

    def save(self, path: str | Path) -> None:
        """``content.npz``: the item-kNN graph (the vectors themselves belong to the search index)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        np.savez(p / "content.npz", allow_pickle=False, **csr_arrays("graph", self.graph))

    def load_state(self, path: str | Path) -> None:
        """Restore the graph :meth:`save` wrote (after ``fit`` or ``attach`` on the same catalog)."""
        f = Path(path) / "content.npz"
        n = self.vectors.shape[0]
        self.graph = csr_from(read_npz(f, csr_keys("graph")), "graph", f, (n, n)).astype(np.float32)
