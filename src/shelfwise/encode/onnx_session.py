"""ONNX Runtime sessions for one graph: a one-thread session for batches and concurrent callers, and a
"lone" session with several intra-op threads for a call that runs while nothing else is encoding.

Why two: on 2 cores a single short query (10-20 tokens through multilingual-e5-small int8) runs ~20-30%
faster with 2 intra-op threads (ORT's worker spins between operators; without spinning it is slower
than one thread), but costs ~35% more CPU, and two concurrent callers on 2-thread sessions serve ~30%
fewer queries/s than on one-thread ones. So the lone session is used only when no run of this graph
has overlapped another for a while (a busy process keeps its throughput), and only while it measures
faster than the one-thread session: with another process busy on the second core it measured slower
(p50 7.6 vs 6.8 ms), its worker thread waiting for a core. Both timed by ``bench/bench_search_latency.py``.

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
EXPLORE_EVERY = 64  # one uncontended run in this many takes the session measured slower
WARMUP_RUNS = 16  # the first uncontended runs alternate between the sessions
ALPHA = 0.2  # weight of a run's cost in the moving average of the session run more often
EXPLORE_ALPHA = 0.5  # ... and in that of the session run less often (its few samples must tell a change)
OVERHEAD_TOKENS = 16  # a run's fixed cost in tokens: e5 one-thread ~2.7 ms + ~0.19 ms a token
MAX_QUERY_THREADS = 2  # lone sessions of more threads measured different vectors (4 threads: ~1e-8)
_thread_cap: list[int] = []  # set by cap_query_threads: the process's encoder thread budget


class _Traffic:
    """Runs in flight in this process, over every graph (CPU contention is the process's, not one
    graph's), and until when a lone session is not to be taken after two runs overlapped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.contended_until = 0.0


_traffic = _Traffic()


def cap_query_threads(threads: int) -> None:
    """Allow lone sessions only when the process may use more than one encoder thread: a server
    with one worker process per core (:func:`shelfwise.encode.executor.limit_native_threads` calls
    this with its per-process share) keeps every run on one thread, as processes cannot see each
    other's runs in flight."""
    _thread_cap[:] = [max(1, threads)]


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
    """The sessions of one graph, the count of runs in flight, and each session's measured cost.

    A run that may take the lone session (a whole call in the caller's thread, no overlap with another
    run of any graph in the process for ``CONTENDED_S``, the process allowed more than one encoder
    thread) takes the session whose recent cost per token is lower (the first ``WARMUP_RUNS``
    alternate); every ``EXPLORE_EVERY``-th such run takes the other, so a change (another process now
    busy on the second core: there the lone session measured slower, its worker waiting for a core)
    is noticed. ``force_lone`` (True / False)
    overrides the choice (benchmarks).
    """

    def __init__(self, model_file: str | Path, ort: Any, *, query_threads: int) -> None:
        self.query_threads = max(1, min(MAX_QUERY_THREADS, query_threads))
        self._shared = _shared_values(Path(model_file), ort) if self.query_threads > 1 else {}
        self.session = self._make(model_file, ort, threads=1)
        self.lone = self._make(model_file, ort, threads=self.query_threads) if self._shared else None
        self.force_lone: bool | None = None
        self.cost: dict[bool, float] = {}  # lone? -> EWMA of seconds / (tokens + OVERHEAD_TOKENS)
        self.picks: dict[bool, int] = {True: 0, False: 0}  # uncontended runs per session
        self._choices = 0

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
        tokens = int(feed["input_ids"].size) + OVERHEAD_TOKENS
        lone = self.choose(lone_ok=lone_ok)
        t0 = time.perf_counter()
        try:
            out = (self.lone if lone and self.lone is not None else self.session).run(output, feed)[0]
        except BaseException:
            self.done(lone, None)  # a failed run teaches no cost
            raise
        self.done(lone, (time.perf_counter() - t0) / tokens)
        return out

    def choose(self, *, lone_ok: bool) -> bool | None:
        """Whether this run takes the lone session (pair with :meth:`done`); None: the one-thread
        session, and the run is not one to learn the costs from (a batch chunk, or runs overlapping)."""
        now = time.monotonic()
        t = _traffic
        with t.lock:
            busy = t.active > 0
            if busy:
                t.contended_until = now + CONTENDED_S
            t.active += 1
            allowed = not _thread_cap or _thread_cap[0] > 1
            if busy or not (lone_ok and now >= t.contended_until and self.lone is not None and allowed):
                return None
            if self.force_lone is not None:
                return self.force_lone
            self._choices += 1
            if self._choices <= WARMUP_RUNS or len(self.cost) < 2:
                return self._choices % 2 == 1
            pick = self.cost[True] <= self.cost[False]
            return (not pick) if self._choices % EXPLORE_EVERY == 0 else pick

    def done(self, lone: bool | None, seconds_per_token: float | None) -> None:
        """Release the run's slot; learn its cost (seconds per token, fixed overhead counted as
        ``OVERHEAD_TOKENS``) unless it failed. A session's first two runs set its cost (the first is
        cold: once it set an estimate the moving average took hundreds of runs to forget)."""
        with _traffic.lock:
            _traffic.active -= 1
            if lone is None or seconds_per_token is None:
                return
            self.picks[lone] += 1
            if self.picks[lone] <= 2:  # a session's first run is cold (allocations, threads started)
                self.cost[lone] = seconds_per_token
                return
            rare = self.picks[lone] < self.picks[not lone]
            old = self.cost[lone]
            self.cost[lone] = old + (EXPLORE_ALPHA if rare else ALPHA) * (seconds_per_token - old)
