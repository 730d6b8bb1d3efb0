"""The bounded encoder executor: at most ``threads`` encodes at once, a bounded queue, and calls
beyond it (or waiting too long) refused with Overloaded rather than piling up."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from shelfwise.encode.base import Matrix
from shelfwise.encode.executor import BoundedEncoder, EncodeExecutor, Overloaded, limit_native_threads


class GatedEncoder:
    """Blocks each call until ``gate`` is set; records how many calls ran at once."""

    name = "gated"
    dim = 3

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.running = 0
        self.most = 0
        self.calls = 0
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        with self._lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        self.gate.wait(10)
        with self._lock:
            self.running -= 1
        return np.ones((len(texts), 3), dtype=np.float32)


def _spawn(ex: EncodeExecutor, enc: GatedEncoder, n: int, out: list[object]) -> list[threading.Thread]:
    def call() -> None:
        try:
            out.append(ex.encode(enc, ["q"]).shape)
        except Overloaded as e:
            out.append(e)

    threads = [threading.Thread(target=call) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def _wait_until(cond: object, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:  # type: ignore[operator]
        time.sleep(0.005)


def test_queue_full_is_refused_at_once_and_threads_bound_concurrency() -> None:
    ex, enc = EncodeExecutor(threads=2, max_queue=1, wait_s=5.0), GatedEncoder()
    out: list[object] = []
    threads = _spawn(ex, enc, 3, out)  # 2 run, 1 queues
    _wait_until(lambda: ex.pending == 3 and enc.running == 2)
    t0 = time.perf_counter()
    with pytest.raises(Overloaded, match="busy") as exc:
        ex.encode(enc, ["one too many"])
    assert time.perf_counter() - t0 < 0.1 and exc.value.retry_after_s >= 1
    enc.gate.set()
    for t in threads:
        t.join(5)
    assert out == [(1, 3)] * 3 and enc.most == 2 and ex.pending == 0
    assert (ex.stats.completed, ex.stats.rejected_full, ex.stats.rejected_wait) == (3, 1, 0)
    ex.shutdown()


def test_a_call_waiting_past_wait_s_is_withdrawn_unrun() -> None:
    ex, enc = EncodeExecutor(threads=1, max_queue=4, wait_s=0.1), GatedEncoder()
    out: list[object] = []
    first = _spawn(ex, enc, 1, out)
    _wait_until(lambda: enc.running == 1)
    t0 = time.perf_counter()
    with pytest.raises(Overloaded, match=r"within 0\.1 s"):
        ex.encode(enc, ["waits"])
    assert 0.09 <= time.perf_counter() - t0 < 1.0
    enc.gate.set()
    first[0].join(5)
    assert enc.calls == 1 and ex.stats.rejected_wait == 1  # the withdrawn call never ran
    ex.shutdown()


class RecordingEncoder:
    """Returns one row [number of texts, position, hash of text] per text; records every call it ran."""

    name = "rec"
    dim = 3

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self.gate = gate

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        if self.gate is not None:
            self.gate.wait(10)
        self.batches.append(list(texts))
        return np.array([[len(texts), i, sum(map(ord, t))] for i, t in enumerate(texts)], dtype=np.float32)


def test_each_call_runs_alone_and_an_encoder_error_reaches_its_caller() -> None:
    class Failing(RecordingEncoder):
        def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
            super().encode(texts)
            raise RuntimeError("model crashed")

    ex, good, bad = EncodeExecutor(threads=1, max_queue=8), RecordingEncoder(), Failing()
    rows = ex.encode(good, ["a", "bc"])
    assert rows.tolist() == [[2, 0, ord("a")], [2, 1, ord("b") + ord("c")]]
    with pytest.raises(RuntimeError, match="model crashed"):
        ex.encode(bad, ["x"])
    assert good.batches == [["a", "bc"]] and bad.batches == [["x"]]
    assert (ex.stats.completed, ex.stats.rejected, ex.pending) == (1, 0, 0)
    ex.shutdown()


def test_a_call_queued_at_shutdown_is_refused_and_never_runs() -> None:
    ex, enc = EncodeExecutor(threads=1, max_queue=4, wait_s=5.0), GatedEncoder()
    out: list[object] = []
    threads = _spawn(ex, enc, 2, out)  # one runs (held at the gate), one queues
    _wait_until(lambda: ex.pending == 2 and enc.running == 1)
    t0 = time.perf_counter()
    ex.shutdown()
    _wait_until(lambda: len(out) == 1)
    assert time.perf_counter() - t0 < 2.0  # not left waiting wait_s for a thread
    assert isinstance(out[0], Overloaded) and "stopped" in str(out[0])
    enc.gate.set()
    for t in threads:
        t.join(5)
    assert out[1] == (1, 3) and enc.calls == 1 and ex.pending == 0  # the running call finished


def test_calls_after_shutdown_are_refused_at_once_not_left_waiting_for_no_thread() -> None:
    ex, enc = EncodeExecutor(threads=1, max_queue=4, wait_s=0.2), RecordingEncoder()
    ex.shutdown()
    with pytest.raises(Overloaded, match="stopped"):
        ex.encode(enc, ["late"])
    assert enc.batches == [] and ex.pending == 0


def test_bounded_encoder_looks_like_its_encoder() -> None:
    ex, enc = EncodeExecutor(threads=1), GatedEncoder()
    enc.gate.set()
    b = BoundedEncoder(enc, ex)
    assert (b.name, b.dim) == ("gated", 3) and b.encode(["a", "b"]).shape == (2, 3)
    assert b.inner is enc and enc.calls == 1
    with pytest.raises(AttributeError):  # nothing else forwarded: not mistaken for a caching wrapper
        b.encoder  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ValueError):
        EncodeExecutor(threads=0)
    ex.shutdown()


def test_limit_native_threads_keeps_an_operators_setting() -> None:
    env = {"OMP_NUM_THREADS": "3"}
    limit_native_threads(1, env)
    assert env == {
        "OMP_NUM_THREADS": "3",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "SHELFWISE_QUERY_THREADS": "1",  # inherited by serve's worker processes: no lone ONNX session
    }


def test_the_query_side_of_a_bounded_encoder_still_runs_on_the_executor() -> None:
    """query_encoder(bounded) is the wrapped encoder's query side, bounded too (not the raw model:
    session queries in the recommender would otherwise bypass the executor's limits)."""
    from shelfwise.encode.base import query_encoder

    class QuerySide(RecordingEncoder):
        name = "rec:query"

    class Asymmetric(RecordingEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.query_side = QuerySide()

        def for_queries(self) -> QuerySide:
            return self.query_side

    ex, enc = EncodeExecutor(threads=1), Asymmetric()
    q = query_encoder(BoundedEncoder(enc, ex))
    assert isinstance(q, BoundedEncoder) and q.inner is enc.query_side and q.name == "rec:query"
    q.encode(["a query"])
    assert enc.query_side.batches == [["a query"]] and enc.batches == [] and ex.stats.completed == 1
    ex.shutdown()
