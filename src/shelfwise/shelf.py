"""A store's assembled stages: what the CLI, the HTTP server and the Python API share.

A plain container; each stage keeps its own logic. Fields other stages add later are optional
so a shelf can serve search before any behaviour data exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shelfwise.catalog.schema import Catalog
from shelfwise.events.schema import EventLog
from shelfwise.retrieve.hybrid import HybridSearcher

if TYPE_CHECKING:
    from shelfwise.events.live import EventConsumer


@dataclass
class Shelf:
    catalog: Catalog
    searcher: HybridSearcher
    events: EventLog | None = None
    # Stage objects registered by later stages (recommenders, live event consumers, bandits),
    # keyed by a stable name; each route module documents the key it reads.
    extensions: dict[str, Any] = field(default_factory=dict)


def enable_live(shelf: Shelf, events_db: str | Path, *, explore_share: float = 0.2) -> EventConsumer:
    """Turn on real-time behaviour: a durable SQLite event log at ``events_db``, live popularity /
    co-occurrence / session state, a Thompson-sampling slot explorer (``explore_share`` of
    recommendation slots, 0 to disable) and a consumer thread that feeds every ``Updatable``
    on the shelf. The consumer replays the log first, so a restart loses no state."""
    from shelfwise.bandit.slots import SlotConfig, SlotExplorer
    from shelfwise.events.live import attach_live
    from shelfwise.events.store import EventStore

    if explore_share > 0:
        shelf.extensions["bandit"] = SlotExplorer(shelf.catalog, config=SlotConfig(explore_share=explore_share))
    return attach_live(shelf.extensions, shelf.catalog, shelf.searcher.item_vectors, EventStore(events_db))
