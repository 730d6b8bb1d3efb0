"""Shopper behaviour: typed events and a columnar log aligned to catalog rows."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
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
        }
        key = aliases.get(key, key)
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(t.name.lower() for t in cls)
            if key in EXPOSURE_TYPES:
                raise ValueError(
                    f"{value!r} is an exposure (a product shown in a list), not shopper behaviour: counting it "
                    f"as a view would make whatever is shown look popular and show it more; expected one of {names}"
                ) from None
            raise ValueError(f"unknown event type {value!r}; expected one of {names}") from None


# Names logs give to a product merely shown (GA4 view_item_list, Metarank's ranking event, ...): rejected by
# name so that the error says why, instead of being read as views (a feedback loop: shown -> "viewed" -> shown)
EXPOSURE_TYPES = frozenset({"IMPRESSION", "IMPRESSIONS", "EXPOSURE", "VIEW_ITEM_LIST", "RANKING", "SHOWN"})


@dataclass(frozen=True)
class EventWeights(Mapping[EventType, float]):
    """Implicit-feedback weight per event type: the one definition every stage reads (batch and
    live recommenders, user profiles, valuation, live state, bandit rewards).

    A read-only ``Mapping[EventType, float]``; ``table()`` is the same weights indexed by the
    type's integer value (for columnar logs)."""

    query: float = 0.0
    view: float = 1.0
    click: float = 2.0
    cart: float = 4.0
    purchase: float = 8.0

    def __post_init__(self) -> None:
        if any(not (w >= 0 and math.isfinite(w)) for w in self.values()):
            raise ValueError("EventWeights: every weight must be finite and >= 0")

    def __getitem__(self, etype: EventType) -> float:
        try:
            return float(getattr(self, EventType(etype).name.lower()))
        except ValueError:
            raise KeyError(etype) from None

    def __iter__(self) -> Iterator[EventType]:
        return iter(EventType)

    def __len__(self) -> int:
        return len(EventType)

    def as_tuple(self) -> tuple[float, ...]:
        """One weight per :class:`EventType`, in type order."""
        return tuple(self[t] for t in EventType)

    def table(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.as_tuple(), dtype=np.float32)

    def engaged(self) -> frozenset[EventType]:
        """The types that count as engagement (bandit rewards): weighted at least as a click."""
        return frozenset(t for t in EventType if self[t] >= self.click > 0)


EVENT_WEIGHTS = EventWeights()


REQUEST_ID_MAX = 64
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]+")


def request_id_problem(value: str) -> str | None:
    """Why ``value`` is not a usable ``request_id`` (None when it is): 1 to :data:`REQUEST_ID_MAX`
    ASCII letters, digits and ``. _ : -`` (the ids ``/search`` and ``/recommend/*`` answer are 32
    hex digits; Algolia's queryID is too)."""
    if len(value) > REQUEST_ID_MAX:
        return f"too long: {len(value)} characters, at most {REQUEST_ID_MAX}"
    if not _REQUEST_ID.fullmatch(value):
        return (
            f"must be 1 to {REQUEST_ID_MAX} ASCII letters, digits or . _ : - "
            "(the request_id a /search or /recommend answer gave)"
        )
    return None


@dataclass(frozen=True)
class Event:
    """One behaviour record. ``item_id`` may be empty for a bare query event. ``request_id``: the
    ``/search`` or ``/recommend/*`` answer the event came from ("" when not known): a query event's
    own search, or the list a click, cart or purchase was made from (exact attribution: off-policy
    rewards, search analytics)."""

    user_id: str
    type: EventType
    timestamp: float
    item_id: str = ""
    session_id: str = ""
    query: str = ""
    request_id: str = ""

    def __post_init__(self) -> None:
        if not self.user_id:
            raise ValueError("event user_id must be non-empty")
        if self.request_id:
            problem = request_id_problem(self.request_id)
            if problem is not None:
                raise ValueError(f"event request_id {self.request_id[:80]!r}: {problem}")
        if not math.isfinite(self.timestamp):
            raise ValueError("event timestamp must be finite")
        if self.type is not EventType.QUERY and not self.item_id:
            raise ValueError(f"{self.type.name.lower()} event needs an item_id")


IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EventLog:
    """Columnar, time-sorted events whose items are catalog rows (``item`` = -1 for none).

    ``users`` maps user index -> user id; ``queries`` holds the query text per event ("" if none);
    ``request_ids`` the request id per event ("" if none), or is empty when no event has one.
    """

    user: IntArray
    item: IntArray
    type: npt.NDArray[np.int8]
    timestamp: npt.NDArray[np.float64]
    session: IntArray
    queries: tuple[str, ...]
    users: tuple[str, ...]
    request_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.request_ids and len(self.request_ids) != len(self):
            raise ValueError(f"EventLog: {len(self.request_ids)} request ids for {len(self)} events")

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
            request_ids=tuple(e.request_id for e in evs) if any(e.request_id for e in evs) else (),
        )

    def request_id(self, i: int) -> str:
        """Event ``i``'s request id ("" if none)."""
        return self.request_ids[i] if self.request_ids else ""

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
            request_ids=tuple(self.request_ids[i] for i in idx) if self.request_ids else (),
        )

    def split_by_time(self, fraction: float) -> tuple[EventLog, EventLog]:
        """Split at the timestamp quantile ``fraction``: (earlier, later)."""
        if not 0.0 < fraction < 1.0:
            raise ValueError("fraction must be in (0, 1)")
        cut = float(np.quantile(self.timestamp, fraction)) if len(self) else 0.0
        early = self.timestamp <= cut
        return self.select(early), self.select(~early)
