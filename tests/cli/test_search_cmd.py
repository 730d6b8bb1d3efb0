"""``shelfwise search``: a saved shelf searched from the command line (tiny made-up CSV catalog)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.cli import main


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,category,price\nSKU/1,Black jeans,Men > Trousers,40\n2,Leather belt,Accessories > Belts,15\n"
        "3,Blue jeans,Men > Trousers,25\n4,Wool scarf,Women > Accessories,\n5,Red dress,Women > Dresses,60\n",
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
    assert len(lines) == 3 and lines[0].startswith("  1. SKU/1\t") and "Black jeans" in lines[0]
    assert "[has the query's words" in lines[0] and lines[2] == "more: --offset 2"
    assert main(["search", "black jeans", "--shelf", str(shelf), "-k", "2", "--offset", "2"]) == 0
    page = capsys.readouterr().out.splitlines()
    assert page[0].startswith("  3. ") and page[-1] == "more: --offset 4"


def test_search_sorts_the_most_relevant_by_price(shelf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    argv = ["search", "jeans", "--shelf", str(shelf), "--mode", "bm25", "-k", "2", "--sort", "price_asc"]
    assert main([*argv, "--sort-depth", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0][5:] for line in lines] == ["3", "SKU/1"]  # the two jeans, cheaper first
    assert lines[0].endswith("\t25.00") and lines[1].endswith("\t40.00")
    assert main(["search", "jeans", "--shelf", str(shelf), "--offset", "999", "-k", "5"]) == 2
    assert "offset + k must be at most 1000" in capsys.readouterr().err


def test_search_filters_and_bad_queries_say_why(shelf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["search", "jeans", "--shelf", str(shelf), "--category", "Women > Trousers"]) == 0
    out = capsys.readouterr().out
    assert "note: no product is in category 'Women > Trousers'" in out and "jeans: no products found" in out
    assert main(["search", "jeans", "--shelf", str(shelf), "--category", "Men", "--mode", "bm25"]) == 0
    assert {line.split("\t")[0][5:] for line in capsys.readouterr().out.splitlines()} <= {"SKU/1", "3"}
    assert main(["search", "  ", "--shelf", str(shelf)]) == 2
    assert "only whitespace" in capsys.readouterr().err


def _furniture(
    tmp_path: Path, option: str, name: str, text: str, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, str]:
    """A three-product shelf indexed with ``option`` reading file ``name`` (``text``); its index log."""
    cat = tmp_path / "products.csv"
    cat.write_text("id,title\n1,Grey couch\n2,Oak table\n3,Desk lamp\n", encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    out = tmp_path / "shelf"
    argv = ["index", "--catalog", str(cat), "--encoder", "hashing", "--out", str(out), option, str(tmp_path / name)]
    assert main([*argv, "--cache", str(tmp_path / "c.sqlite")]) == 0
    return out, capsys.readouterr().out


def test_index_reads_the_stores_synonyms_and_search_uses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, log = _furniture(tmp_path, "--synonyms", "synonyms.txt", "sofa, couch\nlonely\n", capsys)
    assert "synonyms.txt: line 2: field 'rule'" in log and "synonyms: 1 rule from" in log
    assert main(["search", "sofa", "--shelf", str(out), "-k", "1", "--mode", "bm25"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "note: also searched, by the store's synonyms: 'couch'" in lines and lines[-1].startswith("  1. 1\t")


def test_suggest_prints_completions(shelf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["suggest", "Je", "--shelf", str(shelf)]) == 0
    assert capsys.readouterr().out.splitlines() == ["jeans\tcatalog\t2"]
    assert main(["suggest", "qqq", "--shelf", str(shelf)]) == 0
    assert capsys.readouterr().out.strip() == "qqq: no suggestion"


def test_index_reads_merchandising_rules_and_search_applies_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = '[{"id": "lamps", "query": "couch", "pin": ["3"], "hide": ["9"]}]'
    out, log = _furniture(tmp_path, "--rules", "rules.json", rules, capsys)
    assert "field 'rule 1: hide': product '9' is not in the catalog" in log and "merchandising rules: 1" in log
    assert main(["search", "couch", "--shelf", str(out), "-k", "2", "--mode", "bm25"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "store rule applied: lamps" in lines
    assert lines[-2].startswith("  1. 3\t") and lines[-1].startswith("  2. 1\t")


def test_paging_past_the_end_says_so(shelf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["search", "jeans", "--shelf", str(shelf), "--offset", "50"]) == 0
    assert capsys.readouterr().out.strip() == "jeans: no more products after the first 50"


def test_an_out_of_stock_hit_says_where_it_ranks_and_leads_above_what_holds_fewer_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Chinese store's only pair of earphones, sold out, came 26th of 30 for 耳机 (after a keyboard
    and a raincoat) with the best score and no note: it now leads the in-stock hits that hold fewer
    of the query's words, its line says where out-of-stock hits go, and a note says it is sold out."""
    cat = tmp_path / "goods.csv"
    cat.write_text("id,title,in_stock\n1,无线蓝牙耳机,缺货\n2,机械键盘,有\n3,无线鼠标,有\n", encoding="utf-8")
    out = tmp_path / "shelf"
    argv = ["index", "--catalog", str(cat), "--encoder", "hashing", "--out", str(out)]
    assert main([*argv, "--cache", str(tmp_path / "c.sqlite")]) == 0
    capsys.readouterr()
    assert main(["search", "耳机", "--shelf", str(out), "-k", "3"]) == 0
    said = capsys.readouterr().out.splitlines()
    lines = [line for line in said if line.startswith("  ")]
    assert lines[0].startswith("  1. 1\t") and lines[0].endswith(
        "\t(out of stock: below the in-stock hits that match as fully)"
    )
    assert not any("out of stock" in line for line in lines[1:])
    assert "note: the one product holding every word of '耳机' is sold out" in said
