"""Shopper behaviour: typed events and a columnar log aligned to catalog rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog


class EventType(IntEnum):
    """Event kinds, ordered by strength of intent."""

    QUERY = 0
    VIEW = 1
    CLICK = 2
    CART = 3
    PURCHASE = 4

    @classmethod
    def parse(cls, value: str | int) -> EventType:
        if isinstance(value, int):
            return cls(value)
        key = value.strip().upper()
        aliases = {
            "ADD_TO_CART": "CART",
            "ADDTOCART": "CART",
            "BUY": "PURCHASE",
            "TRANSACTION": "PURCHASE",
            "SEARCH": "QUERY",
            "DETAIL": "VIEW",
            "IMPRESSION": "VIEW",
        }
        key = aliases.get(key, key)
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(t.name.lower() for t in cls)
            raise ValueError(f"unknown event type {value!r}; expected one of {names}") from None


# Default implicit-feedback weight per type, used by recommenders and training-pair mining.
DEFAULT_WEIGHTS: dict[EventType, float] = {
    EventType.QUERY: 0.0,
    EventType.VIEW: 1.0,
    EventType.CLICK: 2.0,
    EventType.CART: 4.0,
    EventType.PURCHASE: 8.0,
}


@dataclass(frozen=True)
class Event:
    """One behaviour record. ``item_id`` may be empty for a bare query event."""

    user_id: str
    type: EventType
    timestamp: float
    item_id: str = ""
    session_id: str = ""
    query: str = ""

    def __post_init__(self) -> None:
        if not self.user_id:
            raise ValueError("event user_id must be non-empty")
        if not math.isfinite(self.timestamp):
            raise ValueError("event timestamp must be finite")
        if self.type is not EventType.QUERY and not self.item_id:
            raise ValueError(f"{self.type.name.lower()} event needs an item_id")


IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EventLog:
    """Columnar, time-sorted events whose items are catalog rows (``item`` = -1 for none).

    ``users`` maps user index -> user id; ``queries`` holds the query text per event ("" if none).
    """

    user: IntArray
    item: IntArray
    type: npt.NDArray[np.int8]
    timestamp: npt.NDArray[np.float64]
    session: IntArray
    queries: tuple[str, ...]
    users: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.user.shape[0])

    @classmethod
    def from_events(cls, events: Sequence[Event], catalog: Catalog) -> EventLog:
        """Build a log; events whose item is not in ``catalog`` get ``item`` = -1."""
        order = sorted(range(len(events)), key=lambda i: events[i].timestamp)
        evs = [events[i] for i in order]
        uidx: dict[str, int] = {}
        sidx: dict[str, int] = {}
        user = np.array([uidx.setdefault(e.user_id, len(uidx)) for e in evs], dtype=np.int64)
        session = np.array(
            [sidx.setdefault(e.session_id or f"user:{e.user_id}", len(sidx)) for e in evs], dtype=np.int64
        )
        item = np.array(
            [(-1 if not e.item_id else (catalog.get_row(e.item_id) if e.item_id in catalog else -1)) for e in evs],
            dtype=np.int64,
        )
        return cls(
            user=user,
            item=item,
            type=np.array([int(e.type) for e in evs], dtype=np.int8),
            timestamp=np.array([e.timestamp for e in evs], dtype=np.float64),
            session=session,
            queries=tuple(e.query for e in evs),
            users=tuple(uidx),
        )

    def select(self, mask: npt.NDArray[np.bool_]) -> EventLog:
        """Events where ``mask`` is True (user ids stay the same)."""
        idx = np.flatnonzero(mask)
        return EventLog(
            user=self.user[idx],
            item=self.item[idx],
            type=self.type[idx],
            timestamp=self.timestamp[idx],
            session=self.session[idx],
            queries=tuple(self.queries[i] for i in idx),
            users=self.users,
        )

    def split_by_time(self, fraction: float) -> tuple[EventLog, EventLog]:
        """Split at the timestamp quantile ``fraction``: (earlier, later)."""
        if not 0.0 < fraction < 1.0:
            raise ValueError("fraction must be in (0, 1)")
        cut = float(np.quantile(self.timestamp, fraction)) if len(self) else 0.0
        early = self.timestamp <= cut
        return self.select(early), self.select(~early)
