"""Live state held to the ``Updatable`` contract (tests/contracts/updatable.py)."""

from __future__ import annotations

from typing import Any

from contracts.updatable import UpdatableContract
from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.events import EventLog, LiveSessions


class TestLiveSessions(UpdatableContract):
    def make(self, catalog: Catalog, log: EventLog) -> Any:
        return LiveSessions(catalog, HashingEncoder(dim=32).encode(catalog.texts()))

    def observe(self, obj: Any) -> Any:
        vec = obj.vector("u9")
        return {u: sorted(obj.seen(u)) for u in ("u1", "u2", "u9")}, None if vec is None else vec.tolist()
