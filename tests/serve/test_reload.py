"""POST /admin/reload swaps a newly saved shelf in while clients keep searching: no request fails,
events keep flowing to the new shelf, and a bad folder leaves the old shelf serving."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
from _servekit import LOCAL
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog, Product
from shelfwise.events import EventLog, EventStore
from shelfwise.events.schema import Event
from shelfwise.serve import create_app
from shelfwise.serve.capacity import Capacity
from shelfwise.serve.config import ServeConfig
from shelfwise.shelf import Shelf, enable_live
from shelfwise.snapshot import ShelfConfig

KEY = "reload-test-key-0123456789"


def _save(catalog: Catalog, events: list[Event], folder: Path) -> None:
    Shelf.build(catalog, EventLog.from_events(events, catalog), ShelfConfig(encoder="hashing", progress=False)).save(
        folder
    )


@pytest.fixture
def served(tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]) -> tuple[TestClient, Shelf, Path]:
    folder = tmp_path / "shelf"
    _save(tiny_catalog, tiny_events, folder)
    shelf = Shelf.load(folder)
    enable_live(shelf, EventStore(tmp_path / "ev.sqlite"), explore_share=0)
    roomy = Capacity(max_inflight=16, max_queue=64, queue_timeout_s=30.0, encode_queue=64, encode_wait_s=30.0)
    app = create_app(shelf, warmup=False, config=ServeConfig(api_keys=(KEY,), capacity=roomy))  # no shedding here
    return TestClient(app, base_url=LOCAL), shelf, folder


def test_reload_under_load_fails_no_request(
    served: tuple[TestClient, Shelf, Path], tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    client, first, folder = served
    auth = {"Authorization": f"Bearer {KEY}"}
    stop = threading.Event()
    counts = {"ok": 0, "failed": 0}
    failures: list[str] = []
    lock = threading.Lock()

    def hammer() -> None:
        while not stop.is_set():
            r = client.get("/search", params={"q": "black trousers", "k": 3})
            good = r.status_code == 200 and bool(r.json()["items"])
            with lock:
                counts["ok" if good else "failed"] += 1
                if not good:
                    failures.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        bigger = Catalog([*tiny_catalog.products, Product(id="p99", title="Green raincoat", category=("Coats",))])
        for i in range(3):
            _save(bigger if i % 2 == 0 else tiny_catalog, tiny_events, folder)  # publish a new shelf in place
            ev = client.post("/events", json={"user_id": "u9", "type": "click", "item_id": "p1"}, headers=auth)
            assert ev.status_code == 200
            r = client.post("/admin/reload", headers=auth)
            assert r.status_code == 200, r.text
            assert r.json()["items"] == len(bigger if i % 2 == 0 else tiny_catalog) and r.json()["caught_up"]
            assert "live" in r.json()["parts"]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert counts["failed"] == 0 and counts["ok"] > 0, failures[:3]
    now: Shelf = client.app.state.shelf  # type: ignore[attr-defined]
    assert now is not first and now.live is not None and now.live.consumer.stats().running
    assert first.live is not None and not first.live.consumer.stats().running  # the old consumer stopped
    assert now.live.consumer.applied_seq == 3  # every event posted across the reloads reached the new shelf
    assert len(client.get("/search", params={"q": "raincoat"}).json()["items"]) > 0
    now.live.consumer.stop()


def test_reload_needs_the_key_and_a_loadable_folder(served: tuple[TestClient, Shelf, Path], tmp_path: Path) -> None:
    client, first, _ = served
    auth = {"Authorization": f"Bearer {KEY}"}
    assert client.post("/admin/reload").status_code == 401
    (tmp_path / "broken").mkdir()
    r = client.post("/admin/reload", json={"shelf": str(tmp_path / "broken")}, headers=auth)
    assert r.status_code == 422 and "still serving the previous one" in r.json()["detail"]
    assert client.app.state.shelf is first  # type: ignore[attr-defined]
    assert client.post("/admin/reload", json=["x"], headers=auth).status_code == 422
    assert client.get("/search", params={"q": "dress"}).status_code == 200
    assert first.live is not None
    first.live.consumer.stop()


def test_one_process_answers_as_before_and_names_the_shelf_in_health(served: tuple[TestClient, Shelf, Path]) -> None:
    """No ``fleet`` in the answer of a single process; ``wait_s`` is checked; /health names the save."""
    client, first, folder = served
    auth = {"Authorization": f"Bearer {KEY}"}
    assert client.get("/health").json()["shelf_id"] == first.shelf_id != ""
    assert client.post("/admin/reload", params={"wait_s": -1}, headers=auth).status_code == 422
    r = client.post("/admin/reload", params={"wait_s": 0}, headers=auth)
    assert r.status_code == 200 and "fleet" not in r.json()
    # the product count as /health names it; `items` (elsewhere a list of hits) kept, marked deprecated
    assert r.json()["products"] == r.json()["items"] == len(first.catalog)
    doc = client.get("/openapi.json").json()["components"]["schemas"]["ReloadResult"]["properties"]
    assert doc["items"].get("deprecated") and not doc["products"].get("deprecated")
    bigger = Catalog([*first.catalog.products, Product(id="p99", title="Green raincoat", category=("Coats",))])
    _save(bigger, [], folder)  # a new save in place: another manifest digest
    assert client.post("/admin/reload", headers=auth).status_code == 200
    now: Shelf = client.app.state.shelf  # type: ignore[attr-defined]
    assert client.get("/health").json()["shelf_id"] == now.shelf_id not in ("", first.shelf_id)
    for shelf in (first, now):
        if shelf.live is not None:
            shelf.live.consumer.stop()


def test_reload_without_a_folder_says_how(tiny_catalog: Catalog, tiny_searcher: object) -> None:
    from shelfwise.retrieve import HybridSearcher

    assert isinstance(tiny_searcher, HybridSearcher)
    client = TestClient(create_app(Shelf(catalog=tiny_catalog, searcher=tiny_searcher), warmup=False), base_url=LOCAL)
    r = client.post("/admin/reload")
    assert r.status_code == 409 and "serve --shelf" in r.json()["detail"]


def test_sighup_reloads(served: tuple[TestClient, Shelf, Path]) -> None:
    import os
    import signal
    import time

    from shelfwise.serve.reload import install_sighup

    client, first, _ = served
    previous = signal.getsignal(signal.SIGHUP)
    try:
        assert install_sighup(client.app.state.reloader)  # type: ignore[attr-defined]
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 20
        while client.app.state.shelf is first and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
    finally:
        signal.signal(signal.SIGHUP, previous)
    now: Shelf = client.app.state.shelf  # type: ignore[attr-defined]
    assert now is not first
    assert now.live is not None
    now.live.consumer.stop()


def test_failed_warmup_stops_the_new_shelfs_consumer(
    served: tuple[TestClient, Shelf, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload whose new shelf fails after loading (warm-up raised) keeps the old shelf and leaves
    no consumer thread of the new one running."""
    client, first, folder = served
    reloader = client.app.state.reloader  # type: ignore[attr-defined]
    made: list[Shelf] = []

    def prepare(path: Path) -> Shelf:
        new = Shelf.load(path)
        enable_live(new, EventStore(tmp_path / "ev2.sqlite"), explore_share=0)

        def boom() -> None:
            raise RuntimeError("encoder busy")

        monkeypatch.setattr(new.searcher, "warmup", boom)
        made.append(new)
        return new

    reloader.prepare = prepare
    with pytest.raises(RuntimeError, match="encoder busy"):
        reloader.reload(folder)
    assert client.app.state.shelf is first  # type: ignore[attr-defined]
    assert made and made[0].live is not None and not made[0].live.consumer.stats().running
    assert first.live is not None
    first.live.consumer.stop()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.said: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.said.append((record.levelno, record.getMessage()))


