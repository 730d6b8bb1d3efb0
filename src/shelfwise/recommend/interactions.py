"""Training data for recommenders: an event log reduced to weighted (user, item, time, session) rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.catalog.schema import Catalog
from shelfwise.events.schema import EVENT_WEIGHTS, Event, EventLog, EventType
from shelfwise.results import FloatArray, IntArray

if TYPE_CHECKING:
    from shelfwise.recommend.profiles import UserProfiles

DAY = 86400.0


def decay(age_seconds: npt.ArrayLike, half_life_days: float | None) -> npt.NDArray[np.float64]:
    """Exponential time decay ``0.5 ** (age / half_life)``; 1 everywhere when ``half_life_days`` is None."""
    age = np.maximum(np.asarray(age_seconds, dtype=np.float64), 0.0)
    if half_life_days is None:
        return np.ones_like(age)
    return np.power(0.5, age / (half_life_days * DAY))


def event_weights(types: npt.NDArray[np.int8], weights: Mapping[EventType, float]) -> FloatArray:
    table = np.zeros(max(int(t) for t in EventType) + 1, dtype=np.float32)
    for t, w in weights.items():
        table[int(t)] = w
    return table[types.astype(np.int64)]


class Interactions:
    """Rows with a catalog item and a positive implicit weight (event-type weight), time-sorted.

    ``users`` maps user index to user id; ``session`` groups events into baskets/sessions.
    """

    def __init__(
        self,
        catalog: Catalog,
        user: IntArray,
        item: IntArray,
        weight: FloatArray,
        timestamp: npt.NDArray[np.float64],
        session: IntArray,
        users: tuple[str, ...],
        half_life_days: float | None = None,
        event_type: npt.NDArray[np.int8] | None = None,
    ) -> None:
        """``event_type``: each row's :class:`EventType` (reasons name the evidence: "bought
        together", "viewed together"); None when not known."""
        n = len(user)
        if not (len(item) == len(weight) == len(timestamp) == len(session) == n):
            raise ValueError("Interactions: column lengths differ")
        if n and (item.min() < 0 or item.max() >= len(catalog)):
            raise ValueError("Interactions: item rows must be catalog rows")
        self.catalog = catalog
        self.user, self.item, self.weight = user, item, weight
        self.timestamp, self.session, self.users = timestamp, session, users
        self.half_life_days = half_life_days
        if event_type is not None and len(event_type) != n:
            raise ValueError("Interactions: event_type length differs")
        self.event_type = event_type

    @classmethod
    def from_log(
        cls,
        log: EventLog,
        catalog: Catalog,
        weights: Mapping[EventType, float] = EVENT_WEIGHTS,
        half_life_days: float | None = None,
    ) -> Interactions:
        w = event_weights(log.type, weights)
        keep = (log.item >= 0) & (w > 0)
        return cls(
            catalog,
            log.user[keep],
            log.item[keep],
            w[keep],
            log.timestamp[keep],
            log.session[keep],
            log.users,
            half_life_days,
            log.type[keep].astype(np.int8),
        )

    @classmethod
    def empty(cls, catalog: Catalog) -> Interactions:
        z = np.zeros(0, dtype=np.int64)
        return cls(catalog, z, z, np.zeros(0, np.float32), np.zeros(0), z, ())

    @classmethod
    def from_events(cls, events: Sequence[Event], catalog: Catalog, **kw: float | None) -> Interactions:
        return cls.from_log(EventLog.from_events(events, catalog), catalog, half_life_days=kw.get("half_life_days"))

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def take(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> Interactions:
        """The rows at ``index`` (a boolean keep-mask or row positions), same catalog, user ids and decay."""
        return Interactions(
            self.catalog,
            self.user[index],
            self.item[index],
            self.weight[index],
            self.timestamp[index],
            self.session[index],
            self.users,
            self.half_life_days,
            self.event_type[index] if self.event_type is not None else None,
        )

    @property
    def n_items(self) -> int:
        return len(self.catalog)

    @property
    def n_users(self) -> int:
        return len(self.users)

    def user_item(self) -> sp.csr_matrix:
        """(users x items) summed weights, decayed by age relative to each user's last event."""
        last = np.full(self.n_users, -np.inf)
        np.maximum.at(last, self.user, self.timestamp)
        w = self.weight * decay(last[self.user] - self.timestamp, self.half_life_days)
        m = sp.csr_matrix((w.astype(np.float32), (self.user, self.item)), shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        return m

    def session_item(self) -> sp.csr_matrix:
        """(sessions x items) binary basket matrix."""
        if not len(self):
            return sp.csr_matrix((0, self.n_items), dtype=np.float32)
        _, s = np.unique(self.session, return_inverse=True)
        m = sp.csr_matrix((np.ones(len(s), dtype=np.float32), (s, self.item)), shape=(int(s.max()) + 1, self.n_items))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    @cached_property
    def event_types(self) -> frozenset[EventType]:
        """The kinds of event the rows come from (empty when not known)."""
        if self.event_type is None:
            return frozenset()
        return frozenset(t for t in EventType if (self.event_type == int(t)).any())

    def item_counts(self) -> FloatArray:
        """How many interactions each item has (unweighted): 0 marks a cold item."""
        return np.bincount(self.item, minlength=self.n_items).astype(np.float32)

    @cached_property
    def profiles(self) -> UserProfiles:
        """One shared, updatable per-user history for every model fitted on these interactions."""
        from shelfwise.recommend.profiles import UserProfiles

        return UserProfiles.from_interactions(self)
