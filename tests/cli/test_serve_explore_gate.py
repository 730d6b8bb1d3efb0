"""`shelfwise serve --explore-candidates N`: the exploration slots' relevance gate
(``SlotConfig.candidates``) from the command line, as ``--explore-share`` sets their share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfwise.cli import main
from shelfwise.recommend.explore import EXPLORE_REASON
from shelfwise.serve import create_app
from shelfwise.serve.setup import ShelfSettings
from shelfwise.shelf import Shelf


def _serve(monkeypatch: pytest.MonkeyPatch, shelf_dir: Path, *extra: str) -> tuple[Shelf, Any]:
    """The shelf `shelfwise serve` would serve and its reload recipe, up to uvicorn."""
    got: list[tuple[Shelf, Any]] = []

    def fake(shelf: Shelf, *args: Any, prepare: Any = None, **kwargs: Any) -> None:
        got.append((shelf, prepare))

    monkeypatch.setattr("shelfwise.cli.serve_cmd.serve_shelf", fake)
    db = shelf_dir.parent / "ev.sqlite"
    assert main(["serve", "--workers", "1", "--shelf", str(shelf_dir), "--events-db", str(db), *extra]) == 0
    return got[-1]


def _stop(*shelves: Shelf) -> None:
    for s in shelves:
        if s.live is not None:
            s.live.consumer.stop()


def test_explore_candidates_flag_sets_the_gate(
    shelf_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate was reachable only from Python (``SlotConfig(candidates=N)``)."""
    from shelfwise.bandit.slots import SlotConfig, SlotExplorer
    from shelfwise.shelf import set_explore_share

    for extra, gate in (((), 0), (("--explore-candidates", "5"), 5), (("--explore-candidates", "0"), 0)):
        shelf, _ = _serve(monkeypatch, shelf_dir, "--explore-share", "0.3", *extra)
        _stop(shelf)
        assert shelf.bandit is not None and (shelf.bandit.config.explore_share, shelf.bandit.config.candidates) == (
            0.3,
            gate,
        )
    capsys.readouterr()
    for bad in ("-1", "two", "1.5"):
        with pytest.raises(SystemExit):
            main(["serve", "--shelf", str(shelf_dir), "--explore-candidates", bad])
        assert "argument --explore-candidates" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--explore-candidates must be >= 0"):
        ShelfSettings(explore_candidates=-1)
    shelf, _ = _serve(monkeypatch, shelf_dir, "--explore-share", "0", "--explore-candidates", "5")
    _stop(shelf)
    assert shelf.bandit is None and "--explore-candidates gates the exploration slots" in capsys.readouterr().out
    # an explorer saved with the shelf follows the server's gate and keeps what it learnt
    saved = SlotExplorer(shelf.catalog, config=SlotConfig(explore_share=0.2, first_slot=1))
    shelf.bandit = saved
    set_explore_share(shelf, 0.4, 7)
    assert shelf.bandit is saved and (saved.config.explore_share, saved.config.candidates) == (0.4, 7)
    assert saved.config.first_slot == 1


@pytest.mark.parametrize("gate", [0, 5])
def test_a_gated_server_names_the_evidence_of_its_explored_items(
    shelf_dir: Path, monkeypatch: pytest.MonkeyPatch, gate: int
) -> None:
    shelf, prepare = _serve(monkeypatch, shelf_dir, "--explore-share", "0.3", "--explore-candidates", str(gate))
    c = TestClient(create_app(shelf, warmup=False, prepare=prepare), base_url="http://localhost")
    shelves = [shelf]
    try:
        for reload in (False, True):
            if reload:  # a reload keeps the start's gate
                assert c.post("/admin/reload").status_code == 200
                shelves.append(c.app.state.shelf)  # type: ignore[attr-defined]
                assert shelves[-1].bandit is not None and shelves[-1].bandit.config.candidates == gate
            for user in ("u0", "u5", "u11"):
                items = c.get(f"/recommend/user/{user}", params={"k": 10}).json()["items"]
                explored = [it for it in items if it["explored"]]
                assert len(explored) == 3
                for it in explored:
                    if gate:  # chosen among the tail items this shopper's list scores: each says its evidence
                        assert it["reason"].startswith(EXPLORE_REASON + " (") and it["score"] > 0
                    else:
                        assert it["reason"] == EXPLORE_REASON
    finally:
        _stop(*shelves)
