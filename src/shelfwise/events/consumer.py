"""The event-log consumer: tails the durable log and feeds every :class:`Updatable`.

Design (why a background consumer rather than applying events inside the request):

* ``POST /events`` acknowledges once the batch is durably committed to the :class:`EventStore`
  (SQLite WAL, ``synchronous=FULL``). The acknowledgement never depends on the health or speed
  of the models that learn from the events; a slow or failing ``Updatable`` cannot lose or block
  ingestion.
* One :class:`EventConsumer` thread tails the log by sequence number and calls ``update`` on every
  registered ``Updatable``. The writer wakes it with :meth:`EventConsumer.notify`, so the
  event-to-visible delay is a commit plus one in-memory update (milliseconds), with a short poll
  as a fallback for writers in other processes. The log itself is the queue: memory use is
  bounded by ``batch_size`` however far behind the consumer is.
* Restart safety: the consumer records the last applied sequence in the store's ``offsets``
  table. In-memory state rebuilt from scratch replays from 0 (``resume=False``); state restored
  from a checkpoint resumes after the recorded offset (``resume=True``).
* Delivery guarantee, exactly: each target's ``update`` is called with each batch until it
  returns without raising, at most ``ConsumerConfig.max_attempts`` times (every failure is
  counted in ``ConsumerStats.target_errors`` and kept in ``last_error``). A target that still
  fails has that batch **dropped for it alone**: its events are counted in
  ``ConsumerStats.events_dropped[<target class name>]``, the other targets are unaffected and
  the offset advances, so one broken model cannot stall the log. A target therefore sees every
  committed event at least once unless it is reported as having dropped it; a batch may reach a
  target more than once (a retry after a partial update, or a replay after a crash between the
  updates and the offset write), so updates should tolerate duplicates.
* Callers that need read-your-writes wait with :meth:`EventConsumer.wait_for` on the sequence
  number the append returned; :meth:`EventConsumer.ingest` does append, notify and wait in one call.
* Untrusted input is bounded: request timestamps more than ``max_future_s`` ahead of the server
  clock are rejected (one far-future event would otherwise decay all live popularity to zero,
  and be replayed after every restart), and every live structure has a size cap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shelfwise.events.backend import EventBackend
from shelfwise.events.schema import Event
from shelfwise.events.updatable import Updatable

log = logging.getLogger(__name__)


def updatables(objects: Iterable[object]) -> list[Updatable]:
    """The distinct objects that implement :class:`Updatable` (consumers excluded), in order."""
    out: list[Updatable] = []
    seen: set[int] = set()
    for obj in objects:
        if isinstance(obj, EventConsumer) or not isinstance(obj, Updatable) or id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append(obj)
    return out


@dataclass(frozen=True)
class ConsumerConfig:
    """``batch_size``: most events read and applied at once; ``poll_s``: wait between log checks
    when not notified (writers in other processes); ``name``: offset key in the store;
    ``resume``: start after the recorded offset instead of replaying from sequence 0;
    ``max_attempts``: calls of a failing target's ``update`` per batch before the batch is dropped
    for that target; ``retry_s``: pause between those calls; ``record``: save the offset after each
    batch (False: a read-only replay that leaves the log as it was, e.g. ``shelfwise recommend
    --events-db``)."""

    batch_size: int = 512
    poll_s: float = 0.05
    name: str = "live"
    resume: bool = False
    max_attempts: int = 3
    retry_s: float = 0.01
    record: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1 or not self.poll_s > 0 or not self.name:
            raise ValueError("ConsumerConfig: batch_size >= 1, poll_s > 0 and a non-empty name required")
        if self.max_attempts < 1 or not self.retry_s >= 0:
            raise ValueError("ConsumerConfig: max_attempts >= 1 and retry_s >= 0 required")


@dataclass(frozen=True)
class ConsumerStats:
    """``target_errors``: failed ``update`` calls (retries included); ``events_dropped``: events a
    target never absorbed because every attempt failed, by target class name."""

    applied_seq: int
    last_seq: int
    lag: int
    events_applied: int
    target_errors: int
    running: bool
    last_error: str = ""
    events_dropped: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    """Where an ingested batch landed in the log, and whether live state reflected it in time."""

    first_seq: int
    last_seq: int
    applied: bool


class EventConsumer:
    """Tails an event log (:class:`EventBackend`: SQLite or NATS JetStream) and feeds every
    :class:`Updatable` among ``targets``.

    ``targets`` is a sequence, or a callable returning one (e.g. ``shelf.updatables``) that is
    called before each batch, so objects registered later are fed from then on. Delivery: see
    the module docstring (bounded retries per target, then the batch is dropped for that target
    only and counted in ``stats().events_dropped``).
    """

    def __init__(
        self,
        store: EventBackend,
        targets: Callable[[], Iterable[object]] | Sequence[object],
        config: ConsumerConfig | None = None,
        *,
        start_seq: int | None = None,
    ) -> None:
        self.store = store
        self.targets = targets
        self.config = config or ConsumerConfig()
        self._applied = store.offset(self.config.name) if self.config.resume else 0
        if start_seq is not None:  # state restored from a snapshot taken at this sequence number
            self._applied = int(start_seq)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._events_applied = 0
        self._target_errors = 0
        self._last_error = ""
        self._dropped: dict[str, int] = {}
        self._dirty = False

    @property
    def applied_seq(self) -> int:
        with self._cond:
            return self._applied

    def _targets(self) -> list[Updatable]:
        objs = self.targets() if callable(self.targets) else self.targets
        return updatables(list(objs))

    def _deliver(self, target: Updatable, events: list[Event]) -> bool:
        """Call ``target.update`` up to ``max_attempts`` times; False when every attempt failed."""
        name = type(target).__name__
        for attempt in range(1, self.config.max_attempts + 1):
            try:
                target.update(events)
                return True
            except Exception as exc:  # one bad target must not stall the others
                self._target_errors += 1
                self._last_error = f"{name}: {exc}"
                log.warning(
                    "event consumer: %s.update failed (attempt %d/%d): %s", name, attempt, self.config.max_attempts, exc
                )
                if attempt < self.config.max_attempts and self.config.retry_s > 0:
                    time.sleep(self.config.retry_s)
        with self._cond:
            self._dropped[name] = self._dropped.get(name, 0) + len(events)
        log.error(
            "event consumer: %s dropped %d events after %d failed attempts", name, len(events), self.config.max_attempts
        )
        return False

    def run_once(self) -> int:
        """Apply at most one batch synchronously (every target, with bounded retries), record the
        offset (unless ``ConsumerConfig.record`` is off), and return how many events were read."""
        batch = self.store.read(self.applied_seq, self.config.batch_size)
        if not batch:
            return 0
        events = [e for _, e in batch]
        for target in self._targets():
            self._deliver(target, events)
        last = batch[-1][0]
        with self._cond:
            self._applied = last
            self._events_applied += len(batch)
            self._cond.notify_all()
        # after the in-memory position: a failed save (a server store that is down) must not apply the batch twice
        if self.config.record:
            self.store.save_offset(self.config.name, last)
        return len(batch)

    def drain(self) -> int:
        """Apply everything committed so far; return the number of events applied."""
        total = 0
        while n := self.run_once():
            total += n
        return total

    def ingest(self, events: Sequence[Event], wait_s: float = 0.0) -> IngestResult:
        """Durably append ``events`` (one atomic commit), wake the consumer and, when ``wait_s`` > 0,
        wait up to that long for live state to reflect them (read-your-writes)."""
        if not events:
            raise ValueError("ingest: no events")
        if not wait_s >= 0:
            raise ValueError("ingest: wait_s must be >= 0")
        last = self.store.append(events)
        self.notify()
        applied = self.wait_for(last, wait_s) if wait_s > 0 else self.applied_seq >= last
        return IngestResult(first_seq=last - len(events) + 1, last_seq=last, applied=applied)

    def notify(self) -> None:
        """Wake the consumer thread: new events were committed."""
        with self._cond:
            self._dirty = True
            self._cond.notify_all()

    def wait_for(self, seq: int, timeout: float) -> bool:
        """Block until every event up to ``seq`` is applied; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._applied < seq:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception as exc:  # store errors: report and retry after a pause
                self._last_error = f"store: {exc}"
                log.exception("event consumer: reading the log failed")
            with self._cond:
                if not self._dirty and not self._stop.is_set():
                    self._cond.wait(self.config.poll_s)
                self._dirty = False

    def start(self) -> EventConsumer:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"event-consumer-{self.config.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def stats(self) -> ConsumerStats:
        last = self.store.last_seq()
        applied = self.applied_seq
        with self._cond:
            dropped = dict(self._dropped)
        return ConsumerStats(
            applied_seq=applied,
            last_seq=last,
            lag=max(0, last - applied),
            events_applied=self._events_applied,
            target_errors=self._target_errors,
            running=self._thread is not None and self._thread.is_alive(),
            last_error=self._last_error,
            events_dropped=dropped,
        )
