"""Dense retrieval: encode the query, search the vector index."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from shelfwise.encode.base import Encoder, query_encoder
from shelfwise.index.backends import VectorStore
from shelfwise.results import Results


class _Prefetcher:
    """A small process-wide pool that embeds queries while callers score the lexical side. It never
    queues: when all its threads are busy a query is not prefetched (the caller embeds it inline as
    before), so a burst cannot pile up here, and an encoder behind a bounded server executor keeps
    its admission control (its refusal reaches the caller through the future)."""

    def __init__(self) -> None:
        self.workers = max(1, min(4, os.cpu_count() or 1))
        self._pool: ThreadPoolExecutor | None = None
        self._busy = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], npt.NDArray[np.float32]]) -> Future[npt.NDArray[np.float32]] | None:
        with self._lock:
            if self._busy >= self.workers:
                return None
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="shelfwise-prefetch")
            self._busy += 1
        fut = self._pool.submit(fn)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _: Future[npt.NDArray[np.float32]]) -> None:
        with self._lock:
            self._busy -= 1


PREFETCH = _Prefetcher()


class DenseRetriever:
    """Query embeddings are memoised (LRU) because shoppers repeat queries. :meth:`prefetch` starts
    embedding a query on a worker thread so the caller can do other work (the lexical scoring of
    hybrid search) meanwhile; :meth:`embed` then waits for it instead of encoding again."""

    def __init__(self, encoder: Encoder, index: VectorStore, cache_size: int = 4096) -> None:
        if index.dim and index.dim != encoder.dim:
            raise ValueError(f"index width {index.dim} != encoder dim {encoder.dim}")
        self.encoder = encoder
        self.query_encoder = query_encoder(encoder)
        self.index = index
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._pending: dict[str, Future[npt.NDArray[np.float32]]] = {}

    def prefetch(self, query: str) -> None:
        """Start embedding ``query`` in the background unless it is cached or already under way (or
        the prefetch threads are all busy). The worker stores the vector itself, so a prefetch whose
        caller never asks for it leaves nothing behind."""
        with self._lock:
            if query in self._cache or query in self._pending:
                return
            if len(self._pending) > 1024:  # failed prefetches nobody asked for again
                self._pending = {q: f for q, f in self._pending.items() if not f.done()}
            fut = PREFETCH.submit(lambda: self._encode_and_store(query))
            if fut is not None:
                self._pending[query] = fut

    def _encode_and_store(self, query: str) -> npt.NDArray[np.float32]:
        v = self.query_encoder.encode([query])[0]  # a failure stays in the future for embed() to raise
        self._store(query, v)
        with self._lock:
            self._pending.pop(query, None)
        return v

    def _store(self, query: str, v: npt.NDArray[np.float32]) -> None:
        with self._lock:
            self._cache[query] = v
            self._cache.move_to_end(query)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def embed(self, query: str) -> npt.NDArray[np.float32]:
        with self._lock:
            v = self._cache.get(query)
            if v is not None:
                self._cache.move_to_end(query)
                return v
            fut = self._pending.get(query)
        if fut is not None:  # a prefetch is under way: wait for it (its error, e.g. overload, is ours)
            try:
                return fut.result()
            finally:
                with self._lock:
                    self._pending.pop(query, None)
        v = self.query_encoder.encode([query])[0]  # outside the lock: requests encode concurrently
        self._store(query, v)
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
