"""Live state objects, request-row parsing, and the log consumer (threaded, restart-safe)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _doubles import Broken, Recorder

from shelfwise.catalog import Catalog
from shelfwise.events import (
    ConsumerConfig,
    Event,
    EventConsumer,
    EventStore,
    EventType,
    LiveConfig,
    LiveSessions,
    Updatable,
    attach_live,
    parse_event_rows,
    updatables,
)


def _vectors(n: int) -> np.ndarray:
    return np.eye(n, dtype=np.float32)


def test_sessions(tiny_catalog: Catalog) -> None:
    evs = [Event("u", EventType.CLICK, float(t), i) for t, i in enumerate(["p1", "p3", "p1", "p5"])]
    sess = LiveSessions(tiny_catalog, _vectors(12), LiveConfig(session_items=2, max_seen=2))
    assert sess.vector("u") is None and sess.seen("u") == set()
    sess.update(evs)
    v = sess.vector("u")
    assert v is not None and np.linalg.norm(v) == pytest.approx(1.0)
    assert v[4] > v[0] > 0 and v[2] == 0  # only the last 2 items, latest weighs most
    assert sess.seen("u") == {0, 4}
    with pytest.raises(ValueError, match="item vectors"):
        LiveSessions(tiny_catalog, _vectors(3))
    with pytest.raises(ValueError, match="weights"):
        LiveConfig(weights=(1.0,))


def test_sessions_read_vectors_through_the_index(tiny_catalog: Catalog) -> None:
    """Over the shelf's vector index (rows decoded on request), the same session vectors."""
    pytest.importorskip("faiss")
    from shelfwise.index.vector import VectorIndex, VectorIndexConfig
    from shelfwise.recommend.vectors import ItemVectors

    v = np.random.default_rng(0).standard_normal((12, 8)).astype(np.float32)
    index = VectorIndex(VectorIndexConfig(kind="flat", storage="fp32")).fit(v / np.linalg.norm(v, axis=1)[:, None])
    evs = [Event("u", EventType.CLICK, float(t), i) for t, i in enumerate(["p1", "p3", "p5"])]
    a, b = LiveSessions(tiny_catalog, np.array(index.vectors)), LiveSessions(tiny_catalog, ItemVectors(index))
    a.update(evs)
    b.update(evs)
    np.testing.assert_allclose(b.vector("u"), a.vector("u"), rtol=1e-6)


def test_parse_event_rows_names_index_and_field(tiny_catalog: Catalog) -> None:
    rows = [
        {"user_id": "u1", "item_id": "p1", "type": "click"},
        {"user_id": "u1", "item_id": "nope", "type": "view"},
        {"user_id": "", "item_id": "p1", "type": "view"},
        {"user_id": "u2", "item_id": "p2", "type": "teleport"},
        "not an object",
        {"user_id": "u2", "item_id": "p2", "type": "view", "colour": "red"},
        {"user_id": "u3", "type": "query", "query": "red dress", "timestamp": "2024-01-01T00:00:00Z"},
    ]
    now = 1_750_000_000.0  # after the 2024 row (future timestamps beyond the skew are rejected)
    out = parse_event_rows(rows, tiny_catalog, now=now)
    assert out.indices == [0, 6] and out.events[0].timestamp == now and out.events[1].query == "red dress"
    errs = {(e.row, e.field) for e in out.errors}
    assert errs == {(1, "item_id"), (2, "user_id"), (3, "type"), (4, "<row>"), (5, "colour")}
    assert "not in the catalog" in str(out.errors[0])


def test_updatables_filters_and_dedupes(tiny_catalog: Catalog) -> None:
    r = Recorder()
    store = EventStore(":memory:")
    objs = [r, object(), r, EventConsumer(store, []), 3]
    assert updatables(objs) == [r]
    assert isinstance(LiveSessions(tiny_catalog, _vectors(12)), Updatable)


def test_consumer_thread_applies_within_a_second(tmp_path: Path, tiny_catalog: Catalog) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    recorder = Recorder()
    live = attach_live(lambda: [recorder, Broken()], tiny_catalog, _vectors(12), store)
    cons = live.consumer
    try:
        seq = store.append([Event("u1", EventType.CLICK, 1.0, "p4")])
        cons.notify()
        assert cons.wait_for(seq, timeout=1.0)
        assert isinstance(live.sessions, LiveSessions) and live.sessions.seen("u1") == {3}
        assert recorder.seen[0].item_id == "p4"
        st = cons.stats()
        assert st.applied_seq == 1 and st.lag == 0 and st.target_errors == 3 and "boom" in st.last_error
        assert st.events_dropped == {"Broken": 1}  # 3 attempts (default), then dropped for Broken only
        assert st.running
    finally:
        cons.stop()
    assert not cons.stats().running


def test_consumer_restart_replays_or_resumes(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    store.append([Event(f"u{i}", EventType.VIEW, float(i), "p1") for i in range(5)])
    first = Recorder()
    c1 = EventConsumer(store, [first], ConsumerConfig(batch_size=2))
    assert c1.drain() == 5 and c1.applied_seq == 5 and len(first.seen) == 5
    store.append([Event("late", EventType.VIEW, 9.0, "p1")])
    # fresh in-memory state: replay everything from sequence 0
    fresh = Recorder()
    assert EventConsumer(store, [fresh], ConsumerConfig(name="other")).drain() == 6
    assert [e.user_id for e in fresh.seen][-1] == "late"
    # state restored from a checkpoint: resume after the recorded offset
    resumed = Recorder()
    c3 = EventConsumer(store, [resumed], ConsumerConfig(resume=True))
    assert c3.applied_seq == 5 and c3.drain() == 1 and [e.user_id for e in resumed.seen] == ["late"]
    with pytest.raises(ValueError):
        ConsumerConfig(batch_size=0)
