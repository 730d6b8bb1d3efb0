"""The catalog's item vectors as the recommender reads them, without a copy of its own.

A recommender needs rows of the item-vector matrix (a shopper's items, an item's text
neighbours), now and then every row's cosine with one vector (a typed query), and the whole
matrix only while fitting (the text graph). :class:`ItemVectors` gives exactly that over either
a float32 matrix or the shelf's vector store (:class:`~shelfwise.index.backends.VectorStore`, e.g. the
embedded :class:`~shelfwise.index.vector.VectorIndex`):
with the index, rows are decoded from its stored codes on request (sq8 at 1M items: 256 MB
shared with search instead of a 1 GB float32 copy), with the same values a decoded matrix holds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shelfwise.index.backends import VectorStore
from shelfwise.index.topk import top_k

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


class ItemVectors:
    """Row access to ``n`` item vectors held by a float32 matrix or a :class:`VectorStore`."""

    def __init__(self, source: F32 | VectorStore | ItemVectors) -> None:
        if isinstance(source, ItemVectors):
            source = source.source
        if isinstance(source, np.ndarray):
            if source.ndim != 2:
                raise ValueError(f"ItemVectors: expected a 2-d matrix, got shape {source.shape}")
            self.source: F32 | VectorStore = np.ascontiguousarray(source, dtype=np.float32)
            self.shape: tuple[int, int] = (int(source.shape[0]), int(source.shape[1]))
        else:
            self.source = source
            self.shape = (len(source), int(source.dim))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, ids: int | npt.ArrayLike) -> F32:
        """Row ``ids`` (1-d) or rows ``ids`` (2-d), float32."""
        if isinstance(self.source, np.ndarray):
            return self.source[ids]  # type: ignore[index]
        idx = np.asarray(ids, dtype=np.int64)
        got = self.source.rows(idx.reshape(-1))
        return got[0] if idx.ndim == 0 else got

    def matrix(self, block: int = 65536) -> F32:
        """Every row as one float32 matrix: the matrix itself, or a fresh copy decoded from the
        store ``block`` rows at a time, not kept (fitting and offline tools; the store's own
        ``vectors`` would keep its decoded copy for the life of the process)."""
        if isinstance(self.source, np.ndarray):
            return self.source
        n, d = self.shape
        out = np.empty((n, d), dtype=np.float32)
        for a in range(0, n, block):
            out[a : a + block] = self.source.rows(np.arange(a, min(a + block, n)))
        return out

    def scores(self, query: F32) -> F32:
        """Inner product of every row with ``query``."""
        if isinstance(self.source, np.ndarray):
            return np.asarray(self.source @ query, dtype=np.float32)
        return self.source.scores(query)

    def nearest(self, query: F32, k: int, *, exact: bool) -> tuple[I64, F32]:
        """The ``k`` rows of highest inner product with ``query``, best first: exact over every
        row, or (``exact=False`` and an index) the index's approximate search."""
        k = min(k, len(self))
        if k < 1:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if not exact and not isinstance(self.source, np.ndarray):
            hits = self.source.search(query, k)
            return hits.ids.astype(np.int64), hits.scores.astype(np.float32)
        hits = top_k(self.scores(query), k, positive=False)  # exact; equal scores in row order
        return hits.ids, hits.scores
