"""Contract for ``Updatable`` (``update(events)`` over events already committed to the log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shelfwise.catalog import Catalog
from shelfwise.events import Event, EventLog, EventType, Updatable


def fresh_events() -> list[Event]:
    """Events after the tiny fixtures' log: one shopper buys p7 then p8 in one session."""
    return [
        Event("u9", EventType.CLICK, 20.0, "p7", session_id="s9"),
        Event("u9", EventType.PURCHASE, 21.0, "p7", session_id="s9"),
        Event("u9", EventType.PURCHASE, 22.0, "p8", session_id="s9"),
    ]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


class UpdatableContract:
    """Subclasses implement :meth:`make` (a fresh object, fitted on the tiny log where it needs
    one) and :meth:`observe` (a comparable snapshot of what ``update`` is meant to change)."""

    def make(self, catalog: Catalog, log: EventLog) -> Any:
        raise NotImplementedError

    def observe(self, obj: Any) -> Any:
        raise NotImplementedError

    def apply(self, obj: Any, events: Sequence[Event]) -> None:
        obj.update(events)

    def test_is_updatable(self, tiny_catalog: Catalog, tiny_log: EventLog) -> None:
        assert isinstance(self.make(tiny_catalog, tiny_log), Updatable)

    def test_empty_batch_changes_nothing(self, tiny_catalog: Catalog, tiny_log: EventLog) -> None:
        obj = self.make(tiny_catalog, tiny_log)
        before = self.observe(obj)
        self.apply(obj, [])
        assert _same(self.observe(obj), before)

    def test_unknown_items_are_ignored(self, tiny_catalog: Catalog, tiny_log: EventLog) -> None:
        obj = self.make(tiny_catalog, tiny_log)
        before = self.observe(obj)
        self.apply(obj, [Event("u9", EventType.PURCHASE, 20.0, "no-such-item", session_id="s9")])
        assert _same(self.observe(obj), before)

    def test_events_change_state_deterministically(self, tiny_catalog: Catalog, tiny_log: EventLog) -> None:
        a, b = self.make(tiny_catalog, tiny_log), self.make(tiny_catalog, tiny_log)
        before = self.observe(a)
        self.apply(a, fresh_events())
        self.apply(b, fresh_events())
        assert not _same(self.observe(a), before)
        assert _same(self.observe(a), self.observe(b))
