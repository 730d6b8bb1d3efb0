"""Swapping a new saved shelf into a running server (``POST /admin/reload``, SIGHUP).

The new shelf is loaded and warmed beside the one serving; its live consumer (when the server
has an event log) starts from the new snapshot's offset and catches up on the log; then one
assignment of ``app.state.shelf`` swaps it in. Every route reads ``app.state.shelf`` once per
request, so a request is answered wholly by the old shelf or wholly by the new one: none fails.
Events posted during the swap are committed to the shared log either way and reach the new
shelf through its consumer. The old shelf's consumer stops after the swap; memory holds both
shelves until then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shelfwise.memory import release_memory
from shelfwise.serve import examples as ex
from shelfwise.serve.examples import exemplified
from shelfwise.serve.fleet import FleetWait
from shelfwise.shelf import Shelf

log = logging.getLogger("shelfwise.serve")

CATCH_UP_S = 30.0


class ReloadError(RuntimeError):
    """The reload did not happen (the server keeps serving the shelf it had); ``status`` is the
    HTTP status that says why: 409 (none possible / one already running), 422 (bad shelf)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class ReloadResult(BaseModel):
    """What ``POST /admin/reload`` answers: the folder swapped in, how long loading, warming and
    catching up on the event log took, its size and parts, and the log offset it started from."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.RELOAD))

    shelf: str = Field(description="the shelf folder swapped in")
    took_s: float = Field(description="seconds to load, warm and catch up on the event log")
    products: int = Field(0, description="products in the new shelf's catalog")
    items: int = Field(
        description="deprecated: products, under its old name (elsewhere `items` is a list of hits); kept for "
        "existing clients",
        deprecated=True,
    )
    parts: list[str] = Field(description="the parts the shelf holds (catalog, searcher, reranker, recommender ...)")
    live_seq: int = Field(description="the event-log position the new shelf's live state had reached at the swap")
    replayed: int = Field(description="events its consumer applied after loading (those logged since its snapshot)")
    caught_up: bool = Field(description="its consumer had applied every logged event when it went in")
    query_vectors_kept: int = Field(
        0,
        description="memoised query vectors the new shelf took over from the serving one (same query encoder; "
        "the main and the multilingual retriever's memos, up to 4,096 each), in this process only",
    )
    fleet: FleetWait | None = Field(
        default=None,
        description="serve --workers N: whether every worker serves the new shelf (complete), after how long, "
        "and each worker's pid, shelf and swapped; absent with one process",
    )


class Reloader:
    """Holds the app state to swap into, the default folder, and how a folder becomes a serving
    shelf (``prepare``: the server's :class:`~shelfwise.serve.setup.ShelfRecipe`, the one that
    made its first shelf: load it, apply the start settings, attach the event log)."""

    def __init__(self, state: Any, source: Path | None, prepare: Callable[[Path], Shelf]) -> None:
        self.state = state
        self.source = source
        self.prepare = prepare
        self._lock = threading.Lock()

    def reload(self, path: Path | None = None, catch_up_s: float = CATCH_UP_S) -> ReloadResult:
        target = path or self.source
        if target is None:
            raise ReloadError(409, "this server was not started from a saved shelf (serve --shelf DIR): give a path")
        if not self._lock.acquire(blocking=False):
            raise ReloadError(409, "a reload is already in progress")
        try:
            return self._swap(Path(target), catch_up_s)
        finally:
            self._lock.release()

    def reload_everywhere(self, path: Path | None = None, wait_s: float = 0.0) -> ReloadResult:
        """:meth:`reload`, answered once every serving process has the new shelf: one process here,
        so as soon as it has swapped (``wait_s`` is for :class:`~shelfwise.serve.workers.BroadcastReloader`)."""
        return self.reload(path)

    def _swap(self, target: Path, catch_up_s: float) -> ReloadResult:
        t0 = time.perf_counter()
        try:
            new = self.prepare(target)
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.error("reload of %s failed, still serving the previous shelf: %s", target, e)
            raise ReloadError(422, f"the shelf at {target} failed to load ({e}); still serving the previous one") from e
        seq, replayed, caught_up = 0, 0, True
        try:
            new.searcher.warmup()
            if new.live is not None:
                cons = new.live.consumer
                caught_up = cons.wait_for(cons.store.last_seq(), catch_up_s)
                st = cons.stats()
                seq, replayed = st.applied_seq, st.events_applied
        except BaseException:  # e.g. the encoder pool is busy: drop the new shelf, keep serving the old
            if new.live is not None and new.live is not self.state.shelf.live:
                new.live.consumer.stop()
            raise
        old: Shelf = self.state.shelf
        kept = new.searcher.adopt_query_vectors(old.searcher)  # after warmup(), which empties the memo
        self.state.shelf = new  # the swap: one reference assignment
        self.source = target
        if old.live is not None and old.live is not new.live:
            old.live.consumer.stop()
        del old
        release_memory()
        took = time.perf_counter() - t0
        parts = ["catalog", "searcher"] + [
            n
            for n, v in (
                ("reranker", new.searcher.reranker),
                ("recommender", new.recommender),
                ("bandit", new.bandit),
                ("live", new.live),
                ("suggester", new.suggester),
                ("rules", new.rules),
            )
            if v is not None
        ]
        if caught_up:  # a success is news, not a warning (failures above: ERROR)
            log.info(
                "reloaded the shelf from %s in %.2f s (replayed %d logged events; query vectors kept: %d)",
                target,
                took,
                replayed,
                kept,
            )
        else:
            log.warning(
                "reloaded the shelf from %s in %.2f s; its event log was not caught up within %.0f s "
                "(replayed %d logged events so far; the rest apply in the background)",
                target,
                took,
                catch_up_s,
                replayed,
            )
        return ReloadResult(
            shelf=str(target),
            took_s=round(took, 3),
            products=len(new.catalog),
            items=len(new.catalog),  # deprecated: products' old name
            parts=parts,
            live_seq=seq,
            replayed=replayed,
            caught_up=caught_up,
            query_vectors_kept=kept,
        )

    def reload_in_background(self) -> threading.Thread:
        """For SIGHUP: reload the default folder on a thread, logging the outcome."""

        def run() -> None:
            try:
                self.reload()
            except ReloadError as e:
                log.error("SIGHUP reload: %s", e)

        t = threading.Thread(target=run, name="shelf-reload", daemon=True)
        t.start()
        return t


def install_sighup(reloader: Reloader) -> bool:
    """Reload on SIGHUP (where the platform has it); True when installed."""
    import signal

    sighup = getattr(signal, "SIGHUP", None)
    if sighup is None or threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(sighup, lambda *_: reloader.reload_in_background())
    return True
