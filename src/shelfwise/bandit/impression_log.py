"""Logging served lists with exploration slots, off the request path.

A request hands :meth:`ImpressionLogger.log` an :class:`ImpressionDraft` (ids, explored
positions, the draws and the posterior snapshot they saw: microseconds) and returns; a background
thread computes each explored item's exact propensity
(:func:`~shelfwise.bandit.propensity.exploration_probs`: about 2 ms for a 40,000-arm pool with one
prior, ~10 ms with 40 distinct posteriors) and commits batches to the
:class:`~shelfwise.events.impressions.ImpressionStore`. The queue is bounded: when the thread
falls behind, new drafts are dropped and counted (``dropped``), never blocking a request; a
dropped list is missing from the log at random with respect to its outcome, so estimates stay
unbiased, on fewer lists.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, replace

from shelfwise.bandit.propensity import exploration_probs
from shelfwise.bandit.slots import Exploration
from shelfwise.events.impressions import Impression, ImpressionStore

log = logging.getLogger(__name__)
MAX_QUEUE = 1024  # drafts awaiting their propensities (each holds its pools' masks: ~n_items bytes)
BATCH = 256  # impressions per commit


@dataclass(frozen=True)
class ImpressionDraft:
    """A served list as the request knew it: its ``record`` with no propensity yet, and the
    ``exploration`` whose draws give them."""

    record: Impression
    exploration: Exploration

    @property
    def request_id(self) -> str:
        return self.record.request_id

    def impression(self) -> Impression:
        """The record, with each explored item's propensity computed now (None for a policy other
        than Thompson sampling, whose selection probabilities are not computed)."""
        probs = exploration_probs(self.exploration)
        if probs is None:
            return self.record
        n = len(self.record.explored)
        slot, inclusion = tuple(float(p) for p in probs.slot[:n]), tuple(float(p) for p in probs.inclusion[:n])
        return replace(self.record, propensity=slot, inclusion=inclusion)


class ImpressionLogger:
    """Background writer of :class:`ImpressionDraft` s into ``store``; ``logged`` / ``dropped`` /
    ``failed`` count what became of them."""

    def __init__(self, store: ImpressionStore, *, max_queue: int = MAX_QUEUE, batch: int = BATCH) -> None:
        self.store = store
        self.batch = batch
        self.logged = self.dropped = self.failed = 0
        self._q: queue.Queue[ImpressionDraft | None] = queue.Queue(max_queue)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="impression-log", daemon=True)
        self._thread.start()

    def log(self, draft: ImpressionDraft) -> bool:
        """Queue ``draft``; False (and counted in ``dropped``) when the queue is full or closed."""
        if self._closed:
            self.dropped += 1
            return False
        try:
            self._q.put_nowait(draft)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued draft is committed (or given up on); False on timeout."""
        end = time.monotonic() + timeout
        with self._q.all_tasks_done:
            while self._q.unfinished_tasks:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._q.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, stop the thread and close the store."""
        if self._closed:
            return
        self._closed = True
        self._q.put(None)
        self._thread.join(timeout)
        self.store.close()

    def _run(self) -> None:
        while True:
            first = self._q.get()
            drafts = [first]
            while first is not None and len(drafts) < self.batch:
                try:
                    drafts.append(self._q.get_nowait())
                except queue.Empty:
                    break
                if drafts[-1] is None:
                    break
            todo = [d for d in drafts if d is not None]
            try:
                self._write(todo)
            finally:
                for _ in drafts:
                    self._q.task_done()
            if drafts[-1] is None:
                return

    def _write(self, drafts: list[ImpressionDraft]) -> None:
        records: list[Impression] = []
        for d in drafts:
            try:
                records.append(d.impression())
            except Exception:  # a bad draft must not stop the log
                self.failed += 1
                log.exception("impression %s: propensities failed; not logged", d.request_id)
        try:
            self.store.append(records)
            self.logged += len(records)
        except Exception:
            self.failed += len(records)
            log.exception("impression log %s: %d impressions not written", self.store.path, len(records))
