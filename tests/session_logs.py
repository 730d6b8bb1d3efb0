"""Made-up session click logs for recommender tests: sessions that walk forward through item ids."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import Interactions


def numbered_catalog(n: int) -> Catalog:
    """Products ``p0`` .. ``p{n-1}``, titled ``item 0`` .. (catalog row i is ``p{i}``)."""
    return Catalog([Product(id=f"p{i}", title=f"item {i}") for i in range(n)])


def view_sessions(cat: Catalog, sessions: list[list[int]], t0: float = 0.0) -> Interactions:
    """Session k views its item rows in order, one second apart, from ``t0 + 10_000 * k`` (by shopper ``s{k}``)."""
    events = [
        Event(f"s{k}", EventType.VIEW, t0 + 10_000.0 * k + j, f"p{i}", session_id=f"s{k}")
        for k, items in enumerate(sessions)
        for j, i in enumerate(items)
    ]
    return Interactions.from_log(EventLog.from_events(events, cat), cat)


def walking_sessions(
    rng: np.random.Generator, n_items: int, sessions: int, users: int, max_len: int, move: float | None = None
) -> Interactions:
    """``sessions`` sessions of 2 to ``max_len - 1`` views by ``users`` users (session k by user k % users),
    each view 1-3 items after the last; with ``move``, a view re-views the last item with probability
    1 - ``move``. Draws from ``rng`` in a fixed order, so a seeded generator gives the same log."""
    cat = numbered_catalog(n_items)
    events = []
    for k in range(sessions):
        item = int(rng.integers(0, n_items))
        for j in range(int(rng.integers(2, max_len))):
            events.append(Event(f"u{k % users}", EventType.VIEW, 1000.0 * k + j, f"p{item}", session_id=f"s{k}"))
            if move is None or rng.random() < move:
                item = (item + int(rng.integers(1, 4))) % n_items
    return Interactions.from_log(EventLog.from_events(events, cat), cat)


def walking_store(n_items: int = 120, seed: int = 7) -> tuple[Interactions, npt.NDArray[np.float32]]:
    """400 :func:`walking_sessions` of 50 users over ``n_items`` items and a random unit vector
    (dim 12) per item, standing in for text vectors: a small store every hybrid component scores."""
    rng = np.random.default_rng(seed)
    data = walking_sessions(rng, n_items, 400, 50, 9)
    vec = rng.normal(size=(n_items, 12)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    return data, vec


def basket_interactions(cat: Catalog, users: dict[str, list[list[int]]]) -> Interactions:
    """Each user's baskets of item rows, oldest first, one day apart (a session each), items a
    second apart inside one: purchases."""
    events = [
        Event(u, EventType.PURCHASE, 86_400.0 * b + j, f"p{i}", session_id=f"{u}-{b}")
        for u, baskets in users.items()
        for b, items in enumerate(baskets)
        for j, i in enumerate(items)
    ]
    return Interactions.from_log(EventLog.from_events(events, cat), cat)
