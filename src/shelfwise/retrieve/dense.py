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

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """Cosine of every catalog row to the query."""
        return self.index.scores(self.embed(query))

    def retrieve(self, query: str, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        return self.index.search(self.embed(query), k, mask)
