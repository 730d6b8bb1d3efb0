"""Real-time wiring: the live session state and the consumer that feeds it and every stage.

The parts live in focused modules: :mod:`~shelfwise.events.updatable` (the ``Updatable``
contract), :mod:`~shelfwise.events.rows` (request rows to events), :mod:`~shelfwise.events.sessions`
(live session vectors and seen items) and :mod:`~shelfwise.events.consumer` (the log consumer and
its delivery guarantee). Popularity and co-occurrence learn live inside the recommender
(``HybridRecommender.update``): one incremental model per signal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shelfwise.catalog.schema import Catalog
from shelfwise.events.backend import EventBackend
from shelfwise.events.consumer import ConsumerConfig, EventConsumer
from shelfwise.events.sessions import FloatArray, LiveConfig, LiveSessions

if TYPE_CHECKING:
    from shelfwise.recommend.vectors import ItemVectors


@dataclass
class LiveState:
    """The real-time state :func:`attach_live` builds, and the consumer that feeds it."""

    sessions: LiveSessions
    consumer: EventConsumer


def attach_live(
    targets: Callable[[], Iterable[object]],
    catalog: Catalog,
    item_vectors: FloatArray | ItemVectors,
    store: EventBackend,
    *,
    live: LiveConfig | None = None,
    consumer: ConsumerConfig | None = None,
    start: bool = True,
    start_seq: int | None = None,
) -> LiveState:
    """Live session state plus a consumer over ``store``.

    The consumer feeds the sessions and every ``Updatable`` that ``targets()`` returns at each
    batch (e.g. ``shelf.updatables``: recommender, profiles, bandit), each distinct object once;
    it is started (replaying the log after ``start_seq``, default 0 or the recorded offset with
    ``resume``) unless ``start`` is False.
    """
    sessions = LiveSessions(catalog, item_vectors, live or LiveConfig())
    cons = EventConsumer(store, lambda: [sessions, *targets()], consumer, start_seq=start_seq)
    if start:
        cons.start()
    return LiveState(sessions, cons)
