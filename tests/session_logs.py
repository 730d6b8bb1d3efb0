"""Made-up session click logs for recommender tests: sessions that walk forward through item ids."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import Interactions


def walking_sessions(
    rng: np.random.Generator, n_items: int, sessions: int, users: int, max_len: int, move: float | None = None
) -> Interactions:
    """``sessions`` sessions of 2 to ``max_len - 1`` views by ``users`` users (session k by user k % users),
    each view 1-3 items after the last; with ``move``, a view re-views the last item with probability
    1 - ``move``. Draws from ``rng`` in a fixed order, so a seeded generator gives the same log."""
    cat = Catalog([Product(id=f"p{i}", title=f"item {i}") for i in range(n_items)])
    events = []
    for k in range(sessions):
        item = int(rng.integers(0, n_items))
        for j in range(int(rng.integers(2, max_len))):
            events.append(Event(f"u{k % users}", EventType.VIEW, 1000.0 * k + j, f"p{item}", session_id=f"s{k}"))
            if move is None or rng.random() < move:
                item = (item + int(rng.integers(1, 4))) % n_items
    return Interactions.from_log(EventLog.from_events(events, cat), cat)
