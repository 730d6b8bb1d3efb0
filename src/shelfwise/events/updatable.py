"""The ``Updatable`` contract: what the event consumer feeds with committed events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shelfwise.events.schema import Event


@runtime_checkable
class Updatable(Protocol):
    """Absorbs events already committed to the durable log, incrementally. A batch may arrive more
    than once (a retry, or a replay after a crash), so updates should tolerate duplicates."""

    def update(self, events: Sequence[Event]) -> None: ...
