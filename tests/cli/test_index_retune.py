"""`shelfwise index --events` over a shelf it replaces keeps that shelf's searched hybrid weights
(``--retune auto``, the default) or searches them again (``--retune always``); `serve --events`
does the same at every reload. A made-up store: 30 products, 1,400 sessions walking the ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import load_catalog
from shelfwise.cli import main
from shelfwise.serve.setup import ShelfRecipe, ShelfSettings
from shelfwise.snapshot import replaced_tuning


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("retune")
    cat = d / "products.csv"
    cat.write_text("id,title\n" + "".join(f"{i},product number {i}\n" for i in range(30)), encoding="utf-8")
    rng = np.random.default_rng(5)
    rows = ["user_id,item_id,type,timestamp,session_id"]
    for k in range(1400):
        item = int(rng.integers(0, 30))
        for j in range(int(rng.integers(2, 6))):
            rows.append(f"u{k % 200},{item},view,{1000 * k + j},s{k}")
            item = (item + int(rng.integers(1, 3))) % 30
    ev = d / "events.csv"
    ev.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"catalog": cat, "events": ev, "dir": d}


def _index(store: dict[str, Path], out: Path, *more: str) -> list[str]:
    argv = ["index", "--catalog", str(store["catalog"]), "--encoder", "hashing", "--out", str(out)]
    argv += ["--cache", str(store["dir"] / "c.sqlite"), "--events", str(store["events"]), *more]
    assert main(argv) == 0
    return argv


def _tuning(shelf: Path) -> dict[str, object]:
    meta = json.loads((shelf / "recommender" / "hybrid.json").read_text())
    tuning = meta["tuning"]
    assert isinstance(tuning, dict)
    return tuning


def test_index_reuses_the_replaced_shelfs_weights_unless_told(
    store: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shelf = tmp_path / "shelf"
    assert replaced_tuning(shelf) is None  # nothing there yet
    _index(store, shelf)
    first = _tuning(shelf)
    assert first["status"] == "tuned", first["reason"]
    assert "hybrid weights (tuned on " in capsys.readouterr().out
    _index(store, shelf)
    second = _tuning(shelf)
    assert second["status"] == "reused"
    assert (second["tuned_at"], second["weights"], second["new_weights"]) == (
        first["tuned_at"],
        first["weights"],
        first["new_weights"],
    )
    said = capsys.readouterr().out
    assert "hybrid weights (kept from the search of " in said and "a new search runs after 7 days" in said
    _index(store, shelf, "--retune", "always")
    assert "--retune always: the hybrid weights are searched again" in capsys.readouterr().out
    third = _tuning(shelf)
    assert third["status"] == "tuned" and third["tuned_at"] > first["tuned_at"]  # type: ignore[operator]


def test_an_unreadable_replaced_recommender_is_searched_again(store: dict[str, Path], tmp_path: Path) -> None:
    shelf = tmp_path / "shelf"
    _index(store, shelf)
    (shelf / "recommender" / "hybrid.json").write_text("{not json", encoding="utf-8")
    said: list[str] = []
    assert replaced_tuning(shelf, said.append) is None
    assert said and "hybrid.json" in said[0] and "searching them again" in said[0]
    _index(store, shelf)  # the manifest's checksum no longer matches: still builds, searching again
    assert _tuning(shelf)["status"] == "tuned"


def test_index_without_events_has_nothing_to_reuse(store: dict[str, Path], tmp_path: Path) -> None:
    shelf = tmp_path / "plain"
    argv = ["index", "--catalog", str(store["catalog"]), "--encoder", "hashing", "--out", str(shelf)]
    assert main([*argv, "--cache", str(store["dir"] / "c.sqlite")]) == 0
    assert (shelf / "shelf.json").is_file() and replaced_tuning(shelf) is None


def test_serve_refits_keep_the_last_fits_weights_across_reloads(store: dict[str, Path], tmp_path: Path) -> None:
    shelf = tmp_path / "served"
    argv = ["index", "--catalog", str(store["catalog"]), "--encoder", "hashing", "--out", str(shelf)]
    assert main([*argv, "--cache", str(store["dir"] / "c.sqlite")]) == 0  # a shelf without a recommender
    said: list[str] = []
    recipe = ShelfRecipe(ShelfSettings(events=store["events"]), say=said.append)
    first = recipe(shelf).recommender
    assert first is not None and first.tuning.status == "tuned"
    again = recipe(shelf).recommender  # a reload: this server's last fit is the one replaced
    assert again is not None and again.tuning.status == "reused"
    assert again.config == first.config and again.tuning.tuned_at == first.tuning.tuned_at
    _index(store, shelf)  # a newer search written into the folder: the next reload keeps that one
    newer = _tuning(shelf)
    assert newer["status"] == "tuned" and newer["tuned_at"] > first.tuning.tuned_at  # type: ignore[operator]
    third = recipe(shelf).recommender
    assert third is not None and third.tuning.status == "reused" and third.tuning.tuned_at == newer["tuned_at"]
    always = ShelfRecipe(ShelfSettings(events=store["events"], retune="always"), say=said.append)
    assert always(shelf).recommender.tuning.status == "tuned"  # type: ignore[union-attr]
    assert always(shelf).recommender.tuning.status == "tuned"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="retune"):
        ShelfSettings(retune="sometimes")


def test_a_folder_reused_for_another_store_searches_again(store: dict[str, Path], tmp_path: Path) -> None:
    shelf = tmp_path / "shelf"
    _index(store, shelf)
    other = tmp_path / "other.csv"  # another store's catalog: none of the saved shelf's products
    other.write_text("id,title\n" + "".join(f"x{i},other product {i}\n" for i in range(30)), encoding="utf-8")
    said: list[str] = []
    assert replaced_tuning(shelf, said.append, load_catalog(other).catalog) is None
    assert said and "holds another catalog (0% of its 30 products" in said[0]
    same = replaced_tuning(shelf, said.append, load_catalog(store["catalog"]).catalog)
    assert same is not None and same.report.status == "tuned"
