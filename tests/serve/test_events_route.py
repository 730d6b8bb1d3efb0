"""POST /events (single, batch, partial acceptance, errors) and GET /events/stats over a live shelf."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.events import EventStore
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf, enable_live


@pytest.fixture
def live_client(tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> Iterator[TestClient]:
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher)
    cons = enable_live(shelf, EventStore(tmp_path / "ev.sqlite"), explore_share=0).consumer
    try:
        yield TestClient(create_app(shelf), base_url="http://localhost")
    finally:
        cons.stop()


def test_single_and_batch(live_client: TestClient) -> None:
    r = live_client.post("/events", json={"user_id": "u1", "type": "click", "item_id": "p5"}, params={"wait_ms": 1000})
    assert r.status_code == 200
    assert r.json() == {
        "accepted": 1,
        "duplicates": 0,
        "stored": 1,
        "rejected": 0,
        "conflicts": 0,
        "first_seq": 1,
        "last_seq": 1,
        "applied": True,
        "errors": [],
    }
    batch = [
        {"user_id": "u2", "type": "view", "item_id": "p1", "timestamp": 1700000000},
        {"user_id": "u2", "type": "view", "item_id": "zzz"},
        {"user_id": "u2", "type": "purchase", "item_id": "p3", "session_id": "s9"},
        {"user_id": "u2", "type": "query", "query": "belt"},
        {"type": "view", "item_id": "p3"},
    ]
    body = live_client.post("/events", json=batch, params={"wait_ms": 1000}).json()
    assert body["accepted"] == 3 and body["rejected"] == 2 and (body["first_seq"], body["last_seq"]) == (2, 4)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "item_id"), (4, "user_id")]
    stats = live_client.get("/events/stats").json()
    assert stats["events"] == 4 and stats["applied_seq"] == 4 and stats["lag"] == 0 and stats["consumer_running"]


def test_rejections(live_client: TestClient, tiny_catalog: Catalog) -> None:
    r = live_client.post("/events", json=[{"user_id": "u", "type": "nap", "item_id": "p1"}])
    assert r.status_code == 422 and "type" in r.text and "nap" in r.text
    assert live_client.post("/events", json=[]).status_code == 422
    assert (
        live_client.post(
            "/events", json={"user_id": "u", "type": "view", "item_id": "p1"}, params={"wait_ms": 99999}
        ).status_code
        == 422
    )
    assert live_client.get("/events/stats").json()["events"] == 0


def test_no_consumer_is_503(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    c = TestClient(create_app(Shelf(catalog=tiny_catalog, searcher=tiny_searcher)), base_url="http://localhost")
    r = c.post("/events", json={"user_id": "u", "type": "view", "item_id": "p1"})
    assert r.status_code == 503 and r.headers["X-Shelfwise-Error"] == "no-event-log"


def test_event_reflected_in_personalised_search(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    searcher = HybridSearcher(
        tiny_catalog,
        tiny_searcher.encoder,
        SearchConfig(personal_weight=1.0),
        tiny_searcher.lexical,
        tiny_searcher.dense.index,
    )
    shelf = Shelf(catalog=tiny_catalog, searcher=searcher)
    cons = enable_live(shelf, EventStore(tmp_path / "e.sqlite"), explore_share=0).consumer
    try:
        c = TestClient(create_app(shelf), base_url="http://localhost")
        q = {"q": "black", "user": "shopper", "k": 4}
        before = [it["id"] for it in c.get("/search", params=q).json()["items"]]
        target = before[-1]
        c.post("/events", json={"user_id": "shopper", "type": "purchase", "item_id": target}, params={"wait_ms": 1000})
        after = [it["id"] for it in c.get("/search", params=q).json()["items"]]
        assert after[0] == target != before[0]
    finally:
        cons.stop()


def test_far_future_timestamp_rejected_and_drops_in_stats(live_client: TestClient) -> None:
    future = time.time() + 3 * 86400
    batch = [
        {"user_id": "u", "type": "view", "item_id": "p1"},
        {"user_id": "u", "type": "view", "item_id": "p2", "timestamp": future},
    ]
    body = live_client.post("/events", json=batch, params={"wait_ms": 1000}).json()
    assert (
        body["accepted"] == 1
        and body["applied"]
        and [(e["index"], e["field"]) for e in body["errors"]] == [(1, "timestamp")]
    )
    r = live_client.post("/events", json=batch[1:])
    assert r.status_code == 422 and "ahead of the server clock" in r.text
    stats = live_client.get("/events/stats").json()
    assert stats["events"] == 1 and stats["events_dropped"] == {} and stats["target_errors"] == 0


def test_timestamp_before_1970_is_a_422_naming_the_row_and_field(live_client: TestClient) -> None:
    """POST /events parses rows with the events loader's row parser: a negative time is refused."""
    ok = {"user_id": "u", "type": "view", "item_id": "p1", "timestamp": 1700000000}
    r = live_client.post("/events", json=[{**ok, "timestamp": -86400}])
    assert r.status_code == 422
    (err,) = r.json()["detail"]["errors"]
    assert err["index"] == 0 and err["field"] == "timestamp" and "before 1970-01-01" in err["message"]
    body = live_client.post("/events", json=[ok, {**ok, "timestamp": "1969-07-20T20:17:00Z"}]).json()
    assert body["accepted"] == 1 and [(e["index"], e["field"]) for e in body["errors"]] == [(1, "timestamp")]


