"""The event-log protocol the live consumer and ``POST /events`` use, and the backend chosen by a
spec string (gorse-style): a file path (or ``sqlite://PATH``) is the embedded
:class:`~shelfwise.events.store.EventStore`; ``nats://HOST:PORT[,HOST:PORT...][?stream=NAME]`` is
NATS JetStream (:class:`~shelfwise.events.nats_store.NatsEventStore`), which several serving
replicas consume at once, each with its own position."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from shelfwise.events.schema import Event
from shelfwise.events.store import AppendResult, EventStore


@runtime_checkable
class EventBackend(Protocol):
    """Append-only log with sequence numbers and named consumer offsets (see ``EventStore``);
    ``path``: where it lives (a file path or a server URL), for messages."""

    path: str

    def append(self, events: Iterable[Event]) -> int: ...

    def append_unique(self, events: Sequence[Event], event_ids: Sequence[str | None] | None = None) -> AppendResult: ...

    def last_seq(self) -> int: ...

    def read(self, since: int = 0, limit: int | None = None) -> list[tuple[int, Event]]: ...

    def count(self) -> int: ...

    def offset(self, name: str) -> int: ...

    def save_offset(self, name: str, seq: int) -> None: ...

    def close(self) -> None: ...


def is_event_url(spec: str | Path) -> bool:
    """True for a server URL (``nats://``), False for an embedded log path."""
    return isinstance(spec, str) and spec.startswith("nats://")


def open_event_store(spec: str | Path | EventBackend, *, read_only: bool = False) -> EventBackend:
    """The event log ``spec`` names: an open backend as is, ``nats://...`` for JetStream, else a
    SQLite file (``sqlite://`` prefix optional). ``read_only``: a SQLite file is opened without
    writing to it (:class:`EventStore`'s ``read_only``; it must exist); a reader of any backend
    must then not append or save offsets (``ConsumerConfig.record=False``)."""
    if isinstance(spec, EventBackend):
        return spec
    if is_event_url(spec):
        from shelfwise.events.nats_store import NatsEventStore

        return NatsEventStore.from_url(str(spec))
    text = str(spec)
    return EventStore(text.removeprefix("sqlite://"), read_only=read_only)
