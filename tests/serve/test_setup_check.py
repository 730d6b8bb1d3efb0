"""The start check before --workers processes load a shelf: errors named, no recommender fit."""

from pathlib import Path

import pytest

from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve.setup import ShelfSettings, _try_load
from shelfwise.shelf import Shelf


def test_check_reads_the_history_without_fitting_it(
    tmp_path: Path, tiny_catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    searcher = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=256), encoder_spec="hashing")
    Shelf(catalog=tiny_catalog, searcher=searcher).save(tmp_path / "shelf")
    good = tmp_path / "events.csv"
    good.write_text("user_id,item_id,type,timestamp\nu1,p1,view,1704103200\nu1,p2,cart,1704103300\n", encoding="utf-8")
    assert _try_load(tmp_path / "shelf", ShelfSettings(events=good)) is None
    assert "fitting recommenders" not in capsys.readouterr().out  # each worker fits; the check only reads
    bad = tmp_path / "bad.csv"
    bad.write_text("user,sku,action,ts\nu1,p1,view,1704103200\n", encoding="utf-8")
    problem = _try_load(tmp_path / "shelf", ShelfSettings(events=bad))
    assert problem is not None and problem.startswith(f"{bad}: no column 'user_id'")
