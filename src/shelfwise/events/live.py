"""Real-time layer: the ``Updatable`` contract, live behaviour state, and the log consumer.

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

Live state objects (:class:`LivePopularity`, :class:`LiveCooccurrence`, :class:`LiveSessions`) are
small, thread-safe, incremental counterparts of the batch models: time-decayed popularity,
session co-occurrence (item-to-item, as in Linden et al. 2003, "Amazon.com recommendations:
item-to-item collaborative filtering"), and a session taste vector over item embeddings with
the user's seen items (the ``user_profiles`` contract used by ``/search``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import RowError
from shelfwise.events.backend import EventBackend
from shelfwise.events.loader import EventFields, _parse_row
from shelfwise.events.schema import EVENT_WEIGHTS, Event, EventType
from shelfwise.results import Results

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]


@runtime_checkable
class Updatable(Protocol):
    """Absorbs events already committed to the durable log, incrementally."""

    def update(self, events: Sequence[Event]) -> None: ...


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


# --- request rows -> events ------------------------------------------------------------------


@dataclass
class ParsedEvents:
    """Valid events with their index in the request, and one error per bad row."""

    events: list[Event] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


DEFAULT_MAX_FUTURE_S = 86400.0


def parse_event_rows(
    rows: Sequence[object],
    catalog: Catalog | None,
    *,
    source: str = "body",
    now: float | None = None,
    max_future_s: float = DEFAULT_MAX_FUTURE_S,
) -> ParsedEvents:
    """Validate raw JSON rows (``user_id``, ``type``, ``item_id``, optional ``timestamp`` defaulting
    to ``now`` (server clock), ``session_id``, ``query``). Errors name the 0-based row index and the
    field. A timestamp more than ``max_future_s`` seconds after ``now`` (client clock skew allowance,
    default one day) is rejected as a ``timestamp`` error."""
    if not max_future_s >= 0:
        raise ValueError("parse_event_rows: max_future_s must be >= 0")
    spec = EventFields()
    known = {"user_id", "item_id", "type", "timestamp", "session_id", "query"}
    ts_now = time.time() if now is None else now
    out = ParsedEvents()
    for i, rec in enumerate(rows):
        if not isinstance(rec, Mapping):
            out.errors.append(RowError(source, i, "<row>", "each event must be a JSON object"))
            continue
        extra = sorted(set(rec) - known)
        if extra:
            out.errors.append(RowError(source, i, str(extra[0]), f"unknown field; known: {sorted(known)}"))
            continue
        bad = next((k for k in known if rec.get(k) is not None and not isinstance(rec[k], str | int | float)), None)
        if bad is not None:
            out.errors.append(RowError(source, i, bad, "must be a string or number"))
            continue
        filled = dict(rec)
        if filled.get("timestamp") in (None, ""):
            filled["timestamp"] = ts_now
        parsed = _parse_row(filled, spec, source, i, catalog)
        if isinstance(parsed, RowError):
            out.errors.append(parsed)
        elif not parsed.timestamp <= ts_now + max_future_s:
            msg = f"{parsed.timestamp:.0f} is more than {max_future_s:g} s ahead of the server clock ({ts_now:.0f})"
            out.errors.append(RowError(source, i, spec.timestamp, msg))
        else:
            out.events.append(parsed)
            out.indices.append(i)
    return out


# --- live state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveConfig:
    """``half_life_s``: popularity decay; ``session_items``: items per user kept for the session
    vector and co-occurrence window; ``max_seen``: seen items kept per user; ``max_users``: users
    kept (least recently active evicted); ``max_pairs``: co-occurrence item pairs kept (least
    recently incremented evicted); ``weights``: implicit weight per event type."""

    half_life_s: float = 7 * 86400.0
    session_items: int = 20
    max_seen: int = 1000
    max_users: int = 100_000
    max_pairs: int = 2_000_000
    weights: tuple[float, ...] = EVENT_WEIGHTS.as_tuple()

    def __post_init__(self) -> None:
        if not self.half_life_s > 0:
            raise ValueError("LiveConfig.half_life_s must be > 0")
        if min(self.session_items, self.max_seen, self.max_users, self.max_pairs) < 1:
            raise ValueError("LiveConfig: session_items, max_seen, max_users and max_pairs must be >= 1")
        if len(self.weights) != len(EventType) or any(w < 0 for w in self.weights):
            raise ValueError(f"LiveConfig.weights needs {len(EventType)} non-negative values, one per EventType")

    def weight(self, etype: EventType) -> float:
        return self.weights[int(etype)]


def _rows(catalog: Catalog, events: Sequence[Event], config: LiveConfig) -> list[tuple[Event, int, float]]:
    """(event, catalog row, weight) for events on known items with positive weight."""
    out = []
    for e in events:
        row = catalog.get_row(e.item_id) if e.item_id else None
        w = config.weight(e.type)
        if row is not None and w > 0:
            out.append((e, row, w))
    return out


class LivePopularity:
    """Exponentially time-decayed, weighted interaction counts per catalog row."""

    def __init__(self, catalog: Catalog, config: LiveConfig | None = None) -> None:
        self.catalog = catalog
        self.config = config or LiveConfig()
        self._counts = np.zeros(len(catalog), dtype=np.float64)
        self._t = -math.inf
        self._lock = threading.Lock()

    def update(self, events: Sequence[Event]) -> None:
        rate = math.log(2.0) / self.config.half_life_s
        with self._lock:
            for e, row, w in _rows(self.catalog, events, self.config):
                if e.timestamp > self._t:
                    if math.isfinite(self._t):
                        self._counts *= math.exp(-rate * (e.timestamp - self._t))
                    self._t = e.timestamp
                    self._counts[row] += w
                else:  # late event: decay its own weight instead of the whole vector
                    self._counts[row] += w * math.exp(-rate * (self._t - e.timestamp))

    def scores(self) -> npt.NDArray[np.float64]:
        with self._lock:
            return self._counts.copy()

    def top(self, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        s = self.scores()
        return Results.from_scores(np.where(s > 0, s, -np.inf), k, mask)


class LiveCooccurrence:
    """Item-to-item counts from items a user touches within the last ``session_items`` events.

    Memory is bounded whatever clients send: at most ``config.max_users`` session windows and
    ``config.max_pairs`` (unordered) item pairs. When a new pair would exceed the cap, the pair
    incremented least recently is evicted (an LRU over pair updates), so pairs that keep
    co-occurring survive and one-off noise ages out.
    """

    def __init__(self, catalog: Catalog, config: LiveConfig | None = None) -> None:
        self.catalog = catalog
        self.config = config or LiveConfig()
        self._pairs: OrderedDict[tuple[int, int], float] = OrderedDict()  # (lo, hi) -> weight, LRU order
        self._neighbours: dict[int, set[int]] = {}
        self._recent: OrderedDict[str, deque[int]] = OrderedDict()
        self._lock = threading.Lock()

    def _bump(self, a: int, b: int, w: float) -> None:
        key = (a, b) if a < b else (b, a)
        old = self._pairs.pop(key, None)
        self._pairs[key] = (old or 0.0) + w
        if old is None:
            self._neighbours.setdefault(a, set()).add(b)
            self._neighbours.setdefault(b, set()).add(a)
            while len(self._pairs) > self.config.max_pairs:
                (lo, hi), _ = self._pairs.popitem(last=False)
                for x, y in ((lo, hi), (hi, lo)):
                    nb = self._neighbours.get(x)
                    if nb is not None:
                        nb.discard(y)
                        if not nb:
                            del self._neighbours[x]

    def update(self, events: Sequence[Event]) -> None:
        with self._lock:
            for e, row, w in _rows(self.catalog, events, self.config):
                key = e.session_id or e.user_id
                recent = self._recent.pop(key, None) or deque(maxlen=self.config.session_items)
                self._recent[key] = recent
                for prev in set(recent):
                    if prev != row:
                        self._bump(prev, row, w)
                recent.append(row)
                while len(self._recent) > self.config.max_users:
                    self._recent.popitem(last=False)

    def __len__(self) -> int:
        """Number of item pairs stored."""
        with self._lock:
            return len(self._pairs)

    def similar(self, row: int, k: int = 10) -> Results:
        """Items most often co-interacted with catalog ``row``."""
        with self._lock:
            nb = {o: self._pairs[(row, o) if row < o else (o, row)] for o in self._neighbours.get(row, ())}
        if not nb:
            return Results.empty()
        ids = np.fromiter(nb.keys(), dtype=np.int64, count=len(nb))
        sc = np.fromiter(nb.values(), dtype=np.float32, count=len(nb))
        top = Results.from_scores(sc, k)
        return Results(ids[top.ids], top.scores)


@dataclass
class _Session:
    items: deque[tuple[int, float]]
    seen: OrderedDict[int, None]


class LiveSessions:
    """Per-user session taste vector and seen items: the ``user_profiles`` extension contract.

    ``vector(user)`` is the L2-normalised, recency-decayed, event-weighted mean of the
    embeddings of the user's last ``session_items`` items; ``seen(user)`` their catalog rows.
    """

    def __init__(self, catalog: Catalog, item_vectors: FloatArray, config: LiveConfig | None = None) -> None:
        if item_vectors.shape[0] != len(catalog):
            raise ValueError(f"LiveSessions: {item_vectors.shape[0]} item vectors for {len(catalog)} catalog rows")
        self.catalog = catalog
        self.item_vectors = np.asarray(item_vectors, dtype=np.float32)
        self.config = config or LiveConfig()
        self._users: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    def update(self, events: Sequence[Event]) -> None:
        cfg = self.config
        with self._lock:
            for e, row, w in _rows(self.catalog, events, cfg):
                s = self._users.pop(e.user_id, None) or _Session(deque(maxlen=cfg.session_items), OrderedDict())
                self._users[e.user_id] = s
                s.items.append((row, w))
                s.seen.pop(row, None)
                s.seen[row] = None
                while len(s.seen) > cfg.max_seen:
                    s.seen.popitem(last=False)
                while len(self._users) > cfg.max_users:
                    self._users.popitem(last=False)

    def vector(self, user_id: str) -> FloatArray | None:
        with self._lock:
            s = self._users.get(user_id)
            items = list(s.items) if s is not None else []
        if not items:
            return None
        rows = np.array([r for r, _ in items], dtype=np.int64)
        n = len(items)
        w = np.array([wt for _, wt in items], dtype=np.float32) * (0.8 ** np.arange(n - 1, -1, -1, dtype=np.float32))
        v = (w[:, None] * self.item_vectors[rows]).sum(axis=0)
        norm = float(np.linalg.norm(v))
        return (v / norm).astype(np.float32) if norm > 0 else None

    def seen(self, user_id: str) -> set[int]:
        with self._lock:
            s = self._users.get(user_id)
            return set(s.seen) if s is not None else set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._users)


# --- consumer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerConfig:
    """``batch_size``: most events read and applied at once; ``poll_s``: wait between log checks
    when not notified (writers in other processes); ``name``: offset key in the store;
    ``resume``: start after the recorded offset instead of replaying from sequence 0;
    ``max_attempts``: calls of a failing target's ``update`` per batch before the batch is dropped
    for that target; ``retry_s``: pause between those calls."""

    batch_size: int = 512
    poll_s: float = 0.05
    name: str = "live"
    resume: bool = False
    max_attempts: int = 3
    retry_s: float = 0.01

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
                log.warning("event consumer: %s.update failed (attempt %d/%d): %s",
                            name, attempt, self.config.max_attempts, exc)
                if attempt < self.config.max_attempts and self.config.retry_s > 0:
                    time.sleep(self.config.retry_s)
        with self._cond:
            self._dropped[name] = self._dropped.get(name, 0) + len(events)
        log.error("event consumer: %s dropped %d events after %d failed attempts",
                  name, len(events), self.config.max_attempts)
        return False

    def run_once(self) -> int:
        """Apply at most one batch synchronously (every target, with bounded retries), record the
        offset, and return how many events were read."""
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


@dataclass
class LiveState:
    """The real-time state :func:`attach_live` builds, and the consumer that feeds it."""

    popularity: LivePopularity
    cooccurrence: LiveCooccurrence
    sessions: LiveSessions
    consumer: EventConsumer


def attach_live(
    targets: Callable[[], Iterable[object]],
    catalog: Catalog,
    item_vectors: FloatArray,
    store: EventBackend,
    *,
    live: LiveConfig | None = None,
    consumer: ConsumerConfig | None = None,
    start: bool = True,
    start_seq: int | None = None,
) -> LiveState:
    """Live popularity, co-occurrence and session state plus a consumer over ``store``.

    The consumer feeds the live state and every ``Updatable`` that ``targets()`` returns at each
    batch (e.g. ``shelf.updatables``: recommenders, profiles, bandits); it is started (replaying
    the log after ``start_seq``, default 0 or the recorded offset with ``resume``) unless ``start``
    is False.
    """
    cfg = live or LiveConfig()
    pop, co = LivePopularity(catalog, cfg), LiveCooccurrence(catalog, cfg)
    sessions = LiveSessions(catalog, item_vectors, cfg)
    cons = EventConsumer(store, lambda: [pop, co, sessions, *targets()], consumer, start_seq=start_seq)
    if start:
        cons.start()
    return LiveState(pop, co, sessions, cons)
