"""Byte limits (413 body, 422 per text field, named), the two former 500s (400-digit timestamp,
lone surrogate), and idempotent POST /events by event_id, across a restart too."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from _servekit import MakeClient

from shelfwise.serve.config import Limits, ServeConfig

EVENT = {"user_id": "u1", "type": "view", "item_id": "p1"}
JSON = {"content-type": "application/json"}


def _fields(r: object) -> list[tuple[int, str]]:
    body = r.json()["detail"]  # type: ignore[attr-defined]
    return [(e["index"], e["field"]) for e in body["errors"]]


def test_body_over_limit_is_413_declared_or_streamed(make_client: MakeClient) -> None:
    c = make_client(ServeConfig(limits=Limits(max_body_bytes=2000)))
    big = [EVENT] * 100  # ~5 kB of JSON
    r = c.post("/events", json=big)
    assert r.status_code == 413 and "2000 bytes" in r.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield b"["
        for _ in range(100):
            yield b'{"user_id": "u1", "type": "view", "item_id": "p1"},'
        yield b"{}]"

    assert c.post("/events", content=chunks(), headers=JSON).status_code == 413
    assert c.post("/events", json=[EVENT] * 10).status_code == 200  # under the limit: fine
    assert c.get("/events/stats").json()["events"] == 10


def test_default_body_limit_is_one_megabyte(make_client: MakeClient) -> None:
    c = make_client()
    assert c.post("/events", content=b" " * 1_000_001, headers=JSON).status_code == 413
    assert c.post("/events", content=b"x" * 10, headers={**JSON, "content-length": "abc"}).status_code == 400


@pytest.mark.parametrize("field", ["user_id", "item_id", "session_id", "type", "timestamp", "event_id"])
def test_each_id_field_is_bounded(make_client: MakeClient, field: str) -> None:
    c = make_client()
    row = {**EVENT, field: "x" * 257}
    r = c.post("/events", json=[row, EVENT])
    assert (
        r.status_code == 200
        and r.json()["accepted"] == 1
        and [(e["index"], e["field"]) for e in r.json()["errors"]] == [(0, field)]
    )
    assert "257 bytes" in r.json()["errors"][0]["message"]
    single = c.post("/events", json=row)
    assert single.status_code == 422 and _fields(single) == [(0, field)]


def test_query_field_limit_and_utf8_bytes(make_client: MakeClient) -> None:
    c = make_client(ServeConfig(limits=Limits(max_query_bytes=30, max_id_bytes=12)))
    ok = {"user_id": "u", "type": "query", "query": "x" * 30}
    assert c.post("/events", json=ok).status_code == 200
    r = c.post("/events", json={**ok, "query": "x" * 31})
    assert r.status_code == 422 and _fields(r) == [(0, "query")]
    r = c.post("/events", json={**EVENT, "user_id": "黑色黑色黑"})  # 5 characters, 15 UTF-8 bytes
    assert r.status_code == 422 and _fields(r) == [(0, "user_id")]
    r = c.post("/events", json={**EVENT, "user_id": 10**12})  # 13 digits
    assert r.status_code == 422 and _fields(r) == [(0, "user_id")]


def test_query_and_path_parameters_bounded(make_client: MakeClient) -> None:
    c = make_client()
    r = c.get("/search", params={"q": "x" * 1025})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "q"]
    assert c.get("/search", params={"q": "black", "user": "u" * 257}).json()["detail"][0]["loc"] == ["query", "user"]
    assert c.get("/search", params={"q": "black", "brand": "b" * 300}).status_code == 422
    r = c.get("/recommend/item/" + "p" * 300)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "item_id"]
    r = c.get("/recommend/session", params={"item": "i" * 300})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "item"]
    assert c.get("/search", params={"q": "black", "u" * 300: "1"}).status_code == 422  # long parameter name
    assert c.get("/search", params={"q": "black"}).status_code == 200


def test_huge_integer_timestamp_is_422_not_500(make_client: MakeClient) -> None:
    c = make_client()
    r = c.post("/events", json={**EVENT, "timestamp": int("9" * 400)})
    assert r.status_code == 422 and _fields(r) == [(0, "timestamp")]
    r = c.post("/events", json={**EVENT, "timestamp": -int("9" * 400)})
    assert r.status_code == 422
    r = c.post(
        "/events", content=b'{"user_id": "u", "type": "view", "item_id": "p1", "timestamp": 1e400}', headers=JSON
    )
    assert r.status_code == 422 and _fields(r) == [(0, "timestamp")]


@pytest.mark.parametrize("field", ["user_id", "item_id", "session_id", "query", "type", "timestamp", "event_id"])
def test_lone_surrogate_is_422_not_500(make_client: MakeClient, field: str) -> None:
    c = make_client()
    row = {**EVENT, field: "SURROGATE"}
    body = json.dumps(row).replace("SURROGATE", "a\\ud800b").encode()  # JSON escape of a lone surrogate
    r = c.post("/events", content=body, headers=JSON)
    assert r.status_code == 422 and _fields(r) == [(0, field)] and "surrogate" in r.text
    assert c.get("/events/stats").json()["events"] == 0


def test_lone_surrogate_in_field_name_is_422(make_client: MakeClient) -> None:
    c = make_client()
    r = c.post("/events", content=b'{"user_id": "u", "type": "view", "item_id": "p1", "x\\udc80": 1}', headers=JSON)
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["index"] == 0


def test_batch_limit_configurable(make_client: MakeClient) -> None:
    c = make_client(ServeConfig(limits=Limits(max_batch=3)))
    assert c.post("/events", json=[EVENT] * 4).status_code == 413
    assert c.post("/events", json=[EVENT] * 3).status_code == 200


def test_limits_validated() -> None:
    with pytest.raises(ValueError, match="max_id_bytes"):
        Limits(max_id_bytes=0)
    with pytest.raises(ValueError, match="max_body_bytes"):
        Limits(max_body_bytes=True)
    assert Limits().for_field("q") == 1024 and Limits().for_field("user_id") == 256


def test_event_id_makes_posts_idempotent(make_client: MakeClient) -> None:
    c = make_client()
    batch = [{**EVENT, "event_id": "e1"}, {**EVENT, "item_id": "p2", "event_id": "e2"}, EVENT]
    first = c.post("/events", json=batch, params={"wait_ms": 1000}).json()
    assert (first["accepted"], first["duplicates"], first["first_seq"], first["last_seq"]) == (3, 0, 1, 3)
    again = c.post("/events", json=batch, params={"wait_ms": 1000}).json()  # a client retry
    # the two ids are stored already; the row without an id is new (no id, no dedupe)
    assert (again["accepted"], again["duplicates"], again["first_seq"], again["last_seq"]) == (3, 2, 4, 4)
    assert again["applied"]
    dup_in_batch = c.post("/events", json=[{**EVENT, "event_id": "e3"}, {**EVENT, "event_id": "e3"}]).json()
    assert dup_in_batch["accepted"] == 2 and dup_in_batch["duplicates"] == 1
    assert c.get("/events/stats").json()["events"] == 5
    resent = c.post("/events", json={**EVENT, "event_id": "e1"}).json()  # nothing new: says so in one field
    assert (resent["accepted"], resent["duplicates"], resent["stored"]) == (1, 1, 0)
    assert (again["stored"], dup_in_batch["stored"]) == (1, 1)
    bad = c.post("/events", json=[{**EVENT, "event_id": ""}, {**EVENT, "event_id": [1]}])
    assert bad.status_code == 422 and _fields(bad) == [(0, "event_id"), (1, "event_id")]


def test_a_reused_event_id_is_rejected_not_counted_as_a_duplicate(make_client: MakeClient) -> None:
    c = make_client()
    first = c.post("/events", json=[{**EVENT, "event_id": "o1", "timestamp": 1700000000}, {**EVENT, "event_id": "o2"}])
    assert first.json()["stored"] == 2 and first.json()["conflicts"] == 0
    batch = [
        {**EVENT, "event_id": "o1", "timestamp": 1700000000},  # a retry: the same event
        {**EVENT, "event_id": "o2"},  # a retry without a timestamp (the server's clock fills it in again)
        {**EVENT, "event_id": "o1", "item_id": "p2", "type": "purchase", "timestamp": 1700000000},  # reused
        {**EVENT, "event_id": "o3", "item_id": "p2"},  # new
    ]
    out = c.post("/events", json=batch).json()
    assert (out["accepted"], out["duplicates"], out["stored"], out["conflicts"], out["rejected"]) == (3, 2, 1, 1, 1)
    (err,) = out["errors"]
    assert (err["index"], err["field"]) == (2, "event_id")
    assert (
        "'o1'" in err["message"] and "sequence number 1" in err["message"] and "item_id, type differ" in err["message"]
    )
    assert c.get("/events/stats").json()["events"] == 3
    alone = c.post("/events", json={**EVENT, "event_id": "o3", "user_id": "u9"})  # one event, a reused id: 422
    assert alone.status_code == 422 and _fields(alone) == [(0, "event_id")]
    assert "user_id, item_id differ" in alone.json()["detail"]["errors"][0]["message"]


def test_event_id_dedupe_survives_restart(make_client: MakeClient) -> None:
    c1 = make_client(db="shared.sqlite")
    assert c1.post("/events", json={**EVENT, "event_id": "order-7"}).json()["duplicates"] == 0
    c2 = make_client(db="shared.sqlite")  # a new server process on the same log
    r = c2.post("/events", json={**EVENT, "event_id": "order-7"}, params={"wait_ms": 1000}).json()
    assert r["duplicates"] == 1 and r["accepted"] == 1 and r["applied"]
    assert c2.get("/events/stats").json()["events"] == 1
