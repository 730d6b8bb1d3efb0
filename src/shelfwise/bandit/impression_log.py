"""Logging served lists with exploration slots, off the request path, within a CPU budget.

A request first asks :meth:`ImpressionLogger.sample` whether its list is logged (a coin flip whose
probability keeps the logging work under a share of one core:
:class:`~shelfwise.bandit.impression_sampler.CostSampler`; independent of the list and its outcome,
so estimates stay unbiased, on fewer lists); a list that is not skips the posterior snapshot and the
greedy picks too. A logged one hands :meth:`ImpressionLogger.log` an :class:`ImpressionDraft` (ids, explored
positions, the draws and the posterior snapshot they saw: microseconds) and returns; a background
thread computes each explored item's exact propensity
(:func:`~shelfwise.bandit.propensity.exploration_probs`: thread CPU p50 2.1 ms for a Thompson pool of
40,000 arms with ~30 distinct posteriors, 14.5 ms for the old form in the same run, load 3.6-5.0:
``bench/results/impression_log_s19b.json``; closed form for epsilon-greedy and UCB1) and commits batches to the
:class:`~shelfwise.events.impressions.ImpressionStore`. The queue is bounded: when the thread
falls behind (``max_queue`` drafts, or ``max_bytes`` of their pool masks and posterior copies:
17 bytes an arm each at most), new drafts are dropped and counted (``dropped``), never blocking a
request; a dropped list is missing from the log at random with respect to its outcome, so estimates stay
unbiased, on fewer lists.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, replace

from shelfwise.bandit.impression_sampler import CostSampler, SamplerStats
from shelfwise.bandit.propensity import exploration_probs
from shelfwise.bandit.slots import Exploration
from shelfwise.events.impressions import Impression, ImpressionStore

log = logging.getLogger(__name__)
MAX_QUEUE = 1024  # drafts awaiting their propensities
MAX_BYTES = 256 << 20  # their pool masks and posterior copies (n_items bytes a pool, 16 n_items a copy)
BATCH = 256  # impressions per commit


@dataclass(frozen=True)
class ImpressionDraft:
    """A served list as the request knew it: its ``record`` with no propensity yet, and the
    ``exploration`` whose draws give them."""

    record: Impression
    exploration: Exploration
    request_s: float = 0.0  # what logging cost the request (posterior copy, greedy picks), seconds

    @property
    def request_id(self) -> str:
        return self.record.request_id

    @property
    def nbytes(self) -> int:
        """Memory the queued draft holds beyond the request: pool masks, a fresh posterior copy."""
        e = self.exploration
        copy = sum(a.nbytes for a in e.posterior) if e.posterior is not None and e.snapshot_s > 0 else 0
        copy += e.ranking.scores.nbytes if e.ranking is not None and e.snapshot_s > 0 else 0
        return sum(d.pool.nbytes for d in e.draws) + copy

    def impression(self) -> Impression:
        """The record, with each explored item's propensity computed now (Thompson sampling,
        epsilon-greedy, UCB1; None for another kind of policy, whose selection probabilities are not
        computed)."""
        probs = exploration_probs(self.exploration)
        if probs is None:
            return self.record
        n = len(self.record.explored)
        slot, inclusion = tuple(float(p) for p in probs.slot[:n]), tuple(float(p) for p in probs.inclusion[:n])
        return replace(self.record, propensity=slot, inclusion=inclusion)


@dataclass(frozen=True)
class LoggerStats:
    """The sampler's figures (:class:`~shelfwise.bandit.impression_sampler.SamplerStats`) and what
    became of the sampled lists: ``logged``, ``dropped`` (queue full), ``failed``."""

    sampler: SamplerStats
    logged: int
    dropped: int
    failed: int


class ImpressionLogger:
    """Background writer of :class:`ImpressionDraft` s into ``store``; ``sampler`` decides which
    lists are logged (default: :class:`CostSampler` at ``DEFAULT_CPU_SHARE`` of a core);
    ``logged`` / ``dropped`` / ``failed`` count what became of the sampled ones."""

    def __init__(
        self,
        store: ImpressionStore,
        *,
        sampler: CostSampler | None = None,
        max_queue: int = MAX_QUEUE,
        max_bytes: int = MAX_BYTES,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.sampler = sampler if sampler is not None else CostSampler()
        self.batch, self.max_bytes = batch, max_bytes
        self.logged = self.dropped = self.failed = 0
        self._queued_bytes = 0
        self._bytes_lock = threading.Lock()
        self._q: queue.Queue[ImpressionDraft | None] = queue.Queue(max_queue)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="impression-log", daemon=True)
        self._thread.start()

    def sample(self) -> float | None:
        """Is the next explored list logged? Its sampling rate when yes (give it to the draft's
        record), None when not (draw it without a posterior snapshot or greedy picks)."""
        return self.sampler.decide(not self._closed)  # counted either way: a withdrawn list is undone

    def stats(self) -> LoggerStats:
        return LoggerStats(self.sampler.stats(), self.logged, self.dropped, self.failed)

    def log(self, draft: ImpressionDraft) -> bool:
        """Queue ``draft``; False (and counted in ``dropped``) when the queue is full or closed. The
        closed check and the put are one step under the lock :meth:`close` sets ``closed`` under, so
        no draft is queued behind the writer's stop marker (where it would never be written and
        :meth:`flush` would wait it out); the put never blocks, and the writer holds that lock only
        to count bytes, so neither waits on the other."""
        size = draft.nbytes
        with self._bytes_lock:
            if self._closed or self._queued_bytes + size > self.max_bytes:
                self.dropped += 1
                return False
            try:
                self._q.put_nowait(draft)
            except queue.Full:
                self.dropped += 1
                return False
            self._queued_bytes += size
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
        """Commit what is queued, stop the thread and close the store. ``closed`` is set under the
        lock :meth:`log` queues under, then the stop marker goes in: every draft queued is ahead of it."""
        with self._bytes_lock:
            if self._closed:
                return
            self._closed = True
        self._q.put(None)  # outside the lock: the queue may be full until the writer takes some
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
                with self._bytes_lock:
                    self._queued_bytes -= sum(d.nbytes for d in todo)
                for _ in drafts:
                    self._q.task_done()
            if drafts[-1] is None:
                return

    def _write(self, drafts: list[ImpressionDraft]) -> None:
        """Propensities and one commit; each list's CPU (this thread's, measured, plus what its
        request spent) goes to the sampler, the commit shared evenly."""
        records: list[Impression] = []
        costs: list[float] = []
        for d in drafts:
            t = time.thread_time()
            try:
                records.append(d.impression())
            except Exception:  # a bad draft must not stop the log
                self.failed += 1
                log.exception("impression %s: propensities failed; not logged", d.request_id)
            costs.append(time.thread_time() - t + d.request_s)
        t = time.thread_time()
        try:
            self.store.append(records)
            self.logged += len(records)
        except Exception:
            self.failed += len(records)
            log.exception("impression log %s: %d impressions not written", self.store.path, len(records))
        commit = (time.thread_time() - t) / max(len(costs), 1)
        for c in costs:
            self.sampler.spent(c + commit)
