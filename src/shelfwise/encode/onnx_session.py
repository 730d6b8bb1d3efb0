"""ONNX Runtime sessions for one graph: a one-thread session for batches and concurrent callers, and a
"lone" session with several intra-op threads for a call that runs while nothing else is encoding.

Why two (``bench/bench_search_latency.py``, 1,000 real Home Depot queries, ``search_latency_s11*.json``):
at load 1.3-1.8 on 2 cores a single query through multilingual-e5-small int8 ran ~25% faster on 2
intra-op threads (encoder p50 2.9-3.3 vs 3.9-4.4 ms, alternating per query; never-seen search p50 lower
in 6 of 7 runs), since ORT's worker spins between operators. It is used only when no encoder run of the
process overlaps it or did in the last ``CONTENDED_S`` (two concurrent callers kept 94-113% of their
queries/s), and only while the machine's load average is below its core count: with other processes
busy (load 2.6-3.8) the forced lone session's p99 was 21.8 ms against 7.9 on one thread (``_s11h``),
its second thread waiting for a core. A choice that timed both sessions as it went was tried and
dropped: each session has its own packed weights, so whichever ran last is in cache and times faster,
and it kept the one-thread session on 32% of ``_s11e``'s queries (more in two runs not kept).

Both sessions read the graph's large weights (the 250k x 384 word-embedding table of e5: 384 MB) from one
memory-mapped copy (:mod:`shelfwise.encode.onnx_weights`; ``SessionOptions.add_initializer`` does not
copy a CPU buffer), so the second session costs ~30 MB, not another 400. Outputs are the same bit for
bit with 2 threads (checked on 1,000 real Home Depot queries by ``bench/bench_search_latency.py``, which
also times both, and on 5,000 random texts of 1-32 rows in a review); with 4 threads some 2-3 row calls
differed by ~1e-8, so the lone session has at most ``MAX_QUERY_THREADS`` (2).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from shelfwise.encode.onnx_weights import large_initializers

CONTENDED_S = 0.5  # after two runs overlap, every run takes the one-thread session for this long
LOAD_EVERY_S = 1.0  # how often the machine's load average is read again
MAX_QUERY_THREADS = 2  # lone sessions of more threads measured different vectors (4 threads: ~1e-8)


class _Traffic:
    """Runs in flight in this process, over every graph (CPU contention is the process's, not one
    graph's), until when a lone session is not to be taken after two runs overlapped, and the
    process's encoder thread budget (:func:`cap_query_threads`; None: not capped)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.contended_until = 0.0
        self.cap: int | None = None
        self.load_read_at = -LOAD_EVERY_S
        self.spare_core = True

    def machine_has_a_spare_core(self, now: float) -> bool:
        """The 1-minute load average below the core count (read at most every ``LOAD_EVERY_S``). On a
        box where other processes keep the cores busy the lone session's second thread waits for a
        core: at load 2.6-3.0 on 2 cores the forced lone session's search p99 was 21.8 ms against 7.9
        on one thread (``search_latency_s11h.json``)."""
        if now - self.load_read_at >= LOAD_EVERY_S:
            self.load_read_at = now
            self.spare_core = os.getloadavg()[0] < (os.cpu_count() or 1)
        return self.spare_core


_traffic = _Traffic()


def cap_query_threads(threads: int) -> None:
    """Allow lone sessions only when the process may use more than one encoder thread: a server
    with one worker process per core (:func:`shelfwise.encode.executor.limit_native_threads` calls
    this with its per-process share) keeps every run on one thread, as processes cannot see each
    other's runs in flight."""
    _traffic.cap = max(1, threads)


def default_query_threads() -> int:
    """Intra-op threads of the lone-call session: ``$SHELFWISE_QUERY_THREADS`` or the cores, at most
    ``MAX_QUERY_THREADS`` (1: no lone session, every call on the one-thread session)."""
    env = os.environ.get("SHELFWISE_QUERY_THREADS")
    wanted = int(env) if env else (os.cpu_count() or 1)
    return max(1, min(MAX_QUERY_THREADS, wanted))


def _shared_values(model_file: Path, ort: Any) -> dict[str, Any]:
    """ORT values over the graph's large initializers (:func:`~shelfwise.encode.onnx_weights.large_initializers`,
    memory-mapped once cached); {} when they cannot be read: the lone session is then not made."""
    arrays = large_initializers(model_file)
    return {name: ort.OrtValue.ortvalue_from_numpy(a) for name, a in (arrays or {}).items()}


class GraphSessions:
    """The sessions of one graph and which one each run takes.

    A run takes the lone session when it is a whole call in the caller's thread (``lone_ok``), no
    encoder run of the process overlaps it or did in the last ``CONTENDED_S``, the process may use
    more than one encoder thread (:func:`cap_query_threads`), and the machine's load average is below
    its core count (other processes leave a core spare). ``force_lone`` (True / False) overrides
    the choice for runs that may take the lone session at all (benchmarks); ``picks`` counts the runs
    each session took by this choice.
    """

    def __init__(self, model_file: str | Path, ort: Any, *, query_threads: int) -> None:
        self.query_threads = max(1, min(MAX_QUERY_THREADS, query_threads))
        # the large initializers from the memory-mapped cache for every session, one or two: worker
        # processes of one server (one session each) then share e5's 384 MB table in the page cache
        self._shared = _shared_values(Path(model_file), ort)
        self.session = self._make(model_file, ort, threads=1)
        # the lone session is made at the first run that takes it (~0.6 s), so batch-only work (index,
        # eval: queries embedded in chunks) never pays for it; a server's warm-up query does
        self._lone_spec = (model_file, ort) if self.query_threads > 1 and self._shared else None
        self._lone: Any = None
        self._lone_lock = threading.Lock()
        self.force_lone: bool | None = None
        self.picks: dict[bool, int] = {True: 0, False: 0}

    @property
    def lone(self) -> Any:
        """The lone-call session (made here on first use), or None where there is none to make."""
        if self._lone is None and self._lone_spec is not None:
            with self._lone_lock:
                if self._lone is None:
                    model_file, ort = self._lone_spec
                    self._lone = self._make(model_file, ort, threads=self.query_threads)
        return self._lone

    def _make(self, model_file: str | Path, ort: Any, *, threads: int) -> Any:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads > 1:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
        for name, value in self._shared.items():
            opts.add_initializer(name, value)
        return ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])

    def run(self, output: list[str] | None, feed: dict[str, Any], *, lone_ok: bool) -> Any:
        """``session.run(output, feed)[0]`` on the session :meth:`choose` picks."""
        lone = self.choose(lone_ok=lone_ok)
        try:
            return (self.lone if lone else self.session).run(output, feed)[0]
        finally:
            self.done()

    def choose(self, *, lone_ok: bool) -> bool | None:
        """Whether this run takes the lone session (pair with :meth:`done`); None: the one-thread
        session for a run that may not take it (a batch chunk, overlapping runs, a one-thread process)."""
        now = time.monotonic()
        t = _traffic
        with t.lock:
            busy = t.active > 0
            if busy:
                t.contended_until = now + CONTENDED_S
            t.active += 1
            if busy or not lone_ok or self._lone_spec is None:  # (the session itself is made outside this lock)
                return None
            if self.force_lone is None:  # forced (a benchmark timing a session): no other condition
                allowed = (t.cap is None or t.cap > 1) and t.machine_has_a_spare_core(now)
                if now < t.contended_until or not allowed:
                    return None
            lone = True if self.force_lone is None else self.force_lone
            self.picks[lone] += 1
            return lone

    def done(self) -> None:
        """Release the run's slot."""
        with _traffic.lock:
            _traffic.active -= 1
