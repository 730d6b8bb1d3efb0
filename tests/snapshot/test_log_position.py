"""``LogPosition``: the event-log offset a snapshot reflects, typed, and how it is read back."""

from __future__ import annotations

import json
from pathlib import Path

from shelfwise.events import Event, EventStore, EventType
from shelfwise.snapshot.livestate import LogPosition, log_position, resume_offset


def _store(path: Path, users: list[str]) -> EventStore:
    store = EventStore(path)
    store.append(Event(user_id=u, item_id="p1", type=EventType.VIEW, timestamp=float(i)) for i, u in enumerate(users))
    return store


def test_position_round_trips_through_json_and_resumes_only_on_the_same_log(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite", ["u0", "u1", "u2"])
    pos = log_position(store, 2)
    assert pos == LogPosition(2, ("u1", "p1", 1.0))
    back = LogPosition.from_json(json.loads(json.dumps(pos.to_json())))
    assert back == pos and resume_offset(store, back) == 2
    assert log_position(store, 0) == LogPosition() and resume_offset(store, LogPosition()) == 0
    other = _store(tmp_path / "b.sqlite", ["x0", "x1", "x2"])  # same offsets, other events
    assert resume_offset(other, back) == 0
    assert resume_offset(store, LogPosition(9, ("u1", "p1", 1.0))) == 0  # past the end of the log


def test_position_is_read_leniently() -> None:
    """An identity that is not a [user, item, timestamp] triple matches no log (full replay); an
    integer-valued timestamp equals the float one the store holds."""
    assert LogPosition.from_json({}) == LogPosition()
    assert LogPosition.from_json({"offset": 3, "event_at_offset": None}) == LogPosition(3)
    assert LogPosition.from_json({"offset": 3, "event_at_offset": ["u", "p"]}) == LogPosition(3)
    assert LogPosition.from_json({"offset": 3, "event_at_offset": ["u", "p", 5]}) == LogPosition(3, ("u", "p", 5.0))
