"""EventStore.append_unique: event_id stored once (in a batch, across batches, after reopening,
across threads), logs from before event_id gain the column, unstorable text is a ValueError."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from shelfwise.events import Event, EventStore, EventType


def _ev(i: int, user: str = "u") -> Event:
    return Event(user_id=f"{user}{i}", item_id="p1", type=EventType.VIEW, timestamp=float(i))


def test_ids_stored_once_with_seqs_of_stored_copy(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    r = store.append_unique([_ev(0), _ev(1), _ev(2)], ["a", None, "a"])
    assert (r.first_seq, r.last_seq, r.stored, r.duplicate_seqs, r.stored_mask) == (1, 2, 2, (1,), (True, True, False))
    r = store.append_unique([_ev(3), _ev(4), _ev(5)], ["b", "a", ""])
    assert (r.first_seq, r.last_seq, r.stored, r.duplicate_seqs) == (3, 4, 2, (1,)) and r.max_seq == 4
    r = store.append_unique([_ev(6)], ["b"])
    assert (r.first_seq, r.last_seq, r.stored, r.duplicates, r.max_seq) == (0, 0, 0, 1, 3)
    assert store.count() == 4 and [e.user_id for _, e in store.read()] == ["u0", "u1", "u3", "u5"]
    assert store.append([_ev(7)]) == 5  # plain appends keep working, never deduped
    with pytest.raises(ValueError, match="event ids"):
        store.append_unique([_ev(8)], [])


def test_dedupe_survives_reopen(tmp_path: Path) -> None:
    EventStore(tmp_path / "log.sqlite").append_unique([_ev(0)], ["order-1"])
    again = EventStore(tmp_path / "log.sqlite")
    r = again.append_unique([_ev(0), _ev(1)], ["order-1", "order-2"])
    assert r.duplicate_seqs == (1,) and (r.first_seq, r.last_seq) == (2, 2) and again.count() == 2


def test_concurrent_retries_store_each_id_once(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    other = EventStore(tmp_path / "log.sqlite")  # a second connection, like a second process
    ids = [f"id-{i}" for i in range(50)]

    def work(s: EventStore) -> None:
        for j in range(0, 50, 5):
            s.append_unique([_ev(k) for k in range(j, j + 5)], ids[j : j + 5])

    threads = [threading.Thread(target=work, args=(s,)) for s in (store, other, store, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 50


def test_old_log_gains_event_id_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, item_id TEXT NOT NULL,"
        " type INTEGER NOT NULL, timestamp REAL NOT NULL, session_id TEXT NOT NULL, query TEXT NOT NULL)"
    )
    conn.execute(
        "INSERT INTO events (user_id, item_id, type, timestamp, session_id, query) VALUES ('old','p1',1,1,'','')"
    )
    conn.commit()
    conn.close()
    store = EventStore(path)
    assert store.append_unique([_ev(1)], ["x"]).last_seq == 2
    assert store.append_unique([_ev(1)], ["x"]).duplicates == 1
    assert [e.user_id for _, e in store.read()] == ["old", "u1"]


def test_lone_surrogate_is_value_error_and_nothing_stored(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    with pytest.raises(ValueError, match="surrogate"):
        store.append_unique([_ev(0), _ev(1, user="\ud800")])
    with pytest.raises(ValueError, match="surrogate"):
        store.append_unique([_ev(0)], ["\udc80"])
    assert store.count() == 0
