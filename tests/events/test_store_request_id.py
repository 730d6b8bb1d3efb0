"""Events carry an optional request_id (the /search or /recommend answer they came from): validated,
stored durably, read back; a log written before the column existed opens (read-write: it gains the
column; read-only: read as it is) and keeps working; the CSV loader reads and checks the column."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog
from shelfwise.events import Event, EventLog, EventStore, EventType, load_events
from shelfwise.events.idempotency import differing_fields
from shelfwise.events.nats_store import decode_event, encode_event
from shelfwise.events.schema import request_id_problem

RID = "0123456789abcdef0123456789abcdef"

# The events table and index exactly as EventStore wrote them before request ids (session 19)
_OLD_SCHEMA = (
    "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, item_id TEXT NOT NULL,"
    " type INTEGER NOT NULL, timestamp REAL NOT NULL, session_id TEXT NOT NULL, query TEXT NOT NULL, event_id TEXT)",
    "CREATE TABLE offsets (name TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE UNIQUE INDEX events_event_id ON events(event_id) WHERE event_id IS NOT NULL",
    "INSERT INTO events (user_id, item_id, type, timestamp, session_id, query, event_id)"
    " VALUES ('old', 'p1', 2, 1.0, 's', 'dress', 'e-1')",
    "INSERT INTO offsets (name, seq) VALUES ('live', 1)",
)


def _old_log(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    for stmt in _OLD_SCHEMA:
        conn.execute(stmt)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("value", "ok"),
    [(RID, True), ("a.b_c:d-1", True), ("x" * 64, True), ("x" * 65, False), ("has space", False), ("é", False)],
)
def test_request_id_rule(value: str, ok: bool) -> None:
    assert (request_id_problem(value) is None) is ok
    if not ok:
        with pytest.raises(ValueError, match="request_id"):
            Event("u", EventType.CLICK, 1.0, "p1", request_id=value)


def test_request_id_stored_and_read_back(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    store.append([Event("u", EventType.CLICK, 1.0, "p1", request_id=RID), Event("u", EventType.VIEW, 2.0, "p2")])
    store.close()
    again = EventStore(tmp_path / "log.sqlite", read_only=True)
    assert [e.request_id for _, e in again.read()] == [RID, ""]


def test_a_log_from_before_request_ids_opens_and_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _old_log(path)
    ro = EventStore(path, read_only=True)  # read as it is: nothing written, request ids ""
    assert [(e.user_id, e.request_id) for _, e in ro.read()] == [("old", "")]
    ro.close()
    store = EventStore(path)  # read-write: gains the column
    assert store.offset("live") == 1
    assert store.append_unique([Event("old", EventType.CLICK, 1.0, "p1", "s", "dress")], ["e-1"]).duplicates == 1
    store.append([Event("new", EventType.CLICK, 2.0, "p2", request_id=RID)])
    assert [(e.user_id, e.request_id) for _, e in store.read()] == [("old", ""), ("new", RID)]
    store.close()
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(events)")]
    assert cols[-1] == "request_id"


def test_a_retry_with_another_request_id_is_a_different_event() -> None:
    a = Event("u", EventType.CLICK, 1.0, "p1", request_id=RID)
    assert differing_fields(a, Event("u", EventType.CLICK, 1.0, "p1")) == ("request_id",)
    assert differing_fields(a, a) == ()


def test_nats_messages_carry_the_request_id_and_old_ones_decode() -> None:
    e = Event("u", EventType.CLICK, 1.0, "p1", request_id=RID)
    assert decode_event(encode_event(e)) == e
    plain = Event("u", EventType.CLICK, 1.0, "p1")
    assert b'"r"' not in encode_event(plain) and decode_event(encode_event(plain)) == plain


def test_loader_reads_and_checks_the_request_id_column(tmp_path: Path, tiny_catalog: Catalog) -> None:
    item = tiny_catalog.ids[0]
    path = tmp_path / "ev.csv"
    path.write_text(
        "user_id,item_id,type,timestamp,request_id\n"
        f"u1,{item},click,100,{RID}\n"
        f"u1,{item},click,200,\n"
        f"u2,{item},click,300,not an id\n"
    )
    got = load_events(path, catalog=tiny_catalog)
    assert [e.request_id for e in got.events] == [RID, "", ""]  # a bad one: the event kept without it
    assert not got.errors and [(w.row, w.field) for w in got.warnings] == [(4, "request_id")]  # file line 4
    log = EventLog.from_events(got.events, tiny_catalog)
    assert log.request_ids == (RID, "", "") and log.select(log.timestamp > 150).request_ids == ("", "")
    bare = EventLog.from_events([Event("u", EventType.CLICK, 1.0, item)], tiny_catalog)
    assert bare.request_ids == () and bare.request_id(0) == ""
