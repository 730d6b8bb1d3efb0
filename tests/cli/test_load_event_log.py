"""One event-log loader (``shelfwise.events.loader.load_event_log``) for the CLI commands and the
server's ``--events``: the same log and the same report of skipped rows, printed or said."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.cli import common
from shelfwise.events import loader
from shelfwise.serve.setup import ShelfSettings, load_folder
from shelfwise.shelf import Shelf
from shelfwise.snapshot import ShelfConfig


@pytest.fixture
def catalog() -> Catalog:
    titles = ("black jeans", "leather belt", "blue jeans", "wool scarf", "red dress")
    return Catalog([Product(id=str(n), title=t, category=("Men",)) for n, t in enumerate(titles, 1)])


@pytest.fixture
def events(tmp_path: Path) -> Path:
    rows = ["user_id,item_id,type,timestamp,session_id"]
    for u, (a, b) in enumerate([("1", "2"), ("1", "2"), ("3", "2"), ("5", "4")]):
        rows += [f"u{u},{a},purchase,{10 * u + 1},s{u}", f"u{u},{b},purchase,{10 * u + 2},s{u}"]
    rows += ["u9,999,purchase,100,s9", "u9,1,purchase,not-a-time,s9"]  # two bad rows, skipped and reported
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_cli_prints_and_server_says_the_same_report(
    catalog: Catalog, events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert common.load_event_log is loader.load_event_log  # the CLI's is the shared one, not a copy
    log = common.load_event_log(events, None, catalog)
    printed = capsys.readouterr().out.splitlines()
    assert len(log) == 8 and printed[0] == f"{events}: skipped 2 bad rows (kept 8); first ones:" and len(printed) == 3

    said: list[str] = []
    Shelf.build(catalog, config=ShelfConfig(encoder="hashing", progress=False)).save(tmp_path / "shelf")
    capsys.readouterr()
    shelf = load_folder(tmp_path / "shelf", ShelfSettings(events=events), say=said.append)
    assert said[:3] == printed  # the server reports through its own channel, word for word
    assert shelf.recommender is not None and capsys.readouterr().out == ""


@pytest.mark.parametrize("text", ["", "user_id,item_id,type,timestamp\n"])
def test_an_empty_event_file_is_said(
    catalog: Catalog, tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    assert len(common.load_event_log(path, None, catalog)) == 0
    assert capsys.readouterr().out == (
        f"warning: {path}: no events (the file is empty or holds only its header): nothing to recommend from\n"
    )
