"""find_conflicts: a duplicate event_id whose stored copy differs (a reused id) is told apart from a
retry of the same event, in a batch and across batches, field by field; a server-filled timestamp
is not compared."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from shelfwise.events import Event, EventStore, EventType
from shelfwise.events.idempotency import differing_fields, find_conflicts


def _ev(user: str = "u1", item: str = "p1", t: float = 100.0) -> Event:
    return Event(user_id=user, item_id=item, type=EventType.VIEW, timestamp=t, session_id="s1")


def test_a_retry_is_a_duplicate_a_reused_id_a_conflict(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    first = [_ev(), _ev(item="p2"), _ev(item="p3")]
    ids = ["a", "b", "c"]
    r = store.append_unique(first, ids)
    assert find_conflicts(store, first, ids, r) == []  # nothing was a duplicate
    sent = [_ev(), _ev(item="p9"), _ev(user="u2", t=5.0), _ev(item="p4"), _ev(item="p5")]
    sent_ids = ["a", "b", "c", "d", "d"]  # a retry, two reused ids, an id reused inside the batch
    r = store.append_unique(sent, sent_ids)
    assert r.duplicates == 4 and r.stored == 1
    got = find_conflicts(store, sent, sent_ids, r)
    assert [(c.index, c.event_id, c.seq, c.fields) for c in got] == [
        (1, "b", 2, ("item_id",)),
        (2, "c", 3, ("user_id", "item_id", "timestamp")),
        (4, "d", 4, ("item_id",)),  # the batch's first 'd' was stored at 4
    ]
    assert "log sequence number 2" in got[0].message() and "item_id differs" in got[0].message()


def test_a_timestamp_the_server_filled_in_is_not_compared(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    store.append_unique([_ev(t=100.0)], ["a"])
    retry = [_ev(t=250.0)]  # no timestamp sent either time: the server's clock moved on
    r = store.append_unique(retry, ["a"])
    assert find_conflicts(store, retry, ["a"], r, [False]) == []
    assert [c.fields for c in find_conflicts(store, retry, ["a"], r, [True])] == [("timestamp",)]


def test_every_field_is_compared() -> None:
    e = Event("u1", EventType.CART, 1.0, "p1", "s1", "belt")
    for name, value in (("user_id", "u2"), ("item_id", "p2"), ("type", EventType.PURCHASE), ("session_id", "s2"),
                        ("query", "belts"), ("timestamp", 2.0)):  # fmt: skip
        assert differing_fields(e, replace(e, **{name: value})) == (name,)
    assert differing_fields(e, e) == ()


def test_lengths_must_match(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    r = store.append_unique([_ev()], ["a"])
    with pytest.raises(ValueError, match="differ in length"):
        find_conflicts(store, [_ev()], ["a"], r, [True, False])
