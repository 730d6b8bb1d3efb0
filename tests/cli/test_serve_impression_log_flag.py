"""`shelfwise serve --impression-log FILE` without --events-db: it logs the exploration slots of an
explorer saved with the shelf (they were silently not logged); with no explorer, or with
--explore-share 0, there is nothing to log and the server fails at startup naming the flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfwise.bandit import SlotConfig, SlotExplorer
from shelfwise.cli import main
from shelfwise.events.impressions import ImpressionStore
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf, close_event_log


def _serve(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, list[tuple[Shelf, Any]]]:
    got: list[tuple[Shelf, Any]] = []

    def fake(shelf: Shelf, *args: Any, prepare: Any = None, **kwargs: Any) -> None:
        got.append((shelf, prepare))

    monkeypatch.setattr("shelfwise.cli.serve_cmd.serve_shelf", fake)
    return main(["serve", "--workers", "1", *argv]), got


def test_an_impression_log_file_without_an_event_log_logs_a_saved_explorers_slots(
    shelf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shelf = Shelf.load(shelf_dir)
    shelf.bandit = SlotExplorer(shelf.catalog, config=SlotConfig(explore_share=0.3))
    shelf.save(shelf_dir)
    log = tmp_path / "imp.db"
    rc, got = _serve(monkeypatch, "--shelf", str(shelf_dir), "--impression-log", str(log))
    [(served, prepare)] = got
    assert rc == 0 and served.live is None and served.impressions is not None
    c = TestClient(create_app(served, warmup=False, prepare=prepare), base_url="http://localhost")
    ids = [c.get(f"/recommend/user/u{u}", params={"k": 10}).json()["request_id"] for u in range(3)]
    assert served.impressions.flush()
    close_event_log(served)
    logged = ImpressionStore(log, read_only=True).read().impressions
    assert [i.request_id for i in logged] == ids and all(i.explored and i.propensity[0] for i in logged)


@pytest.mark.parametrize("extra", [(), ("--events-db", "EV", "--explore-share", "0")])
def test_an_impression_log_file_with_nothing_to_log_fails_at_startup_naming_the_flag(
    shelf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], extra: Any
) -> None:
    log = tmp_path / "imp.db"
    argv = [a.replace("EV", str(tmp_path / "ev.sqlite")) for a in extra]
    rc, got = _serve(monkeypatch, "--shelf", str(shelf_dir), "--impression-log", str(log), *argv)
    err = capsys.readouterr().err
    assert rc == 2 and not got and f"--impression-log {log}" in err
    assert (
        "no list would be logged; give --events-db" if not extra else "with --explore-share 0 there are none"
    ) in err
