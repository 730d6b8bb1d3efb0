"""A store's assembled stages: what the CLI, the HTTP server and the Python API share.

A plain container with one typed, optional field per stage, so a shelf can serve search before
any behaviour data exists; each stage keeps its own logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.events.schema import EventLog
from shelfwise.retrieve.hybrid import HybridSearcher

if TYPE_CHECKING:
    from shelfwise.bandit.slots import SlotExplorer
    from shelfwise.events.backend import EventBackend
    from shelfwise.events.live import LiveState
    from shelfwise.recommend.hybrid import HybridRecommender


class ProfileSource(Protocol):
    """Per-user taste: an L2-normalised vector in item-embedding space, and the rows already seen."""

    def vector(self, user: str) -> npt.NDArray[np.float32] | None: ...

    def seen(self, user: str) -> set[int]: ...


@dataclass
class Shelf:
    catalog: Catalog
    searcher: HybridSearcher
    events: EventLog | None = None
    recommender: HybridRecommender | None = None
    user_profiles: ProfileSource | None = None  # personalises /search
    bandit: SlotExplorer | None = None  # exploration slots on /recommend/user
    live: LiveState | None = None  # real-time state and its event consumer
    valuation_report: Path | None = None  # folder written by `shelfwise value`

    def updatables(self) -> list[object]:
        """Stage objects the event consumer should feed (it keeps those implementing ``update``)."""
        return [x for x in (self.recommender, self.user_profiles, self.bandit) if x is not None]


def enable_live(shelf: Shelf, events_db: str | Path | EventBackend, *, explore_share: float = 0.2) -> LiveState:
    """Turn on real-time behaviour: a durable SQLite event log, live popularity / co-occurrence /
    session state, a Thompson-sampling slot explorer (``explore_share`` of recommendation slots,
    0 to disable) and a consumer thread that feeds every updatable stage on the shelf. The
    consumer replays the log first, so a restart loses no state."""
    from shelfwise.bandit.slots import SlotConfig, SlotExplorer
    from shelfwise.events.backend import open_event_store
    from shelfwise.events.live import attach_live

    if explore_share > 0:
        shelf.bandit = SlotExplorer(shelf.catalog, config=SlotConfig(explore_share=explore_share))
    store = open_event_store(events_db)  # a SQLite file, or nats://... (JetStream, shared by replicas)
    shelf.live = attach_live(shelf.updatables, shelf.catalog, shelf.searcher.item_vectors, store)
    if shelf.user_profiles is None:
        shelf.user_profiles = shelf.live.sessions
    return shelf.live
