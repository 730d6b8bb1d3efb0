"""``shelfwise recommend`` on tiny made-up CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.cli import main


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,description,category\n"
        "1,Black jeans,slim denim,Men > Trousers\n2,Leather belt,buckle,Accessories > Belts\n"
        "3,Blue jeans,wide denim,Men > Trousers\n4,Wool scarf,warm,Women > Accessories\n"
        "5,Red dress,summer,Women > Dresses\n",
        encoding="utf-8",
    )
    ev = tmp_path / "events.csv"
    rows = ["user_id,item_id,type,timestamp,session_id"]
    for u, (a, b) in enumerate([("1", "2"), ("1", "2"), ("3", "2"), ("5", "4")]):
        rows += [f"u{u},{a},purchase,{10 * u + 1},s{u}a", f"u{u},{b},purchase,{10 * u + 2},s{u}a"]
        rows += [f"u{u},{b},purchase,{10 * u + 5},s{u}b"]
    rows.append("u9,999,purchase,100,s9")  # unknown item: reported and skipped
    ev.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ["--catalog", str(cat), "--events", str(ev), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]


def test_recommend_item_cross_user_eval(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "item", *files, "1", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 bad rows" in out
    assert "Leather belt" in out.splitlines()[-2] and "bought together with Black jeans" in out
    assert main(["recommend", "cross", *files, "1", "-k", "3"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()[:2].rstrip(".").isdigit()]
    assert lines and "Leather belt" in lines[0] and all("jeans" not in ln.split("\t")[2] for ln in lines)
    assert main(["recommend", "user", *files, "nobody", "-k", "1"]) == 0
    assert "popular in" in capsys.readouterr().out
    assert main(["recommend", "eval", *files, "-k", "5"]) == 0
    out = capsys.readouterr().out
    assert "hybrid" in out and "ndcg@5=" in out
    assert main(["recommend", "item", *files, "nope"]) == 2
