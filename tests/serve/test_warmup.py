"""The serving warm-up (``create_app``, each ``--workers`` process): an English shelf pays its Chinese
query path's one-off cost (OpenCC's tables) at start-up, not in the first Chinese request, and
still loads no pypinyin (its character analyser cuts no syllables)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servekit import LOCAL
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index import text
from shelfwise.index.text import has_cjk
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf
from shelfwise.snapshot import ShelfConfig
from tiny_products import PRODUCTS


def _clear_chinese_analysers() -> None:
    for f in (text._opencc, text.to_simplified, text._lazy_pinyin, text.syllable):
        f.cache_clear()


@pytest.fixture
def english_catalog() -> Catalog:
    """The tiny catalog's English products only: a shelf whose language profile has no Chinese."""
    rows = [r for r in PRODUCTS if not has_cjk(f"{r[1]} {r[2]}")]
    return Catalog(
        [
            Product(id=i, title=t, description=d, category=c, brand=b, price=p, attributes={"colour": col})
            for i, t, d, c, b, p, col in rows
        ]
    )


@pytest.fixture
def fresh_analysers() -> Iterator[None]:
    """No Chinese analyser loaded before the test (as in a new worker process), none kept after."""
    _clear_chinese_analysers()
    yield
    _clear_chinese_analysers()


@pytest.mark.usefixtures("fresh_analysers")
def test_an_english_shelf_loads_opencc_at_warm_up_not_in_its_first_chinese_request(english_catalog: Catalog) -> None:
    searcher = HybridSearcher.build(english_catalog, HashingEncoder(dim=128))
    assert searcher.multilingual is None and searcher.language is not None and searcher.language.cjk_share == 0
    client = TestClient(create_app(Shelf(catalog=english_catalog, searcher=searcher)), base_url=LOCAL)
    assert text._opencc.cache_info().currsize == 1  # loaded by the warm-up
    assert text._lazy_pinyin.cache_info().currsize == 0  # no syllables on this shelf: no pypinyin
    assert len(searcher.dense._cache) == 0  # the warm-up queries' embeddings are not kept
    loads = text._opencc.cache_info().misses
    r = client.get("/search", params={"q": "连衣裙", "k": 2})
    assert r.status_code == 200, r.text
    assert text._opencc.cache_info().misses == loads  # the first Chinese request loaded nothing
    assert text._lazy_pinyin.cache_info().currsize == 0


@pytest.mark.usefixtures("fresh_analysers")
def test_a_worker_process_app_is_warmed_for_chinese_queries(tmp_path: Path, english_catalog: Catalog) -> None:
    from shelfwise.serve.fleet import RunDir
    from shelfwise.serve.setup import ServerSetup
    from shelfwise.serve.workers import WorkerApp

    folder = tmp_path / "shelf"
    Shelf.build(english_catalog, None, ShelfConfig(encoder="hashing", progress=False)).save(folder)
    run_dir = RunDir(tmp_path / "run")
    run_dir.start(folder)
    _clear_chinese_analysers()  # the build folded the catalog's texts: start as a new worker does
    sighup = signal.getsignal(signal.SIGHUP)
    try:
        app = WorkerApp(ServerSetup(folder), run_dir, os.getppid(), watch_supervisor=False)()  # a worker's app
    finally:
        signal.signal(signal.SIGHUP, sighup)
    assert text._opencc.cache_info().currsize == 1
    assert text._lazy_pinyin.cache_info().currsize == 0
    loads = text._opencc.cache_info().misses
    r = TestClient(app, base_url=LOCAL).get("/search", params={"q": "連衣裙", "k": 2})  # Traditional: folded
    assert r.status_code == 200, r.text
    assert text._opencc.cache_info().misses == loads
