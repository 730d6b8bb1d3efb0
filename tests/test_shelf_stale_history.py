"""Building a shelf and switching on live events warn when the history ended long before now."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog
from shelfwise.events import EventLog, EventStore
from shelfwise.shelf import enable_live
from shelfwise.snapshot import ShelfConfig
from shelfwise.snapshot.build import build_shelf


def test_build_and_enable_live_warn_about_a_1970_history(
    tiny_catalog: Catalog, tiny_log: EventLog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    said: list[str] = []
    shelf = build_shelf(tiny_catalog, tiny_log, ShelfConfig(encoder="hashing", progress=False), said.append)
    warned = [s for s in said if s.startswith("warning: the behaviour history ends 1970-01-01 00:00:12 UTC")]
    assert len(warned) == 1 and "as downtime" in warned[0]
    with caplog.at_level(logging.WARNING, logger="shelfwise.shelf"):
        enable_live(shelf, EventStore(tmp_path / "ev.sqlite"), start=False)
    mine = [r for r in caplog.records if r.name == "shelfwise.shelf"]
    assert [r.getMessage()[:50] for r in mine] == ["the behaviour history ends 1970-01-01 00:00:12 UTC"]
