"""Updatable test doubles shared by the live-state tests."""

from __future__ import annotations

from collections.abc import Sequence

from shelfwise.events import Event


class Recorder:
    """Remembers every event it was given."""

    def __init__(self) -> None:
        self.seen: list[Event] = []

    def update(self, events: Sequence[Event]) -> None:
        self.seen.extend(events)


class Broken:
    """Always fails."""

    def update(self, events: Sequence[Event]) -> None:
        raise RuntimeError("boom")
