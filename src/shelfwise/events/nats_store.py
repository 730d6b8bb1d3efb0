"""The event log on NATS JetStream: the server counterpart of the embedded SQLite
:class:`~shelfwise.events.store.EventStore`, behind the same methods (:class:`EventBackend`).

Chosen by URL: ``nats://127.0.0.1:4222`` (several servers: ``nats://a:4222,b:4222``; options
``?stream=NAME&replicas=3&dedupe_window_s=86400``). Every serving replica opens the same stream
and runs its own consumer, so all replicas apply the same events in the same order; a replica
that restarts replays the stream (or resumes from its offset, kept in a JetStream key-value bucket
``<stream>_offsets`` under the consumer's name).

Guarantees, and where they differ from the SQLite log:

* **Acknowledged means stored.** ``append`` / ``append_unique`` return only after JetStream has
  acknowledged every event of the batch; :func:`shelfwise.loopback.nats_server` runs the server
  with ``sync_interval: always`` (fsync before the ack), and a cluster stream with ``replicas=3``
  acks after a quorum holds it. A batch is **not atomic**: if the server dies mid-batch, a prefix
  may be stored and the call raises; resending the batch with ``event_id`` values stores the rest
  exactly once (JetStream deduplicates on the ``Nats-Msg-Id`` header).
* **Deduplication has a window** (``dedupe_window_s``, 24 h by default): a resend within it is
  reported as a duplicate with the stored copy's sequence number, as in SQLite; an id resent after
  the window is stored again. SQLite remembers ids forever.
* **Sequence numbers** are JetStream stream sequences: increasing, and consecutive within a batch
  when one writer appends at a time; with concurrent writers they interleave (``first_seq`` ..
  ``last_seq`` then spans the others' events too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from shelfwise.errors import MissingExtraError
from shelfwise.events.schema import Event, EventType
from shelfwise.events.store import AppendResult

log = logging.getLogger(__name__)
T = TypeVar("T")
_KEY_OK = re.compile(r"^[-\w=.]+$")
_FETCH_WAIT_S = 2.0
_WINDOW = 1000  # publishes in flight at once (the client stalls past 4,000)
_FETCH_MAX = 1024  # messages per pull request


@dataclass(frozen=True)
class NatsConfig:
    """``servers``: ``nats://host:port`` URLs; ``stream``: JetStream stream (subject ``<stream>.events``);
    ``replicas``: copies of the stream in a NATS cluster (1 on one server); ``timeout_s``: wait for
    an acknowledgement before the append fails."""

    servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    stream: str = "SHELFWISE_EVENTS"
    replicas: int = 1
    dedupe_window_s: float = 86_400.0
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.servers or not _KEY_OK.match(self.stream) or "." in self.stream:
            raise ValueError("NatsConfig: at least one server, and a stream name of letters, digits, - and _")
        if self.replicas < 1 or not self.dedupe_window_s > 0 or not self.timeout_s > 0:
            raise ValueError("NatsConfig: replicas >= 1, dedupe_window_s > 0 and timeout_s > 0 required")

    @property
    def subject(self) -> str:
        return f"{self.stream}.events"

    @classmethod
    def from_url(cls, url: str) -> NatsConfig:
        parts = urlsplit(url)
        if parts.scheme != "nats" or not parts.netloc:
            raise ValueError(f"{url!r}: expected nats://HOST:PORT[,HOST:PORT...][?stream=NAME]")
        opts = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        known = {"stream", "replicas", "dedupe_window_s", "timeout_s"}
        if set(opts) - known:
            raise ValueError(f"{url!r}: unknown option(s) {sorted(set(opts) - known)}; known: {sorted(known)}")
        kw: dict[str, Any] = {"servers": tuple(f"nats://{h}" for h in parts.netloc.split(","))}
        if "stream" in opts:
            kw["stream"] = opts["stream"]
        if "replicas" in opts:
            kw["replicas"] = int(opts["replicas"])
        for f in ("dedupe_window_s", "timeout_s"):
            if f in opts:
                kw[f] = float(opts[f])
        return cls(**kw)


def encode_event(e: Event) -> bytes:
    """``r`` (the request id) only when the event has one: messages from before it read the same."""
    d: dict[str, str | int | float] = {
        "u": e.user_id, "i": e.item_id, "t": int(e.type), "ts": e.timestamp, "s": e.session_id, "q": e.query
    }  # fmt: skip
    if e.request_id:
        d["r"] = e.request_id
    return json.dumps(d, ensure_ascii=False).encode("utf-8")


def decode_event(data: bytes) -> Event:
    d = json.loads(data)
    return Event(user_id=d["u"], item_id=d["i"], type=EventType(d["t"]), timestamp=float(d["ts"]),
                 session_id=d["s"], query=d["q"], request_id=d.get("r", ""))  # fmt: skip


def offset_key(name: str) -> str:
    """A key-value key for consumer ``name`` (names outside JetStream's key alphabet are hex-encoded)."""
    return name if _KEY_OK.match(name) and not name.startswith(".") else "x-" + name.encode("utf-8").hex()


class NatsEventStore:
    """Event log on a JetStream stream (see the module docstring). Thread-safe: the NATS client
    runs on its own event loop thread and every method is a blocking call into it."""

    def __init__(self, config: NatsConfig | None = None) -> None:
        try:
            import nats  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError("nats-py", "nats") from exc
        self.config = config or NatsConfig()
        self.path = f"{','.join(self.config.servers)}?stream={self.config.stream}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats-event-store", daemon=True)
        self._thread.start()
        self._read_lock = threading.Lock()
        self._sub: Any = None
        self._sub_next = 0  # stream sequence the cached pull subscription delivers next
        self._aread_lock: asyncio.Lock | None = None
        try:
            self._run(self._connect(), self.config.timeout_s * 3)
        except BaseException:
            self._stop_loop()
            raise

    @classmethod
    def from_url(cls, url: str) -> NatsEventStore:
        return cls(NatsConfig.from_url(url))

    # --- event loop plumbing -----------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout if timeout is not None else self.config.timeout_s * 2)
        except TimeoutError:
            fut.cancel()
            raise

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _connect(self) -> None:
        import nats
        from nats.js.api import KeyValueConfig, StorageType, StreamConfig
        from nats.js.errors import BucketNotFoundError, NotFoundError

        async def quiet(exc: Exception) -> None:  # reconnect attempts while a server restarts
            log.debug("nats: %s", exc)

        cfg = self.config
        self._nc = await nats.connect(
            servers=list(cfg.servers), max_reconnect_attempts=-1, reconnect_time_wait=0.1,
            connect_timeout=cfg.timeout_s, error_cb=quiet,
        )  # fmt: skip
        self._js = self._nc.jetstream(timeout=cfg.timeout_s)
        try:
            await self._js.stream_info(cfg.stream)
        except NotFoundError:
            await self._js.add_stream(
                StreamConfig(
                    name=cfg.stream, subjects=[cfg.subject], storage=StorageType.FILE,
                    num_replicas=cfg.replicas, duplicate_window=cfg.dedupe_window_s,
                )
            )  # fmt: skip
        bucket = f"{cfg.stream}_offsets"
        try:
            self._kv = await self._js.key_value(bucket)
        except BucketNotFoundError:
            self._kv = await self._js.create_key_value(
                KeyValueConfig(bucket=bucket, history=1, storage=StorageType.FILE, replicas=cfg.replicas)
            )

    # --- appends -----------------------------------------------------------------------------

    def append(self, events: Iterable[Event]) -> int:
        """Store ``events``; return the sequence number of the last one (the log's last when empty)."""
        batch = list(events)
        if not batch:
            return self.last_seq()
        return self.append_unique(batch).last_seq

    def append_unique(self, events: Sequence[Event], event_ids: Sequence[str | None] | None = None) -> AppendResult:
        """As :meth:`EventStore.append_unique`: events whose id is already stored (within the
        dedupe window) or earlier in the batch are reported as duplicates; not atomic (see module)."""
        ids = [i or None for i in event_ids] if event_ids is not None else [None] * len(events)
        if len(ids) != len(events):
            raise ValueError(f"append_unique: {len(ids)} event ids for {len(events)} events")
        if not events:
            return AppendResult(0, 0, 0, (), ())
        first_at: dict[str, int] = {}
        send: list[int] = []  # batch positions published; in-batch repeats point at their first copy
        for pos, eid in enumerate(ids):
            if eid is None or eid not in first_at:
                send.append(pos)
                if eid is not None:
                    first_at[eid] = pos
        payloads = [encode_event(events[p]) for p in send]
        acks = self._run(self._publish(payloads, [ids[p] for p in send]), self.config.timeout_s * (len(send) + 1) + 5)
        seq_at: dict[int, int] = {}
        mask = [False] * len(events)
        for pos, (seq, dup) in zip(send, acks, strict=True):
            seq_at[pos] = seq
            mask[pos] = not dup
        dups = tuple(
            seq_at[pos] if not mask[pos] and pos in seq_at else seq_at[first_at[eid]]
            for pos, eid in enumerate(ids)
            if not mask[pos] and eid is not None
        )
        stored = [seq_at[p] for p in send if mask[p]]
        return AppendResult(min(stored, default=0), max(stored, default=0), len(stored), dups, tuple(mask))

    async def _publish(self, payloads: list[bytes], ids: list[str | None]) -> list[tuple[int, bool]]:
        """Publish in order, pipelined in windows of ``_WINDOW``, and wait for every ack: each must
        come within ``timeout_s`` of the previous one (the server fsyncs every message)."""
        out: list[tuple[int, bool]] = []
        for start in range(0, len(payloads), _WINDOW):
            futs = []
            try:
                for data, eid in zip(payloads[start : start + _WINDOW], ids[start : start + _WINDOW], strict=True):
                    hdr = {"Nats-Msg-Id": eid} if eid is not None else None
                    futs.append(await self._js.publish_async(self.config.subject, data, headers=hdr,
                                                             wait_stall=self.config.timeout_s))  # fmt: skip
                acks = [await asyncio.wait_for(f, self.config.timeout_s) for f in futs]  # each within timeout_s
            except BaseException:
                for f in futs:
                    f.cancel()
                raise
            out.extend((int(a.seq), bool(a.duplicate)) for a in acks)
        return out

    # --- reads -------------------------------------------------------------------------------

    def last_seq(self) -> int:
        return int(self._run(self._info()).state.last_seq)

    def count(self) -> int:
        return int(self._run(self._info()).state.messages)

    async def _info(self) -> Any:
        return await self._js.stream_info(self.config.stream)

    def read(self, since: int = 0, limit: int | None = None) -> list[tuple[int, Event]]:
        """Events with sequence number > ``since``, oldest first (at most ``limit``)."""
        with self._read_lock:
            return self._run(self._read(since, limit), self.config.timeout_s * 2 + _FETCH_WAIT_S)

    async def _read(self, since: int, limit: int | None) -> list[tuple[int, Event]]:
        if self._aread_lock is None:
            self._aread_lock = asyncio.Lock()
        async with self._aread_lock:  # a read abandoned on timeout finishes before the next one starts
            return await self._read_locked(since, limit)

    async def _read_locked(self, since: int, limit: int | None) -> list[tuple[int, Event]]:
        last = int((await self._info()).state.last_seq)
        out: list[tuple[int, Event]] = []
        want = last - since if limit is None else min(limit, last - since)
        while want > len(out):
            msgs = await self._fetch(since + 1 if not out else out[-1][0] + 1, min(want - len(out), _FETCH_MAX))
            if not msgs:
                break  # the rest was deleted (limits) or is not visible yet
            for m in msgs:
                seq = int(m.metadata.sequence.stream)
                if (out[-1][0] if out else since) < seq <= last:
                    out.append((seq, decode_event(m.data)))
            if out and out[-1][0] >= last:
                break
        return out[:limit] if limit is not None else out

    async def _fetch(self, start: int, n: int) -> list[Any]:
        """Up to ``n`` messages from sequence ``start``; one ordered pull subscription is kept and
        reused while reads continue where the last one stopped (a consumer tailing the log)."""
        from nats.errors import TimeoutError as NatsTimeout

        for attempt in range(2):
            if self._sub is None or self._sub_next != start:
                await self._drop_sub()
                self._sub = await self._subscribe(start)
                self._sub_next = start
            try:
                msgs = list(await self._sub.fetch(n, timeout=_FETCH_WAIT_S))
            except NatsTimeout:
                return []
            except Exception as exc:  # consumer lost (server restart): resubscribe once
                log.debug("nats: fetch failed (%s); resubscribing", exc)
                await self._drop_sub()
                if attempt:
                    raise
                continue
            fresh = [m for m in msgs if int(m.metadata.sequence.stream) >= start]
            if len(fresh) < len(msgs):  # a consumer restored from an older state redelivers: start over
                await self._drop_sub()
                if not fresh and not attempt:
                    continue
            elif fresh:
                self._sub_next = int(fresh[-1].metadata.sequence.stream) + 1
            return fresh
        return []

    async def _subscribe(self, start: int) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        cfg = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(start, 1),
            ack_policy=AckPolicy.NONE, inactive_threshold=60.0,
        )  # fmt: skip
        return await self._js.pull_subscribe(self.config.subject, durable=None, stream=self.config.stream, config=cfg)

    async def _drop_sub(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception as exc:
                log.debug("nats: unsubscribe failed: %s", exc)

    # --- offsets -----------------------------------------------------------------------------

    def offset(self, name: str) -> int:
        """Last sequence number consumer ``name`` recorded as applied (0 if never)."""
        return self._run(self._offset(name))

    async def _offset(self, name: str) -> int:
        from nats.js.errors import KeyNotFoundError

        try:
            entry = await self._kv.get(offset_key(name))
        except KeyNotFoundError:
            return 0
        return int(entry.value or b"0")

    def save_offset(self, name: str, seq: int) -> None:
        if seq < 0:
            raise ValueError("offset seq must be >= 0")
        self._run(self._kv.put(offset_key(name), str(int(seq)).encode()))

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self._run(self._close(), self.config.timeout_s)
        finally:
            self._stop_loop()

    async def _close(self) -> None:
        await self._drop_sub()
        await self._nc.close()
