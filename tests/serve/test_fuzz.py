"""Property: no request answers 5xx. A seeded generator walks the app's own OpenAPI schema (every
route, every parameter) and fills parameters and event bodies with hostile values: huge and
negative numbers, NaN/inf text, long and multi-byte text, lone surrogates in JSON, wrong types,
nested junk. ~400 requests, a few seconds; ``SHELFWISE_FUZZ_N`` / ``SHELFWISE_FUZZ_SEED`` run more.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from _servekit import LOCAL
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.events import EventLog, EventStore
from shelfwise.recommend import build_recommender
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf, enable_live

N = int(os.environ.get("SHELFWISE_FUZZ_N", "400"))
SEED = int(os.environ.get("SHELFWISE_FUZZ_SEED", "10"))

TEXTS = ["", " ", "p1", "p3", "u1", "black", "Men > Trousers", "colour:Black", "黑色裤子", "😀" * 70, "x" * 300]
TEXTS += ["x" * 1100, "a:b:c", ">", "%00", "\x00", "\n", "' OR 1=1 --", "../../etc/passwd", "nan", "-inf", "1e400"]
NUMBERS: list[Any] = [0, -1, 1, 7, 200, 201, 5000, 5001, 10**20, -(10**20), int("9" * 400), 0.5, -0.0, 1e308]
JSON_ATOMS = [
    '"\\ud800"',
    '"a\\udfffb"',
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "9" * 400,
    "-" + "9" * 300,
    "true",
    "null",
]
FIELDS = ["user_id", "item_id", "type", "timestamp", "session_id", "query", "event_id"]
PLAUSIBLE: dict[str, list[Any]] = {
    "string": ["p1", "p3", "p6", "u1", "newbie", "black", "dress", "Men", "Women > Dresses", "colour:Black"],
    "user_id": ["u1", "u2", "shopper"],
    "item_id": [f"p{i}" for i in range(1, 13)],
    "type": ["view", "click", "cart", "purchase", "query"],
    "timestamp": [1_700_000_000, 1_700_000_000_000, "2024-05-01T10:00:00Z", 3.5],
    "session_id": ["s1", "s2"],
    "query": ["black trousers", "连衣裙"],
    "event_id": ["e1", "e2", 42],
    # query and path parameters
    "q": ["black", "dress", "黑色", "belt"],
    "attr": ["colour:Black", "colour:Red"],
    "category": ["Men", "Women > Dresses"],
    "brand": ["Acme", "Flora"],
    "user": ["u1", "u2", "newbie"],
    "item": [f"p{i}" for i in range(1, 13)],
}


@pytest.fixture
def client(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> Iterator[TestClient]:
    rec = build_recommender(tiny_catalog, tiny_log, tiny_searcher.item_vectors)
    shelf = Shelf(tiny_catalog, tiny_searcher, tiny_log, recommender=rec, user_profiles=rec.profiles)
    cons = enable_live(shelf, EventStore(tmp_path / "fuzz.sqlite"), explore_share=0.2).consumer
    try:
        yield TestClient(create_app(shelf, warmup=False), base_url=LOCAL)
    finally:
        cons.stop()


def _value(rng: random.Random, name: str, schema: dict[str, Any], hostile: float) -> Any:
    """A value the route accepts, or with probability ``hostile`` a hostile one (maybe of the wrong type)."""
    kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
    sane = rng.random() >= hostile
    if not sane and rng.random() < 0.3:
        return rng.choice(TEXTS + NUMBERS)
    if "array" in kinds:
        return [_value(rng, name, {"type": "string"}, hostile) for _ in range(rng.randint(0, 4))]
    if "integer" in kinds or "number" in kinds:
        return rng.randint(1, 20) if sane else rng.choice(NUMBERS)
    if "boolean" in kinds:
        return rng.choice([True, False] if sane else ["yes", "0", "maybe"])
    pattern = schema.get("pattern", "")
    if sane and pattern.startswith("^(") and pattern.endswith(")$"):
        return rng.choice(pattern[2:-2].split("|"))
    return rng.choice(PLAUSIBLE.get(name, PLAUSIBLE["string"]) if sane else TEXTS)


def _event_body(rng: random.Random, hostile: float) -> bytes:
    """A JSON body as text, so it can hold what Python's json.dumps will not write (lone surrogates)."""

    def atom(name: str = "") -> str:
        if name in PLAUSIBLE and rng.random() >= hostile:
            return json.dumps(rng.choice(PLAUSIBLE[name]), ensure_ascii=False)
        r = rng.random()
        if r < 0.35:
            return rng.choice(JSON_ATOMS)
        if r < 0.7:
            return json.dumps(rng.choice([*TEXTS, "view", "purchase", "query", "p2", "p5"]))
        if r < 0.85:
            return json.dumps(rng.choice(NUMBERS))
        return rng.choice(["[]", "{}", '[["x"]]', '{"a": {"b": []}}'])

    def row() -> str:
        if rng.random() < hostile / 5:
            return atom()
        keys = ["user_id", "type", "item_id"] if rng.random() >= hostile / 2 else []
        keys += rng.sample(FIELDS[3:], rng.randint(0, 4)) + (["bogus"] if rng.random() < hostile / 5 else [])
        return "{" + ", ".join(f'"{k}": {atom(k)}' for k in keys) + "}"

    n = rng.choice([1, 1, 2, 5])
    text = row() if rng.random() < 0.3 else "[" + ", ".join(row() for _ in range(n)) + "]"
    if rng.random() < hostile / 10:
        text = text[: rng.randint(0, len(text))]  # truncated JSON
    return text.encode("utf-8")


def _operations(client: TestClient) -> list[tuple[str, str, list[dict[str, Any]]]]:
    ops = []
    for path, item in client.get("/openapi.json").json()["paths"].items():
        for method, op in item.items():
            ops.append((method.upper(), path, op.get("parameters", [])))
    return ops


def test_no_request_answers_5xx(client: TestClient) -> None:
    rng = random.Random(SEED)
    ops = _operations(client)
    assert {p for _, p, _ in ops} >= {"/search", "/events", "/health", "/recommend/user/{user_id}"}
    failures: list[str] = []
    for i in range(N):
        method, path, params = ops[i % len(ops)]
        hostile = rng.choice([0.0, 0.0, 0.1, 0.3, 0.6])  # a share of requests the route should accept
        url, query = path, []
        for p in params:
            if p["in"] == "path":
                url = url.replace(
                    "{" + p["name"] + "}", quote(str(_value(rng, p["name"], p.get("schema", {}), hostile)), safe="")
                )
            elif p["in"] == "query" and (p.get("required") or rng.random() < 0.6):
                v = _value(rng, p["name"], p.get("schema", {}), hostile)
                query += [(p["name"], str(x)) for x in (v if isinstance(v, list) else [v])]
        if rng.random() < hostile / 3:
            query.append(("unexpected", rng.choice(TEXTS)))
        if method == "POST":
            r = client.post(
                url, params=query, content=_event_body(rng, hostile), headers={"content-type": "application/json"}
            )
        else:
            r = client.request(method, url, params=query)
        if r.status_code >= 500:
            failures.append(f"{method} {url} {query} -> {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures[:10])