def test_wrapped_batch_and_non_json_body_get_clear_errors(live_client: TestClient) -> None:
    ev = {"user_id": "u1", "type": "click", "item_id": "p5", "event_id": "e-1"}
    r = live_client.post("/events", json={"events": [ev]})
    assert r.status_code == 422
    err = r.json()["detail"]["errors"][0]
    assert err["field"] == "events" and "a JSON array of events" in err["message"]
    r = live_client.post("/events", json=[{**ev, "colour": "red"}])
    assert r.status_code == 422
    err = r.json()["detail"]["errors"][0]
    assert err["field"] == "colour" and "'event_id'" in err["message"]  # event_id is a known field
    r = live_client.post(
        "/events",
        content=b'[{"user_id": "u1", "type": "click", "item_id": "p5"}]',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert live_client.get("/events/stats").json()["events"] == 0


def test_documented_batch_example_stores_every_event(live_client: TestClient) -> None:
    """The OpenAPI batch example sent a click and a purchase under one event_id: copied as is, the
    purchase was dropped as a retry of the click (stored 1, duplicates 1)."""
    body = live_client.get("/openapi.json").json()["paths"]["/events"]["post"]["requestBody"]
    batch = body["content"]["application/json"]["schema"]["examples"][1]
    assert len({e["event_id"] for e in batch}) == len(batch) > 1
    sent = [{**e, "item_id": "p5"} for e in batch]  # the example's id is not in the tiny catalog
    out = live_client.post("/events", json=sent).json()
    assert out["stored"] == len(batch) and out["duplicates"] == 0


def test_request_id_is_stored_and_a_bad_one_is_a_422_naming_the_field(live_client: TestClient, tmp_path: Path) -> None:
    rid = "0123456789abcdef0123456789abcdef"
    ok = live_client.post("/events", json={"user_id": "u", "type": "click", "item_id": "p1", "request_id": rid})
    assert ok.status_code == 200 and ok.json()["stored"] == 1
    for bad in ("not an id", "x" * 65, ["a"]):
        r = live_client.post("/events", json={"user_id": "u", "type": "click", "item_id": "p1", "request_id": bad})
        assert r.status_code == 422, bad
        assert [e["field"] for e in r.json()["detail"]["errors"]] == ["request_id"]
    assert [e.request_id for _, e in EventStore(tmp_path / "ev.sqlite", read_only=True).read()] == [rid]
