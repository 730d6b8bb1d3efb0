"""`shelfwise index --lexical-shortcut N` is saved with the shelf's search settings and `serve
--lexical-shortcut N` overrides it (tiny made-up catalog)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shelfwise.cli import main
from shelfwise.serve.setup import ShelfRecipe, ShelfSettings


def test_index_and_serve_set_the_lexical_shortcut(tmp_path: Path) -> None:
    cat = tmp_path / "products.csv"
    cat.write_text("id,title\n1,Black dress\n2,Red dress\n3,Blue jeans\n", encoding="utf-8")
    shelf = tmp_path / "shelf"
    argv = ["index", "--catalog", str(cat), "--encoder", "hashing", "--out", str(shelf)]
    assert main([*argv, "--cache", str(tmp_path / "c.sqlite"), "--lexical-shortcut", "0"]) == 0
    meta = json.loads((shelf / "searcher" / "searcher.json").read_text())
    assert meta["config"]["lexical_shortcut"] == 0
    assert ShelfRecipe(ShelfSettings(), say=print)(shelf).searcher.config.lexical_shortcut == 0
    assert ShelfRecipe(ShelfSettings(lexical_shortcut=3), say=print)(shelf).searcher.config.lexical_shortcut == 3
    with pytest.raises(SystemExit):  # argparse names the flag: "must be at least 0"
        main([*argv, "--lexical-shortcut", "-1"])
