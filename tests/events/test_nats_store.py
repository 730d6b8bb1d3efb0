"""NatsEventStore on a real nats-server (JetStream) started here on loopback: the EventStore
contract, idempotent appends, two serving replicas consuming the same stream, and no acknowledged
event lost when the server is SIGKILLed and restarted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _doubles import Recorder

from shelfwise.catalog import Catalog
from shelfwise.events import ConsumerConfig, Event, EventConsumer, EventType
from shelfwise.events.backend import EventBackend, open_event_store
from shelfwise.events.idempotency import find_conflicts
from shelfwise.events.nats_store import NatsConfig, NatsEventStore, offset_key
from shelfwise.loopback import LoopbackServer, nats_server
from shelfwise.retrieve import HybridSearcher
from shelfwise.shelf import Shelf, enable_live

pytestmark = pytest.mark.backend  # servers / worker processes on loopback: `pytest -m backend` (CI runs it)


def _ev(i: int) -> Event:
    return Event(user_id=f"u{i}", item_id=f"p{i % 7}", type=EventType.CLICK, timestamp=float(i), query="blå väska")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    with nats_server(tmp_path_factory.mktemp("nats")) as srv:
        yield srv


def _store(server: LoopbackServer, stream: str, timeout_s: float = 1.0) -> NatsEventStore:
    store = open_event_store(f"{server.url}?stream={stream}&timeout_s={timeout_s}")
    assert isinstance(store, NatsEventStore) and isinstance(store, EventBackend)
    return store


def test_contract_matches_sqlite_store(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shelfwise.events.nats_store._WINDOW", 40)
    monkeypatch.setattr("shelfwise.events.nats_store._FETCH_MAX", 32)
    store = _store(server, "contract", timeout_s=10)
    try:
        assert store.append([]) == 0 and store.count() == 0
        assert store.append([_ev(0), _ev(1)]) == 2
        assert store.append([_ev(2)]) == 3
        got = store.read(since=1)
        assert [s for s, _ in got] == [2, 3] and got[0][1] == _ev(1)  # text round-trips exactly
        assert [s for s, _ in store.read(0, limit=1)] == [1]
        assert store.read(since=3) == []
        big = store.append([_ev(i) for i in range(100)])  # several publish windows and pull requests
        assert big == 103 and [s for s, _ in store.read(3)] == list(range(4, 104))
        assert store.offset("live") == 0
        store.save_offset("live", 2)
        store.save_offset("replica b/ä", 3)  # a name outside the key alphabet
        with pytest.raises(ValueError):
            store.save_offset("live", -1)
    finally:
        store.close()
    again = _store(server, "contract", timeout_s=10)
    assert again.offset("live") == 2 and again.offset("replica b/ä") == 3
    assert again.count() == 103 and again.last_seq() == 103
    again.close()


def test_append_unique_reports_duplicates_like_sqlite(server: LoopbackServer) -> None:
    store = _store(server, "dedupe")
    r = store.append_unique([_ev(0), _ev(1), _ev(2), _ev(3)], ["a", None, "a", "b"])
    assert (r.first_seq, r.last_seq, r.stored) == (1, 3, 3)
    assert r.duplicate_seqs == (1,) and r.stored_mask == (True, True, False, True)
    again = store.append_unique([_ev(0), _ev(4)], ["b", "c"])  # a resend after a timeout
    assert again.stored == 1 and again.duplicate_seqs == (3,) and again.last_seq == 4 and again.max_seq == 4
    assert store.count() == 4
    with pytest.raises(ValueError):
        store.append_unique([_ev(0)], ["a", "b"])
    store.close()


def test_a_reused_event_id_is_found_on_the_stream(server: LoopbackServer) -> None:
    store = _store(server, "reuse")
    try:
        store.append_unique([_ev(0), _ev(1), _ev(2)], ["a", "b", "c"])
        sent, ids = [_ev(0), _ev(5), _ev(2), _ev(6)], ["a", "b", "c", "a"]  # retries of a, c; b and a reused
        r = store.append_unique(sent, ids)
        got = find_conflicts(store, sent, ids, r)
        assert [(c.index, c.seq, c.fields) for c in got] == [(1, 2, ("user_id", "item_id", "timestamp")),
                                                             (3, 1, ("user_id", "item_id", "timestamp"))]  # fmt: skip
    finally:
        store.close()


def test_config_from_url() -> None:
    cfg = NatsConfig.from_url("nats://a:1,b:2?stream=S&replicas=3&dedupe_window_s=60")
    assert cfg.servers == ("nats://a:1", "nats://b:2") and cfg.stream == "S" and cfg.replicas == 3
    assert cfg.subject == "S.events" and cfg.dedupe_window_s == 60.0
    with pytest.raises(ValueError, match="unknown option"):
        NatsConfig.from_url("nats://a:1?strem=S")
    with pytest.raises(ValueError):
        NatsConfig.from_url("nats://a:1?stream=a.b")
    assert offset_key("live") == "live" and offset_key("a b") == "x-" + b"a b".hex()


def test_kill9_and_restart_lose_no_acknowledged_event(server: LoopbackServer) -> None:
    """A writer appends batches with event ids and retries each until acknowledged; the server is
    SIGKILLed mid-stream and restarted, four times and then until a kill has interrupted an append.
    Every acknowledged event is in the stream afterwards,
    exactly once, batches in order, and two replicas' consumers both apply all of them in the
    stream's order."""
    writer = _store(server, "crash")
    replicas = [_store(server, "crash") for _ in range(2)]
    seen = [Recorder(), Recorder()]
    consumers = [
        EventConsumer(r, [s], ConsumerConfig(name=f"replica-{i}", poll_s=0.02)).start()
        for i, (r, s) in enumerate(zip(replicas, seen, strict=True))
    ]
    acked: list[str] = []
    failures = 0
    done, stop = threading.Event(), threading.Event()

    def write() -> None:
        nonlocal failures
        b = 0
        while b < 40 or not stop.is_set():  # at least 40 batches; more while the kills go on
            ids = [f"e{b}-{j}" for j in range(5)]
            while True:
                try:
                    writer.append_unique([_ev(b * 5 + j) for j in range(5)], ids)
                    acked.extend(ids)
                    break
                except Exception:
                    failures += 1
                    time.sleep(0.05)
            b += 1
        done.set()

    t = threading.Thread(target=write)
    t.start()
    # a kill may land between two appends (then none fails): at least four kills, and more (up to 16)
    # until one has interrupted an append, so the check below is not left to timing
    kills = 0
    while kills < 4 or (failures == 0 and kills < 16):
        target = 50 + 35 * kills
        deadline = time.monotonic() + 10
        while len(acked) < target and time.monotonic() < deadline:
            time.sleep(0.002)
        server.kill()
        time.sleep(0.3)
        server.start()
        time.sleep(0.2)
        kills += 1
    stop.set()
    t.join(60)
    n = len(acked)
    assert done.is_set() and n >= 200 and n % 5 == 0 and failures > 0  # the kills did interrupt appends
    fresh = _store(server, "crash")
    stored = fresh.read()
    assert len(stored) == n == fresh.count()  # nothing lost, nothing stored twice
    users = [e.user_id for _, e in stored]
    assert sorted(users) == sorted(f"u{i}" for i in range(n))
    # batches stay in order (a batch is sent only after the previous one was acknowledged); inside a
    # batch retried after a kill, the events that missed their ack land after those that made it
    batches = [int(u[1:]) // 5 for u in users]
    assert batches == sorted(batches)
    for c in consumers:
        assert c.wait_for(fresh.last_seq(), 20)
        c.stop()
    assert [e.user_id for e in seen[0].seen] == [e.user_id for e in seen[1].seen] == [e.user_id for _, e in stored]
    for s in (writer, fresh, *replicas):
        s.close()


def test_open_event_store_paths(tmp_path: Path) -> None:
    from shelfwise.events import EventStore

    assert isinstance(open_event_store(tmp_path / "a.sqlite"), EventStore)
    assert isinstance(open_event_store(f"sqlite://{tmp_path / 'b.sqlite'}"), EventStore)
    s = EventStore(":memory:")
    assert open_event_store(s) is s


def test_enable_live_on_a_nats_url(
    server: LoopbackServer, tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    """The configuration hook: a shelf's live state fed from JetStream, chosen by URL alone."""
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher)
    live = enable_live(shelf, f"{server.url}?stream=shelf", explore_share=0)
    try:
        assert isinstance(live.consumer.store, NatsEventStore)
        res = live.consumer.ingest([Event("u1", EventType.PURCHASE, 1.0, "p3")], wait_s=10)
        assert res.applied and live.sessions.seen("u1") == {tiny_catalog.row("p3")}
    finally:
        live.consumer.stop()
        live.consumer.store.close()
