"""Serve fixtures: an app over the tiny catalog with a live event log, built with a given ServeConfig."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _servekit import LOCAL, MakeClient
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.events import EventConsumer, EventStore
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.serve.config import ServeConfig
from shelfwise.shelf import Shelf, enable_live


@pytest.fixture
def make_client(tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> Iterator[MakeClient]:
    """``make_client(config=None, db="ev.sqlite", base_url=LOCAL)``: a client of a live app; the
    consumers started are stopped at teardown. The same ``db`` name reopens the same log file."""
    consumers: list[EventConsumer] = []

    def make(config: ServeConfig | None = None, db: str = "ev.sqlite", base_url: str = LOCAL) -> TestClient:
        shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher)
        consumers.append(enable_live(shelf, EventStore(tmp_path / db), explore_share=0).consumer)
        return TestClient(create_app(shelf, warmup=False, config=config), base_url=base_url)

    yield make
    for c in consumers:
        c.stop()
