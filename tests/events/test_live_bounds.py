"""Untrusted-input bounds and delivery guarantees of the live layer: clock skew,
bounded retries with per-target drop accounting, and one-call ingestion."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from _doubles import Recorder

from shelfwise.catalog import Catalog
from shelfwise.events import (
    ConsumerConfig,
    Event,
    EventConsumer,
    EventStore,
    EventType,
    parse_event_rows,
)


class FlakyOnce(Recorder):
    """Fails on its first call, then records."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def update(self, events: Sequence[Event]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("transient")
        super().update(events)


class AlwaysFails:
    def __init__(self) -> None:
        self.calls = 0

    def update(self, events: Sequence[Event]) -> None:
        self.calls += 1
        raise RuntimeError("down")


def test_far_future_timestamp_rejected(tiny_catalog: Catalog) -> None:
    now = 1_700_000_000.0
    rows = [
        {"user_id": "u", "type": "view", "item_id": "p1", "timestamp": now + 3600},  # within skew
        {"user_id": "u", "type": "view", "item_id": "p1", "timestamp": now + 2 * 86400},
        {"user_id": "u", "type": "view", "item_id": "p1", "timestamp": "2999-01-01T00:00:00Z"},
        {"user_id": "u", "type": "view", "item_id": "p1", "timestamp": now - 10 * 86400},  # past is fine
    ]
    out = parse_event_rows(rows, tiny_catalog, now=now)
    assert out.indices == [0, 3]
    assert [(e.row, e.field) for e in out.errors] == [(1, "timestamp"), (2, "timestamp")]
    assert "ahead of the server clock" in out.errors[0].message
    tight = parse_event_rows(rows[:1], tiny_catalog, now=now, max_future_s=60.0)
    assert not tight.events and tight.errors[0].field == "timestamp"
    with pytest.raises(ValueError, match="max_future_s"):
        parse_event_rows(rows, tiny_catalog, max_future_s=-1.0)


def test_failed_target_is_retried_then_dropped_alone(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    store.append([Event(f"u{i}", EventType.VIEW, float(i), "p1") for i in range(4)])
    flaky, broken, ok = FlakyOnce(), AlwaysFails(), Recorder()
    cons = EventConsumer(store, [flaky, broken, ok], ConsumerConfig(batch_size=2, max_attempts=3, retry_s=0.0))
    assert cons.drain() == 4 and cons.applied_seq == 4 and store.offset("live") == 4
    assert [e.user_id for e in flaky.seen] == ["u0", "u1", "u2", "u3"]  # the failed batch was redelivered
    assert [e.user_id for e in ok.seen] == ["u0", "u1", "u2", "u3"]
    assert broken.calls == 6  # 3 attempts per batch, 2 batches
    st = cons.stats()
    assert st.target_errors == 1 + 6 and "AlwaysFails: down" in st.last_error
    assert st.events_dropped == {"AlwaysFails": 4}
    with pytest.raises(ValueError, match="max_attempts"):
        ConsumerConfig(max_attempts=0)


def test_ingest_appends_and_waits(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    rec = Recorder()
    cons = EventConsumer(store, [rec]).start()
    try:
        res = cons.ingest([Event("a", EventType.CLICK, 1.0, "p1"), Event("b", EventType.VIEW, 2.0, "p2")], 2.0)
        assert (res.first_seq, res.last_seq, res.applied) == (1, 2, True)
        assert [e.user_id for e in rec.seen] == ["a", "b"]
        with pytest.raises(ValueError, match="no events"):
            cons.ingest([])
    finally:
        cons.stop()
    res2 = cons.ingest([Event("c", EventType.VIEW, 3.0, "p3")])  # consumer stopped: committed, not applied
    assert (res2.first_seq, res2.last_seq, res2.applied) == (3, 3, False) and store.count() == 3
