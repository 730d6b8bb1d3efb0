"""``shelfwise search``: a saved shelf searched from the command line (tiny made-up CSV catalog)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.cli import main


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,category\nSKU/1,Black jeans,Men > Trousers\n2,Leather belt,Accessories > Belts\n"
        "3,Blue jeans,Men > Trousers\n4,Wool scarf,Women > Accessories\n5,Red dress,Women > Dresses\n",
        encoding="utf-8",
    )
    out = tmp_path / "shelf"
    argv = ["index", "--catalog", str(cat), "--encoder", "hashing", "--out", str(out)]
    assert main([*argv, "--cache", str(tmp_path / "c.sqlite")]) == 0
    return out


def test_search_prints_ranked_hits(shelf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["search", "black jeans", "--shelf", str(shelf), "-k", "2", "--explain"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("  1. SKU/1\t") and "Black jeans" in lines[0]
    assert "[has the query's words" in lines[0]


def test_search_filters_and_bad_queries_say_why(shelf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["search", "jeans", "--shelf", str(shelf), "--category", "Women > Trousers"]) == 0
    out = capsys.readouterr().out
    assert "note: no product is in category 'Women > Trousers'" in out and "jeans: no products found" in out
    assert main(["search", "jeans", "--shelf", str(shelf), "--category", "Men", "--mode", "bm25"]) == 0
    assert {line.split("\t")[0][5:] for line in capsys.readouterr().out.splitlines()} <= {"SKU/1", "3"}
    assert main(["search", "  ", "--shelf", str(shelf)]) == 2
    assert "only whitespace" in capsys.readouterr().err
