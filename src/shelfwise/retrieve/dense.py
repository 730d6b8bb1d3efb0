"""Dense retrieval: encode the query, search the vector index."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import numpy.typing as npt

from shelfwise.encode.base import Encoder, query_encoder
from shelfwise.index.backends import VectorStore
from shelfwise.results import Results


class DenseRetriever:
    """Query embeddings are memoised (LRU) because shoppers repeat queries."""

    def __init__(self, encoder: Encoder, index: VectorStore, cache_size: int = 4096) -> None:
        if index.dim and index.dim != encoder.dim:
            raise ValueError(f"index width {index.dim} != encoder dim {encoder.dim}")
        self.encoder = encoder
        self.query_encoder = query_encoder(encoder)
        self.index = index
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._mean: tuple[int, npt.NDArray[np.float32]] | None = None  # (rows it was taken over, mean vector)

    def embed(self, query: str) -> npt.NDArray[np.float32]:
        with self._lock:
            v = self._cache.get(query)
            if v is not None:
                self._cache.move_to_end(query)
                return v
        v = self.query_encoder.encode([query])[0]  # outside the lock: requests encode concurrently
        with self._lock:
            self._cache[query] = v
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return v

    def prime(self, queries: list[str], *, batch_size: int = 64, progress: bool = False) -> None:
        """Encode ``queries`` in batches ahead of single-query calls (offline evaluation): the LRU
        grows to hold them all, so 1,000 queries cost batches, not 1,000 forward passes."""
        with self._lock:
            todo = list(dict.fromkeys(q for q in queries if q not in self._cache))
        if not todo:
            return
        vecs = self.query_encoder.encode(todo, batch_size=batch_size, progress=progress)
        with self._lock:
            self._cache_size = max(self._cache_size, len(self._cache) + len(todo))
            for q, v in zip(todo, vecs, strict=True):
                self._cache[q] = v

    def adopt(self, other: DenseRetriever) -> int:
        """Take ``other``'s memoised query vectors, most recent last, up to this cache's size, when
        both embed queries with the same encoder (same name: a re-trained encoder has a new one), so
        a shelf swapped in by a reload answers the shoppers' repeated queries without encoding them
        again. Returns how many were taken (0 for another encoder)."""
        if other.query_encoder.name != self.query_encoder.name or other is self:
            return 0
        with other._lock:
            kept = list(other._cache.items())[-self._cache_size :]
        with self._lock:
            for q, v in kept:
                self._cache.setdefault(q, v)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return len(kept)

    def mean_cosine(self, query: str) -> float:
        """The query's average cosine over every catalog row (the inner product with the rows' mean
        vector): what an unrelated product scores, as a baseline for a hit's cosine. A language
        model's cosines sit in a narrow band (e5: ~0.8-0.9), so 0.85 alone says little. The mean is
        taken once, and again only if the index's row count changes."""
        return float(self.mean_vector() @ self.embed(query)) if len(self.index) else 0.0

    def mean_vector(self) -> npt.NDArray[np.float32]:
        """The mean of every catalog row (zeros for an empty index): a vector's inner product with it
        is its average score over the catalog."""
        n = len(self.index)
        mean = self._mean
        if mean is None or mean[0] != n:
            total = np.zeros(self.index.dim, dtype=np.float64)
            for start in range(0, n, 65_536):  # in blocks: an fp16 / sq8 store decodes no full copy
                total += self.index.rows(np.arange(start, min(n, start + 65_536))).sum(axis=0, dtype=np.float64)
            mean = (n, (total / max(n, 1)).astype(np.float32))
            self._mean = mean
        return mean[1]

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """Cosine of every catalog row to the query."""
        return self.index.scores(self.embed(query))

    def retrieve(self, query: str, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        return self.index.search(self.embed(query), k, mask)
