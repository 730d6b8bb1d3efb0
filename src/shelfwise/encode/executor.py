"""One bounded executor per process for query embeddings computed while serving.

Request threads do not run the encoder themselves: :class:`BoundedEncoder` hands each call to an
:class:`EncodeExecutor`, a fixed pool of ``threads`` encoder threads with a queue of at most
``max_queue`` waiting calls. A call that finds the queue full, or that waits longer than
``wait_s`` for a thread, raises :class:`Overloaded` at once (the server answers 503 with
``Retry-After``), so a burst of requests never becomes dozens of concurrent forward passes
fighting over two cores (nor a pile of queued ones answered many seconds late).

Native thread pools are kept to one thread per encoder thread (:func:`limit_native_threads`):
ONNX Runtime sessions already run with one intra-op thread; torch, OpenMP (faiss) and BLAS are
capped too, so ``threads`` is the whole encoder parallelism of the process.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shelfwise.encode.base import Encoder, Matrix, query_encoder

NATIVE_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class Overloaded(RuntimeError):
    """The server is at capacity for this work: answer 503 and ask the client to retry later."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class ExecutorStats:
    """Calls run, encoder runs they took (batched calls share one), shed because the queue was
    full, and shed after waiting ``wait_s``. The one
    count of encoder refusals: the server's ``/metrics`` reads :attr:`rejected` from here."""

    completed: int = 0
    batches: int = 0
    rejected_full: int = 0
    rejected_wait: int = 0

    @property
    def rejected(self) -> int:
        """Calls refused (raised :class:`Overloaded`) for either reason."""
        return self.rejected_full + self.rejected_wait


@dataclass
class _Call:
    encoder: Encoder
    texts: Sequence[str]
    batch_size: int
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: Matrix | None = None
    error: BaseException | None = None


class EncodeExecutor:
    """A fixed pool of ``threads`` encoder threads with at most ``max_queue`` calls waiting.

    :meth:`encode` blocks the calling (request) thread until its call has run on the pool; it
    raises :class:`Overloaded` when ``threads + max_queue`` calls are already admitted, or when
    no pool thread picked the call up within ``wait_s`` (the call is then withdrawn unrun).

    Calls waiting for the same encoder when a thread frees up run together, as one
    ``encode`` of at most ``max_batch`` texts (dynamic batching as inference servers do it, with
    no timer: a lone call never waits for company). One padded forward pass over a few short
    queries costs less per query than one pass each (an ad-hoc in-process check, not a committed
    benchmark). A text's vector then depends slightly on its batch (int8 activation ranges are
    per run). ``max_batch=1`` runs
    every call alone (the default: in the server, batching makes every in-flight request wait for
    the encoder at once and then compete for the cores at once, instead of overlapping one request's
    encoding with another's lexical work; paced /search measured slower with it in ``bench_load``)."""

    def __init__(self, threads: int = 1, max_queue: int = 8, wait_s: float = 1.0, max_batch: int = 1) -> None:
        if threads < 1 or max_queue < 0 or not wait_s > 0 or max_batch < 1:
            raise ValueError("EncodeExecutor: threads >= 1, max_queue >= 0, wait_s > 0 and max_batch >= 1")
        self.threads = threads
        self.max_queue = max_queue
        self.wait_s = wait_s
        self.max_batch = max_batch
        self.stats = ExecutorStats()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._waiting: deque[_Call] = deque()
        self._admitted = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"shelfwise-encode-{i}", daemon=True) for i in range(threads)
        ]
        for t in self._threads:
            t.start()

    @property
    def pending(self) -> int:
        """Calls admitted and not finished (running + queued)."""
        with self._lock:
            return self._admitted

    def encode(self, encoder: Encoder, texts: Sequence[str], batch_size: int = 64) -> Matrix:
        call = _Call(encoder, texts, batch_size)
        with self._lock:
            if self._closed:  # no thread would ever take it
                raise Overloaded("query encoder stopped")
            if self._admitted >= self.threads + self.max_queue:
                self.stats.rejected_full += 1
                raise Overloaded(f"query encoder busy: {self._admitted} calls running or queued")
            self._admitted += 1
            self._waiting.append(call)
            self._ready.notify()
        try:
            if not call.started.wait(self.wait_s):
                with self._lock:
                    if not call.started.is_set():  # still queued: withdraw it unrun
                        self._waiting.remove(call)
                        self.stats.rejected_wait += 1
                        raise Overloaded(f"query encoder busy: no encoder thread free within {self.wait_s:g} s")
            call.done.wait()
            if call.error is not None:
                raise call.error
            assert call.result is not None
            with self._lock:
                self.stats.completed += 1
            return call.result
        finally:
            with self._lock:
                self._admitted -= 1

    def _take(self) -> list[_Call] | None:
        """The oldest waiting call and the later ones for the same encoder, up to ``max_batch`` texts."""
        with self._lock:
            while not self._waiting and not self._closed:
                self._ready.wait()
            if self._closed:
                return None
            first = self._waiting.popleft()
            batch, size = [first], len(first.texts)
            for other in list(self._waiting) if size < self.max_batch else ():  # batching off: no scan
                if other.encoder is first.encoder and size + len(other.texts) <= self.max_batch:
                    self._waiting.remove(other)
                    batch.append(other)
                    size += len(other.texts)
            for c in batch:
                c.started.set()
            self.stats.batches += 1
            return batch

    def _work(self) -> None:
        while (batch := self._take()) is not None:
            texts = [t for c in batch for t in c.texts]
            try:
                out = batch[0].encoder.encode(texts, batch_size=max(c.batch_size for c in batch))
                at = 0
                for c in batch:  # batched: a copy each, not a view that keeps the whole batch alive
                    rows = out[at : at + len(c.texts)]
                    c.result = rows if len(batch) == 1 else rows.copy()
                    at += len(c.texts)
            except BaseException as exc:  # handed to every caller of the batch
                for c in batch:
                    c.error = exc
            for c in batch:
                c.done.set()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            for c in self._waiting:
                c.error = Overloaded("query encoder stopped")
                c.started.set()
                c.done.set()
            self._waiting.clear()
            self._ready.notify_all()


class BoundedEncoder:
    """An :class:`~shelfwise.encode.base.Encoder` whose calls run on an :class:`EncodeExecutor`
    (same ``name`` and ``dim`` as the wrapped encoder, so caches keyed on the name still hit)."""

    def __init__(self, inner: Encoder, executor: EncodeExecutor) -> None:
        self.inner = inner
        self.executor = executor

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        return self.executor.encode(self.inner, texts, batch_size)

    def for_queries(self) -> BoundedEncoder:
        """The wrapped encoder's query side, still running on the executor."""
        return BoundedEncoder(query_encoder(self.inner), self.executor)

    def __getattr__(self, name: str) -> Any:  # anything else (role, calls, ...) from the encoder
        return getattr(self.inner, name)


def limit_native_threads(threads: int, environ: MutableMapping[str, str] | None = None) -> None:
    """Cap OpenMP / BLAS at ``threads``: via the environment for libraries not loaded yet and for
    child processes (an operator's own setting is kept), via threadpoolctl for pools already loaded
    (numpy's OpenBLAS: with a pool per core, concurrent requests' small matrix products fight over
    the cores), and torch and faiss when loaded."""
    env: MutableMapping[str, str] = os.environ if environ is None else environ
    for var in NATIVE_THREAD_VARS:
        env.setdefault(var, str(threads))
    try:  # BLAS / OpenMP pools already loaded (numpy's OpenBLAS): resized in place
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        faiss.omp_set_num_threads(threads)
