"""`shelfwise index` saves one shelf (recommender and live log position included); `recommend
--shelf` and `serve --shelf` read it without refitting (tiny made-up CSV files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shelfwise.cli import main
from shelfwise.events import Event, EventStore, EventType


@pytest.fixture
def store(tmp_path: Path) -> dict[str, Path]:
    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,category\n1,Black jeans,Men > Trousers\n2,Leather belt,Accessories > Belts\n"
        "3,Blue jeans,Men > Trousers\n4,Wool scarf,Women > Accessories\n5,Red dress,Women > Dresses\n",
        encoding="utf-8",
    )
    ev = tmp_path / "events.csv"
    rows = ["user_id,item_id,type,timestamp,session_id"]
    for u, (a, b) in enumerate([("1", "2"), ("1", "2"), ("3", "2"), ("5", "4")]):
        rows += [f"u{u},{a},purchase,{10 * u + 1},s{u}", f"u{u},{b},purchase,{10 * u + 2},s{u}"]
    ev.write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = EventStore(tmp_path / "live.sqlite")
    db.append([Event(user_id="w", type=EventType.CLICK, timestamp=100.0 + i, item_id=str(i % 5 + 1)) for i in range(6)])
    db.close()
    return {"catalog": cat, "events": ev, "db": tmp_path / "live.sqlite", "dir": tmp_path}


def test_index_saves_one_shelf_that_recommend_reads(store: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    shelf = store["dir"] / "shelf"
    argv = ["index", "--catalog", str(store["catalog"]), "--encoder", "hashing", "--out", str(shelf)]
    argv += ["--cache", str(store["dir"] / "c.sqlite"), "--events", str(store["events"])]
    argv += ["--events-db", str(store["db"])]
    assert main(argv) == 0
    manifest = json.loads((shelf / "shelf.json").read_text())
    parts = {p["name"]: p for p in manifest["parts"]}
    assert {"catalog", "searcher", "recommender", "live"} <= set(parts) and parts["live"]["offset"] == 6
    capsys.readouterr()
    assert main(["recommend", "item", "1", "--shelf", str(shelf), "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "Leather belt" in out and "fitting" not in out  # read from the shelf, nothing refitted
    assert main(["recommend", "user", "u0", "--shelf", str(shelf), "--catalog", str(store["catalog"])]) == 2
    assert "drop --catalog" in capsys.readouterr().err
    assert main(["recommend", "user", "u0"]) == 2
    assert "give --shelf DIR" in capsys.readouterr().err


def test_recommend_from_a_shelf_without_recommender_says_how(
    store: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    shelf = store["dir"] / "search_only"
    argv = ["index", "--catalog", str(store["catalog"]), "--encoder", "hashing", "--out", str(shelf)]
    assert main([*argv, "--cache", str(store["dir"] / "c.sqlite")]) == 0
    assert main(["recommend", "user", "u0", "--shelf", str(shelf)]) == 2
    assert "shelfwise index --events" in capsys.readouterr().err
