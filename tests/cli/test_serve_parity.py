"""Everything the demo turns on is a flag of `shelfwise index` / `shelfwise serve`, and what a
server lacks answers with a message naming the flag (one test per former silent no-op)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from shelfwise.cli import main
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf
from shelfwise.valuation import Values
from shelfwise.valuation.report import ValuationReport

PRODUCTS = [  # near ties for "black": what a shopper bought decides the order
    ("1", "Black top", "Men > Tops"),
    ("2", "Black tee", "Men > Tops"),
    ("3", "Black top", "Women > Tops"),
    ("4", "Black tee", "Women > Tops"),
    ("5", "Black cap", "Men > Hats"),
    ("6", "Black hat", "Women > Hats"),
]
EVENTS = [("men", "1"), ("men", "2"), ("men", "5"), ("women", "3"), ("women", "4"), ("women", "6")]
EVENTS_BY = {"men": {"1", "2", "5"}, "women": {"3", "4", "6"}}


@pytest.fixture
def store(tmp_path: Path) -> dict[str, Path]:
    cat = tmp_path / "products.csv"
    cat.write_text("id,title,category\n" + "".join(f"{i},{t},{c}\n" for i, t, c in PRODUCTS), encoding="utf-8")
    ev = tmp_path / "events.csv"
    ev.write_text(
        "user_id,item_id,type,timestamp\n" + "".join(f"{u},{i},purchase,{n}\n" for n, (u, i) in enumerate(EVENTS)),
        encoding="utf-8",
    )
    return {"catalog": cat, "events": ev, "dir": tmp_path}


def _index(store: dict[str, Path], name: str, *extra: str) -> Path:
    out = store["dir"] / name
    argv = ["index", "--catalog", str(store["catalog"]), "--encoder", "hashing", "--out", str(out)]
    assert main([*argv, "--cache", str(store["dir"] / "c.sqlite"), *extra]) == 0
    return out


def _serve(monkeypatch: pytest.MonkeyPatch, *argv: str) -> TestClient:
    """Run `shelfwise serve` up to the point it would start uvicorn; a client of the app it would serve."""
    got: dict[str, Any] = {}

    def fake(
        shelf: Shelf, host: str, port: int, report: Path | None = None, config: Any = None, prepare: Any = None
    ) -> None:
        got.update(shelf=shelf, report=report, config=config)

    monkeypatch.setattr("shelfwise.cli.serve_cmd.serve_shelf", fake)
    assert main(["serve", "--workers", "1", *argv]) == 0  # served in this process
    app = create_app(got["shelf"], warmup=False, report=got["report"], config=got["config"])
    return TestClient(app, base_url="http://localhost")


def _ids(c: TestClient, user: str | None) -> list[str]:
    q = "/search?q=black&k=6" + (f"&user={user}" if user else "")
    return [it["id"] for it in c.get(q).json()["items"]]


def test_index_personalises_search_by_default(store: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    idx = _index(store, "idx")
    assert json.loads((idx / "searcher" / "searcher.json").read_text())["config"]["personal_weight"] == 0.1
    c = _serve(monkeypatch, "--index", str(idx), "--events", str(store["events"]))
    men, women = _ids(c, "men"), _ids(c, "women")
    assert men != women  # it used to be the same list for every shopper
    scores = {
        u: {it["id"]: it["score"] for it in c.get(f"/search?q=black&k=6&user={u}").json()["items"]} for u in EVENTS_BY
    }
    for user, bought in EVENTS_BY.items():  # what a shopper bought scores higher for them than for the other
        other = next(u for u in EVENTS_BY if u != user)
        assert all(scores[user][i] > scores[other][i] for i in bought)
    assert c.get("/search?q=black&user=men").json()["notices"] == []


def test_serve_personal_weight_overrides_an_unpersonalised_index(
    store: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    idx = _index(store, "idx0", "--personal-weight", "0")
    off = _serve(monkeypatch, "--index", str(idx), "--events", str(store["events"]))
    assert _ids(off, "men") == _ids(off, "women") == _ids(off, None)
    assert "personal_weight is 0" in off.get("/search?q=black&user=men").json()["setup_notices"][-1]  # says so
    on = _serve(monkeypatch, "--index", str(idx), "--events", str(store["events"]), "--personal-weight", "0.1")
    assert _ids(on, "men") != _ids(on, "women")
    assert main(["serve", "--index", str(idx), "--personal-weight", "-1"]) == 2
    assert main(["index", "--catalog", str(store["catalog"]), "--out", str(idx), "--personal-weight", "-0.5"]) == 2


def test_search_for_a_user_without_histories_says_why(store: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    idx = _index(store, "idx")
    bare = _serve(monkeypatch, "--index", str(idx))
    assert "no shopper histories" in bare.get("/search?q=black&user=men").json()["setup_notices"][-1]
    fitted = _serve(monkeypatch, "--index", str(idx), "--events", str(store["events"]))
    assert "no history yet for shopper 'nobody'" in fitted.get("/search?q=black&user=nobody").json()["notices"][-1]


def test_serve_report_flag(store: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    idx = _index(store, "idx")
    c = _serve(monkeypatch, "--index", str(idx))
    r = c.get("/report")
    assert r.status_code == 404 and "shelfwise serve --report" in r.json()["detail"]
    folder = store["dir"] / "rep"
    folder.mkdir()
    (folder / "report.html").write_text("<h1>my store</h1>", encoding="utf-8")
    for arg in (folder, folder / "report.html"):  # a folder or the file itself
        assert "my store" in _serve(monkeypatch, "--index", str(idx), "--report", str(arg)).get("/report").text
    assert main(["serve", "--index", str(idx), "--report", str(store["dir"] / "nope.html")]) == 2


def test_serve_valuation_flag(store: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    idx = _index(store, "idx")
    r = _serve(monkeypatch, "--index", str(idx)).get("/valuation/summary")
    assert r.status_code == 404 and "shelfwise serve --valuation DIR" in r.json()["detail"]
    rep = ValuationReport("my store")
    rep.values["groups: loo"] = Values("loo", "group", ("a", "b"), np.array([0.2, -0.1]))
    rep.write(store["dir"] / "val")
    body = _serve(monkeypatch, "--index", str(idx), "--valuation", str(store["dir"] / "val")).get("/valuation/summary")
    assert body.status_code == 200 and body.json()["title"] == "my store"
    assert main(["serve", "--index", str(idx), "--valuation", str(store["dir"])]) == 2  # no summary there
    # a malformed summary fails at start-up too (it used to start and answer 404 on every request)
    summary = store["dir"] / "val" / "summary.json"
    summary.write_text(summary.read_text().replace('"players": 2', '"players": "two"'))
    assert main(["serve", "--index", str(idx), "--valuation", str(store["dir"] / "val")]) == 2


def test_missing_recommender_and_event_log_name_their_flags(
    store: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _serve(monkeypatch, "--index", str(_index(store, "idx")))
    r = c.get("/recommend/user/men")
    assert r.status_code == 503 and "--events FILE" in r.json()["detail"]
    r = c.post("/events", json={"user_id": "u", "type": "click", "item_id": "1"})
    assert r.status_code == 503 and "--events-db FILE" in r.json()["detail"]
    assert c.get("/shoppers").json()["notice"].startswith("no shopper histories")


def test_a_reload_keeps_the_start_settings(store: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """`shelfwise serve` flags apply to the first shelf and to every shelf POST /admin/reload swaps in
    (one recipe): personal weight, refit recommendations, valuation report, the one event log."""
    idx = _index(store, "idx0", "--personal-weight", "0")  # the folder says: no personalisation
    rep = ValuationReport("my store")
    rep.values["groups: loo"] = Values("loo", "group", ("a", "b"), np.array([0.2, -0.1]))
    rep.write(store["dir"] / "val")
    got: dict[str, Any] = {}

    def fake(
        shelf: Shelf, host: str, port: int, report: Path | None = None, config: Any = None, prepare: Any = None
    ) -> None:
        got.update(shelf=shelf, config=config, prepare=prepare)

    monkeypatch.setattr("shelfwise.cli.serve_cmd.serve_shelf", fake)
    argv = ["serve", "--workers", "1", "--index", str(idx), "--events", str(store["events"])]
    argv += ["--personal-weight", "0.3", "--valuation", str(store["dir"] / "val")]
    assert main([*argv, "--events-db", str(store["dir"] / "ev.sqlite")]) == 0
    app = create_app(got["shelf"], warmup=False, config=got["config"], prepare=got["prepare"])
    c = TestClient(app, base_url="http://localhost")
    first: Shelf = app.state.shelf
    men, women = _ids(c, "men"), _ids(c, "women")
    assert men != women and first.live is not None
    try:
        r = c.post("/admin/reload")
        assert r.status_code == 200, r.text
        now: Shelf = app.state.shelf
        assert now is not first and now.searcher.config.personal_weight == 0.3  # the flag, not the folder's 0
        assert now.valuation_report == store["dir"] / "val" and now.recommender is not None
        assert now.live is not None and now.live.consumer.store is first.live.consumer.store
        assert now.bandit is not None and now.bandit.config.explore_share == first.bandit.config.explore_share  # type: ignore[union-attr]
        assert (_ids(c, "men"), _ids(c, "women")) == (men, women)
        assert c.get("/valuation/summary").json()["title"] == "my store"
    finally:
        for s in (first, app.state.shelf):
            if s.live is not None:
                s.live.consumer.stop()


def test_explore_share_flag_sets_the_exploration_slots(store: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """With --events-db, 20% of /recommend/user slots were explored with no flag to change or stop it."""
    from shelfwise.bandit.slots import SlotConfig, SlotExplorer
    from shelfwise.shelf import set_explore_share

    idx = _index(store, "idx", "--events", str(store["events"]))
    shelves: list[Shelf] = []

    def fake(shelf: Shelf, *args: Any, **kwargs: Any) -> None:
        shelves.append(shelf)
        if shelf.live is not None:
            shelf.live.consumer.stop()

    monkeypatch.setattr("shelfwise.cli.serve_cmd.serve_shelf", fake)
    base = ["serve", "--workers", "1", "--shelf", str(idx), "--events-db", str(store["dir"] / "ev.sqlite")]
    for extra, share in (((), 0.2), (("--explore-share", "0.5"), 0.5), (("--explore-share", "0"), None)):
        assert main([*base, *extra]) == 0
        bandit = shelves[-1].bandit
        assert (bandit.config.explore_share if bandit is not None else None) == share
    with pytest.raises(SystemExit):
        main([*base, "--explore-share", "1.5"])
    # an explorer saved with the shelf follows the server's share and keeps what it learnt
    shelf = shelves[-1]
    saved = SlotExplorer(shelf.catalog, config=SlotConfig(explore_share=0.2, first_slot=1))
    shelf.bandit = saved
    set_explore_share(shelf, 0.4)
    assert shelf.bandit is saved and saved.config.explore_share == 0.4 and saved.config.first_slot == 1
    set_explore_share(shelf, 0.0)
    assert shelf.bandit is None
