"""A store's assembled stages: what the CLI, the HTTP server and the Python API share.

A plain container with one typed, optional field per stage, so a shelf can serve search before
any behaviour data exists; each stage keeps its own logic. A shelf is one artefact:
:meth:`Shelf.build` makes it from a catalog and a behaviour history, :meth:`Shelf.save` writes it
as one folder with a manifest of its parts (catalog, searcher, reranker, recommender, bandit,
live state and the event-log offset it reflects; see :mod:`shelfwise.snapshot`), and
:meth:`Shelf.load` reads it back; :func:`enable_live` then replays only the events logged after
the snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.events.schema import EventLog
from shelfwise.retrieve.hybrid import HybridSearcher

log = logging.getLogger(__name__)
_MAKING_SUGGESTER = threading.Lock()  # one suggester made per shelf when requests race for it

if TYPE_CHECKING:
    from shelfwise.bandit.impression_log import ImpressionLogger
    from shelfwise.bandit.slots import SlotExplorer
    from shelfwise.events.backend import EventBackend
    from shelfwise.events.live import LiveState
    from shelfwise.recommend.hybrid import HybridRecommender
    from shelfwise.retrieve.rules import Rules
    from shelfwise.retrieve.suggest import Suggester
    from shelfwise.snapshot.build import ShelfConfig
    from shelfwise.snapshot.io import LoadOptions
    from shelfwise.snapshot.livestate import SavedLive
    from shelfwise.snapshot.manifest import Manifest


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
    source: Path | None = None  # the folder it was loaded from
    shelf_id: str = ""  # its manifest's digest (snapshot.manifest.shelf_digest): which save; "" if not loaded from one
    saved_live: SavedLive | None = None  # live state of a loaded snapshot, applied by enable_live
    timings: dict[str, float] = field(default_factory=dict)  # seconds per build step
    suggester: Suggester | None = None  # type-ahead suggestions (made on first use when not saved)
    rules: Rules | None = None  # the store's merchandising rules (pins, hides) for search
    impressions: ImpressionLogger | None = None  # logs lists with explored slots (off-policy evaluation)

    def updatables(self) -> list[object]:
        """Stage objects the event consumer should feed (it keeps those implementing ``update``),
        each once: profiles the recommender keeps (``recommender.profiles``, the usual
        ``user_profiles``) are fed by its own ``update``, so they are not listed again."""
        owned = self.recommender.profiles if self.recommender is not None else None
        profiles = self.user_profiles if self.user_profiles is not owned else None
        return [x for x in (self.recommender, profiles, self.bandit, self.suggester) if x is not None]

    def suggestions(self) -> Suggester:
        """The type-ahead suggester: the saved one, or one made now from the catalog and the loaded
        history's queries (a shelf saved before suggestions existed; a live consumer started
        before it feeds it from its next batch on)."""
        if self.suggester is None:
            from shelfwise.retrieve.suggest import Suggester, logged_queries

            with _MAKING_SUGGESTER:
                if self.suggester is None:
                    self.suggester = Suggester.fit(self.catalog, logged_queries(self.events))
        return self.suggester

    @classmethod
    def build(cls, catalog: Catalog, events: EventLog | None = None, config: ShelfConfig | None = None) -> Shelf:
        """Search indexes over ``catalog``, the recommender fitted on ``events`` (when given) and the
        reranker trained on ``config.judgments`` (when given)."""
        from shelfwise.snapshot.build import ShelfConfig, build_shelf

        return build_shelf(catalog, events, config or ShelfConfig(), print)

    def save(self, path: str | Path) -> Manifest:
        """Write the shelf as one folder (replacing a previous shelf there whole); see
        :func:`shelfwise.snapshot.io.save_shelf`."""
        from shelfwise.snapshot.io import save_shelf

        return save_shelf(self, path)

    @classmethod
    def load(cls, path: str | Path, options: LoadOptions | None = None) -> Shelf:
        """A saved shelf, or an index folder from before shelves; a too-new format, a missing or
        corrupt file raises :class:`shelfwise.snapshot.ShelfFormatError` naming the file."""
        from shelfwise.snapshot.io import load_shelf

        return load_shelf(path, options)


def close_event_log(shelf: Shelf) -> None:
    """Stop ``shelf``'s live consumer and close its event log, and commit and close its impression
    log (a server's shutdown; nothing to do without them)."""
    if shelf.impressions is not None:
        shelf.impressions.close()
    live = shelf.live
    if live is None:
        return
    live.consumer.stop()
    live.consumer.store.close()


def set_explore_share(shelf: Shelf, share: float, candidates: int = 0) -> None:
    """The server's exploration share and relevance gate (``SlotConfig.candidates``, 0: the random
    tail) over an explorer saved with ``shelf``: share 0 removes it (no slot is explored), another
    share keeps what it learnt and explores that share of the slots, gated by ``candidates``. A shelf
    without one is left as it is (:func:`enable_live` makes one)."""
    from dataclasses import replace

    if shelf.bandit is None:
        return
    config = shelf.bandit.config
    if share == 0:
        shelf.bandit = None
    elif (config.explore_share, config.candidates) != (share, candidates):
        shelf.bandit.config = replace(config, explore_share=share, candidates=candidates)


def enable_live(
    shelf: Shelf,
    events_db: str | Path | EventBackend,
    *,
    explore_share: float = 0.2,
    explore_candidates: int = 0,
    start: bool = True,
) -> LiveState:
    """Turn on real-time behaviour: a durable SQLite event log, live session state, a
    Thompson-sampling slot explorer (``explore_share`` of recommendation slots,
    0 to disable; ``explore_candidates``: its relevance gate, ``SlotConfig.candidates``, 0: off;
    a bandit loaded with the shelf is kept) and a consumer thread that feeds every
    updatable stage on the shelf. The consumer replays the log first, so a restart loses no state:
    from the start, or, for a shelf loaded from a snapshot of this same log, from the snapshot's
    offset (its live state restored). ``start=False``: the caller starts the consumer."""
    from shelfwise.bandit.slots import SlotConfig, SlotExplorer
    from shelfwise.events.backend import open_event_store
    from shelfwise.events.live import attach_live
    from shelfwise.recommend.vectors import ItemVectors
    from shelfwise.snapshot.livestate import restore_live

    if explore_share > 0 and shelf.bandit is None:
        config = SlotConfig(explore_share=explore_share, candidates=explore_candidates)
        shelf.bandit = SlotExplorer(shelf.catalog, config=config)
    shelf.suggestions()  # made before the consumer replays the log, so the log's queries count (older shelves)
    store = open_event_store(events_db)  # a SQLite file, or nats://... (JetStream, shared by replicas)
    saved = shelf.saved_live
    offset = _resume_at(shelf, store)
    shelf.live = attach_live(
        shelf.updatables,
        shelf.catalog,
        ItemVectors(shelf.searcher.dense.index),  # rows read from the index: no float32 copy of sq8 codes
        store,
        live=saved.config if saved is not None else None,
        start=False,
        start_seq=offset,
    )
    if saved is not None and offset > 0:
        restore_live(shelf.live, saved)
    shelf.saved_live = None  # applied (or discarded): the live state now owns it
    stale = shelf.recommender.popularity.stale_note(time.time()) if shelf.recommender is not None else ""
    if stale:
        log.warning("%s", stale)
    if shelf.user_profiles is None:
        shelf.user_profiles = shelf.live.sessions
    if start:
        shelf.live.consumer.start()
    return shelf.live


def _resume_at(shelf: Shelf, store: EventBackend) -> int:
    """Where replaying ``store`` onto ``shelf`` starts: after the shelf's snapshot when it was taken
    from this log (:func:`~shelfwise.snapshot.livestate.resume_offset`), else at the start."""
    from shelfwise.snapshot.livestate import resume_offset

    saved = shelf.saved_live
    return resume_offset(store, saved.position) if saved is not None else 0


def replay_log(shelf: Shelf, events_db: str | Path) -> tuple[int, int]:
    """Apply to ``shelf``'s stages the events a server started on it with ``--events-db
    events_db`` would replay before answering (:func:`enable_live`: those after the shelf's
    snapshot, the whole log for a shelf saved without one), in the consumer's batches, reading the
    log only: no offset recorded, nothing written. Returns (the sequence number replayed from,
    events applied). For one-off answers (``shelfwise recommend --shelf --events-db``); no live
    session state is made."""
    from shelfwise.events.backend import open_event_store
    from shelfwise.events.consumer import ConsumerConfig, EventConsumer

    store = open_event_store(events_db, read_only=True)
    try:
        start = _resume_at(shelf, store)
        consumer = EventConsumer(store, shelf.updatables, ConsumerConfig(record=False), start_seq=start)
        return start, consumer.drain()
    finally:
        store.close()