def test_a_successful_reload_logs_info_and_a_failed_one_error(
    served: tuple[TestClient, Shelf, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shelfwise.events.consumer import EventConsumer

    client, _, folder = served
    auth = {"Authorization": f"Bearer {KEY}"}
    heard = _Collect()
    serve_log = logging.getLogger("shelfwise.serve")  # serve's own handler may stop propagation: listen here
    serve_log.addHandler(heard)
    caplog.set_level(logging.INFO, logger="shelfwise.serve")
    try:
        assert client.post("/admin/reload", headers=auth).status_code == 200
        assert [level for level, _ in heard.said] == [logging.INFO]
        assert heard.said[0][1].startswith(f"reloaded the shelf from {folder} in ")
        heard.said.clear()
        (tmp_path / "broken").mkdir()
        assert client.post("/admin/reload", json={"shelf": str(tmp_path / "broken")}, headers=auth).status_code == 422
        assert [level for level, _ in heard.said] == [logging.ERROR]
        heard.said.clear()
        monkeypatch.setattr(EventConsumer, "wait_for", lambda self, seq, timeout: False)  # log not caught up
        r = client.post("/admin/reload", headers=auth)
        assert r.status_code == 200 and not r.json()["caught_up"]
        assert [level for level, _ in heard.said] == [logging.WARNING] and "not caught up" in heard.said[0][1]
    finally:
        serve_log.removeHandler(heard)
    now: Shelf = client.app.state.shelf  # type: ignore[attr-defined]
    assert now.live is not None
    now.live.consumer.stop()


def test_serve_rules_and_synonyms_files_are_read_again_at_each_reload(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    from shelfwise.serve.setup import ShelfRecipe, ShelfSettings

    folder = tmp_path / "shelf"
    _save(tiny_catalog, tiny_events, folder)
    rules, synonyms = tmp_path / "rules.json", tmp_path / "synonyms.txt"
    rules.write_text('[{"id": "shoes", "query": "dress", "pin": ["p9"]}]', encoding="utf-8")
    synonyms.write_text("gown, dress\n", encoding="utf-8")
    recipe = ShelfRecipe(ShelfSettings(rules=rules, synonyms=synonyms), say=lambda _: None)
    client = TestClient(
        create_app(recipe(folder), warmup=False, config=ServeConfig(api_keys=(KEY,)), prepare=recipe), base_url=LOCAL
    )
    body = client.get("/search", params={"q": "dress", "k": 3}).json()
    assert body["rules_applied"] == ["shoes"] and body["items"][0]["id"] == "p9"
    assert (
        "also searched, by the store's synonyms: 'dress'"
        in client.get("/search", params={"q": "gown"}).json()["notices"]
    )
    rules.write_text('[{"id": "mats", "query": "dress", "pin": ["p10"]}]', encoding="utf-8")  # a merchandiser's edit
    synonyms.write_text("gown, dress, frock\n", encoding="utf-8")
    auth = {"Authorization": f"Bearer {KEY}"}
    reloaded = client.post("/admin/reload", json={"shelf": str(folder)}, headers=auth)
    assert reloaded.status_code == 200 and {"rules", "suggester"} <= set(reloaded.json()["parts"])
    body = client.get("/search", params={"q": "dress", "k": 3}).json()
    assert body["rules_applied"] == ["mats"] and body["items"][0]["id"] == "p10"
    assert "'dress frock'" in " ".join(client.get("/search", params={"q": "gown"}).json()["notices"])
    rules.write_text("[]", encoding="utf-8")  # no usable rule: the reload fails, the last good shelf serves on
    r = client.post("/admin/reload", json={"shelf": str(folder)}, headers=auth)
    assert r.status_code == 422 and "0 usable rule" in r.json()["detail"]
    assert client.get("/search", params={"q": "dress", "k": 1}).json()["items"][0]["id"] == "p10"


def test_a_shelf_saved_without_suggestions_counts_the_logs_queries_from_the_start(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    """A shelf saved before type-ahead existed (no 'suggester' part) gets its suggester before the
    event consumer replays the log, at the start and at each reload (not from the first /suggest
    request, after the replay: the log's queries were lost, and racing requests each built one)."""
    from shelfwise.events.schema import EventType
    from shelfwise.serve.setup import ShelfRecipe, ShelfSettings

    folder = tmp_path / "shelf"
    old = Shelf.build(
        tiny_catalog, EventLog.from_events(tiny_events, tiny_catalog), ShelfConfig(encoder="hashing", progress=False)
    )
    old.suggester = None  # as saved before suggestions existed
    old.save(folder)
    store = EventStore(tmp_path / "ev.sqlite")
    store.append(Event(u, EventType.QUERY, 1.0, query="trousers for hiking") for u in ("u1", "u2"))
    recipe = ShelfRecipe(ShelfSettings(explore_share=0), store, say=lambda _: None)
    for _ in range(2):  # the start, then a reload's shelf
        shelf = recipe(folder)
        assert shelf.suggester is not None and shelf.live is not None
        cons = shelf.live.consumer
        try:
            assert cons.wait_for(store.last_seq(), 10.0)
            top = shelf.suggestions().suggest("trousers f")
            assert [(s.text, s.source, s.count) for s in top][:1] == [("trousers for hiking", "queries", 2)]
        finally:
            cons.stop()


def test_a_reload_keeps_the_query_vectors_of_the_same_encoder(served: tuple[TestClient, Shelf, Path]) -> None:
    client, first, _ = served
    for q in ("blue jeans", "wool scarf"):  # two words each, no title holds both: both are encoded
        assert client.get("/search", params={"q": q, "k": 3}).status_code == 200
    assert {"blue jeans", "wool scarf"} <= set(first.searcher.dense._cache)
    r = client.post("/admin/reload", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200 and r.json()["query_vectors_kept"] >= 2
    new = client.app.state.shelf  # type: ignore[attr-defined]
    assert new is not first and {"blue jeans", "wool scarf"} <= set(new.searcher.dense._cache)
    np.testing.assert_array_equal(new.searcher.dense.embed("blue jeans"), first.searcher.dense.embed("blue jeans"))


def test_an_event_log_path_that_does_not_exist_is_said_to_be_new(tmp_path: Path) -> None:
    """--events-db /nonexistent/dir/live.sqlite silently made the folder and an empty log (a typo loses the history)."""
    from shelfwise.serve.setup import ShelfRecipe, ShelfSettings

    said: list[str] = []
    db = tmp_path / "no" / "such" / "live.sqlite"
    recipe = ShelfRecipe(ShelfSettings(events_db=str(db), impression_log="off"), say=said.append)
    assert said == [f"event log {db}: no such file, a new empty log is created there"] and db.is_file()
    assert recipe.store is not None
    recipe.store.close()
    said.clear()
    again = ShelfRecipe(ShelfSettings(events_db=str(db)), say=said.append)  # it exists now: said no more
    assert again.store is not None and again.impressions is not None
    again.store.close()
    again.impressions.close()
    imps = db.with_name("live.impressions.db")
    assert said == [f"impressions of explored lists: {imps}, sampled within 10% of a core (ope --impressions {imps})"]
    assert again.impressions.sampler.cpu_share == 0.1


def test_the_impression_log_cpu_budget_is_checked_and_reaches_the_sampler(tmp_path: Path) -> None:
    from shelfwise.cli.main import build_parser
    from shelfwise.serve.setup import ShelfRecipe, ShelfSettings

    with pytest.raises(ValueError, match="--impression-log-cpu"):
        ShelfSettings(impression_log_cpu=0.0)
    db = tmp_path / "live.sqlite"
    recipe = ShelfRecipe(ShelfSettings(events_db=str(db), impression_log_cpu=0.03), say=lambda _: None)
    assert recipe.impressions is not None and recipe.impressions.sampler.cpu_share == 0.03
    recipe.impressions.close()
    assert recipe.store is not None
    recipe.store.close()
    args = build_parser().parse_args(["serve", "--shelf", "x", "--impression-log-cpu", "0.05"])
    assert args.impression_log_cpu == 0.05


def test_a_bad_reload_body_is_a_422_naming_the_field(served: tuple[TestClient, Shelf, Path]) -> None:
    """The body checks answered a bare string while /openapi.json documented FastAPI's list for 422
    (and said nothing of the string a folder that does not load answers)."""
    client, first, _ = served
    auth = {"Authorization": f"Bearer {KEY}"}
    for body, loc in ((["x"], ["body"]), ({"shelf": 3}, ["body", "shelf"]), ({"dir": "x"}, ["body", "dir"])):
        r = client.post("/admin/reload", json=body, headers=auth)
        assert r.status_code == 422, body
        (detail,) = r.json()["detail"]
        assert detail["loc"] == loc and detail["type"] == "value_error", detail
    doc = client.get("/openapi.json").json()["paths"]["/admin/reload"]["post"]["responses"]["422"]
    shapes = {s["$ref"].rsplit("/", 1)[1] for s in doc["content"]["application/json"]["schema"]["anyOf"]}
    assert shapes == {"HTTPValidationError", "ErrorOut"} and "does not load" in doc["description"]
    assert client.app.state.shelf is first  # type: ignore[attr-defined]
    assert first.live is not None
    first.live.consumer.stop()
