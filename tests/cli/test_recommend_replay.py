"""``shelfwise recommend --shelf DIR --events-db LOG`` answers what a server of that shelf and log
answers: the events logged after the shelf's snapshot are applied first, read only (tiny made-up
CSV files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shelfwise.cli import main
from shelfwise.events import Event, EventStore, EventType
from shelfwise.serve.setup import ShelfRecipe, ShelfSettings
from shelfwise.shelf import Shelf, enable_live

PRODUCTS = "1,Black jeans,Men\n2,Leather belt,Accessories\n3,Blue jeans,Men\n4,Wool scarf,Women\n5,Red dress,Women\n"
BASKETS = [("1", "2"), ("1", "2"), ("3", "2"), ("5", "4"), ("5", "4")]


@pytest.fixture
def shelf_and_log(tmp_path: Path) -> tuple[Path, Path]:
    """A shelf saved from a server's log at sequence 2 (its snapshot), then a purchase logged after
    it: shopper "late", new at the snapshot, buys the red dress (5), bought with the wool scarf (4)."""
    cat = tmp_path / "products.csv"
    cat.write_text("id,title,category\n" + PRODUCTS, encoding="utf-8")
    ev = tmp_path / "events.csv"
    rows = ["user_id,item_id,type,timestamp,session_id"]
    for u, (a, b) in enumerate(BASKETS):
        rows += [f"u{u},{a},purchase,{10 * u + 1},s{u}", f"u{u},{b},purchase,{10 * u + 2},s{u}"]
    ev.write_text("\n".join(rows) + "\n", encoding="utf-8")
    built = tmp_path / "built"
    argv = ["--catalog", str(cat), "--events", str(ev), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main(["index", *argv, "--out", str(built)]) == 0
    db = tmp_path / "events.sqlite"
    store = EventStore(db)
    store.append([Event("u0", EventType.VIEW, 100.0, "3", "s9"), Event("u1", EventType.VIEW, 101.0, "3", "s8")])
    shelf = Shelf.load(built)
    enable_live(shelf, store, start=False).consumer.drain()
    shelf.save(tmp_path / "shelf")  # the snapshot: the log's first 2 events applied
    store.append([Event("late", EventType.PURCHASE, 200.0, "5", "s10")])
    store.close()
    return tmp_path / "shelf", db


def _listed(out: str) -> list[tuple[str, str]]:
    """(item id, reason) of each printed line."""
    lines = [ln.split("\t") for ln in out.splitlines() if ln.strip()[:2].rstrip(".").isdigit()]
    return [(cells[0].split(". ")[1], cells[3].strip("[]")) for cells in lines]


def test_the_cli_replays_the_events_after_the_snapshot_read_only(
    shelf_and_log: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    shelf, db = shelf_and_log
    before = {p.name: p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name)}
    assert list(before) == [db.name]
    assert main(["recommend", "user", "late", "-k", "3", "--shelf", str(shelf)]) == 0
    stale = capsys.readouterr().out
    assert "late: unknown user: popular items" in stale
    assert main(["recommend", "user", "late", "-k", "3", "--shelf", str(shelf), "--events-db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "applied 1 event logged after the shelf's snapshot (sequence 2), read only" in out
    assert "unknown user" not in out
    got = _listed(out)
    assert got != _listed(stale) and "5" not in [i for i, _ in got]  # the dress bought: not offered again
    assert got[0] == ("4", "bought together with Red dress (2 times)")  # what it is bought with leads
    # the log and its offsets (one SQLite file) as they were, nothing written beside it
    assert {p.name: p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name)} == before
    # what a server of this shelf and log answers (on a copy: a server writes its offset)
    served = db.parent / "served.sqlite"
    shutil.copyfile(db, served)
    server = ShelfRecipe(ShelfSettings(events_db=str(served), explore_share=0.0))(shelf)
    assert server.live is not None and server.recommender is not None
    try:
        assert server.live.consumer.wait_for(3, 10)
    finally:
        server.live.consumer.stop()
    answer = server.recommender.recommend("late", 3)
    assert [(server.catalog.ids[r], why) for r, why in zip(answer.ids.tolist(), answer.reasons, strict=True)] == got


def test_events_db_needs_a_shelf_and_an_existing_log(
    shelf_and_log: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    shelf, db = shelf_and_log
    missing = db.parent / "nope.sqlite"
    assert main(["recommend", "user", "late", "--shelf", str(shelf), "--events-db", str(missing)]) == 2
    assert "no such file" in capsys.readouterr().err and not missing.exists()  # not created empty
    assert main(["recommend", "item", "5", "--events-db", str(db)]) == 2
    assert "--events-db needs --shelf DIR" in capsys.readouterr().err
