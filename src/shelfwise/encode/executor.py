"""One bounded executor per process for query embeddings computed while serving.

Request threads do not run the encoder themselves: :class:`BoundedEncoder` hands each call to an
:class:`EncodeExecutor`, a fixed pool of ``threads`` encoder threads with a queue of at most
``max_queue`` waiting calls. A call that finds the queue full, or that waits longer than
``wait_s`` for a thread, raises :class:`Overloaded` at once (the server answers 503 with
``Retry-After``), so a burst of requests never becomes dozens of concurrent forward passes
fighting over two cores (nor a pile of queued ones answered many seconds late).

Native thread pools are kept to one thread per encoder thread (:func:`limit_native_threads`):
ONNX Runtime runs on its one-thread sessions when ``threads`` is 1 (its multi-thread "lone" session
is for a process that may use more, :mod:`shelfwise.encode.onnx_session`); torch, OpenMP (faiss) and
BLAS are capped too, so ``threads`` is the whole encoder parallelism of the process.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import MutableMapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from shelfwise.encode.base import Encoder, Matrix, query_encoder
from shelfwise.encode.onnx_session import cap_query_threads

NATIVE_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class Overloaded(RuntimeError):
    """The server is at capacity for this work: answer 503 and ask the client to retry later."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class ExecutorStats:
    """Calls run, shed because the queue was full, and shed after waiting ``wait_s``. The one
    count of encoder refusals: the server's ``/metrics`` reads :attr:`rejected` from here."""

    completed: int = 0
    rejected_full: int = 0
    rejected_wait: int = 0

    @property
    def rejected(self) -> int:
        """Calls refused (raised :class:`Overloaded`) for either reason."""
        return self.rejected_full + self.rejected_wait


class EncodeExecutor:
    """A fixed pool of ``threads`` encoder threads with at most ``max_queue`` calls waiting.

    :meth:`encode` blocks the calling (request) thread until its call has run on the pool; it
    raises :class:`Overloaded` when ``threads + max_queue`` calls are already admitted, or when
    no pool thread picked the call up within ``wait_s`` (the call is then withdrawn unrun), or
    once the executor is shut down (calls still queued then are refused too)."""

    def __init__(self, threads: int = 1, max_queue: int = 8, wait_s: float = 1.0) -> None:
        if threads < 1 or max_queue < 0 or not wait_s > 0:
            raise ValueError("EncodeExecutor: threads >= 1, max_queue >= 0 and wait_s > 0")
        self.threads = threads
        self.max_queue = max_queue
        self.wait_s = wait_s
        self.stats = ExecutorStats()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="shelfwise-encode")
        self._lock = threading.Lock()
        self._admitted = 0
        self._closed = False

    @property
    def pending(self) -> int:
        """Calls admitted and not finished (running + queued)."""
        with self._lock:
            return self._admitted

    def encode(self, encoder: Encoder, texts: Sequence[str], batch_size: int = 64) -> Matrix:
        started = threading.Event()

        def run() -> Matrix:
            started.set()
            return encoder.encode(texts, batch_size=batch_size)

        with self._lock:  # submitted under the lock: shutdown() cannot come between the check and it
            if self._closed:  # no thread would ever take it
                raise Overloaded("query encoder stopped")
            if self._admitted >= self.threads + self.max_queue:
                self.stats.rejected_full += 1
                raise Overloaded(f"query encoder busy: {self._admitted} calls running or queued")
            fut: Future[Matrix] = self._pool.submit(run)
            self._admitted += 1
        try:
            fut.add_done_callback(lambda _: started.set())  # cancelled by shutdown: stop waiting too
            if not started.wait(self.wait_s) and fut.cancel():  # still queued: withdrawn unrun
                with self._lock:
                    self.stats.rejected_wait += 1
                raise Overloaded(f"query encoder busy: no encoder thread free within {self.wait_s:g} s")
            if fut.cancelled():
                raise Overloaded("query encoder stopped")
            out = fut.result()
            with self._lock:
                self.stats.completed += 1
            return out
        finally:
            with self._lock:
                self._admitted -= 1

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


class BoundedEncoder:
    """An :class:`~shelfwise.encode.base.Encoder` whose calls run on an :class:`EncodeExecutor`
    (same ``name`` and ``dim`` as the wrapped encoder, so caches keyed on the name still hit).
    Nothing else is forwarded: the wrapped encoder is :attr:`inner`, and its query side is
    reached through :meth:`for_queries` (bounded too)."""

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


def limit_native_threads(threads: int, environ: MutableMapping[str, str] | None = None) -> None:
    """Cap OpenMP / BLAS at ``threads``: via the environment for libraries not loaded yet and for
    child processes (an operator's own setting is kept), via threadpoolctl for pools already loaded
    (numpy's OpenBLAS: with a pool per core, concurrent requests' small matrix products fight over
    the cores), and torch and faiss when loaded."""
    env: MutableMapping[str, str] = os.environ if environ is None else environ
    for var in (*NATIVE_THREAD_VARS, "SHELFWISE_QUERY_THREADS"):  # the last: worker processes' ONNX encoders
        env.setdefault(var, str(threads))
    try:  # BLAS / OpenMP pools already loaded (numpy's OpenBLAS): resized in place
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    cap_query_threads(threads)  # ONNX lone-query sessions (shelfwise.encode.onnx_session)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        faiss.omp_set_num_threads(threads)
