"""HEAD wherever GET works (RFC 9110 9.3.2): load balancers and uptime checkers probe with HEAD.

The GET routes are read from the app's own route table, so a GET route added later is covered
without touching this file (a new path or required query parameter needs an example below)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from _servekit import LOCAL, MakeClient
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.serve.config import ServeConfig
from shelfwise.serve.routes import search as search_route
from shelfwise.shelf import Shelf
from tiny_products import PRODUCTS

PATH_EXAMPLES = {"user_id": "u1", "item_id": "p1"}
NAME_EXAMPLES = {"/static/{name}": "store.css", "/docs-assets/{name}": "swagger-ui.css"}
QUERY_EXAMPLES = {"q": "dress"}
TOOK_MS_SLACK = 4  # took_ms, rounded to 0.001 ms: "0.3" to "123.456"
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _route_table_app() -> FastAPI:
    """An app over the tiny catalog, only to read its route table at collection time."""
    cat = Catalog(
        [
            Product(id=i, title=t, description=d, category=c, brand=b, price=p, attributes={"colour": col})
            for i, t, d, c, b, p, col in PRODUCTS
        ]
    )
    return create_app(Shelf(cat, HybridSearcher.build(cat, HashingEncoder(dim=32))), warmup=False)


def _get_requests() -> list[tuple[str, dict[str, str]]]:
    """(concrete path, required query parameters) of every GET route, examples filled in."""
    out: list[tuple[str, dict[str, str]]] = []
    for route in iter_route_contexts(_route_table_app().routes):
        if "GET" not in (route.methods or set()) or route.path is None:
            continue
        template = str(route.path)

        def fill(m: re.Match[str], template: str = template) -> str:
            name = m.group(1)
            value = NAME_EXAMPLES.get(template) if name == "name" else PATH_EXAMPLES.get(name)
            if value is None:
                raise KeyError(f"GET {template}: add an example for its path parameter {name!r} to test_head.py")
            return value

        dependant = getattr(route, "dependant", None)
        required = [q.name for q in dependant.query_params if q.field_info.is_required()] if dependant else []
        missing = [q for q in required if q not in QUERY_EXAMPLES]
        if missing:
            raise KeyError(f"GET {template}: add examples for its required query parameters {missing}")
        out.append((_PARAM.sub(fill, template), {q: QUERY_EXAMPLES[q] for q in required}))
    return out


GET_REQUESTS = _get_requests()


def test_the_route_table_holds_the_routes_named_in_the_issue() -> None:
    paths = {p for p, _ in GET_REQUESTS}
    assert {"/search", "/suggest", "/recommend/user/u1", "/items/p1", "/shoppers", "/events/stats"} <= paths
    assert {"/valuation/summary", "/metrics", "/static/store.css", "/docs", "/health", "/openapi.json"} <= paths


@pytest.mark.parametrize(("path", "params"), GET_REQUESTS, ids=[p for p, _ in GET_REQUESTS])
def test_head_answers_as_get_without_a_body(make_client: MakeClient, path: str, params: dict[str, str]) -> None:
    """HEAD answered 405 on every GET route but /health, /report and /openapi.json."""
    c = make_client()
    before = c.get(path, params=params)
    head = c.head(path, params=params)
    after = c.get(path, params=params)
    assert head.status_code == before.status_code == after.status_code, path
    assert head.content == b""
    assert head.headers.get("content-type") == before.headers.get("content-type")
    assert set(head.headers) == set(before.headers), path
    if "content-length" in before.headers:  # the GET's length: /metrics grows with every request,
        sizes = sorted((len(before.content), len(after.content)))  # and took_ms takes 3-7 characters
        assert sizes[0] - TOOK_MS_SLACK <= int(head.headers["content-length"]) <= sizes[1] + TOOK_MS_SLACK, path


def test_head_runs_the_search_once_and_is_counted_as_head(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = search_route.answer_search

    def counted(*args: object, **kwargs: object) -> object:
        calls.append("search")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(search_route, "answer_search", counted)
    c = make_client()
    assert c.head("/search", params={"q": "black"}).status_code == 200
    assert calls == ["search"]
    metrics = c.get("/metrics").text
    assert 'method="HEAD",route="/search",status="200"} 1' in metrics
    assert 'method="GET",route="/search"' not in metrics


def test_head_keeps_errors_and_guards(make_client: MakeClient) -> None:
    c = make_client()
    missing = c.head("/items/nope")
    assert missing.status_code == 404 and missing.content == b"" and int(missing.headers["content-length"]) > 0
    assert c.head("/search").status_code == 422  # q is required, as for GET
    post_only = c.head("/events")
    assert post_only.status_code == 405 and "POST" in post_only.headers["allow"]
    assert c.head("/no/such/route").status_code == 404
    bad_host = c.head("/search", params={"q": "black"}, headers={"host": "evil.example"})
    assert bad_host.status_code == 400 and bad_host.content == b""
    assert c.head("/search", params={"q": "black", "nope": "1"}).status_code == 422  # unknown parameter


def test_head_carries_cors_headers(make_client: MakeClient) -> None:
    origin = "https://shop.example"
    c = make_client(ServeConfig(cors_origins=(origin,)))
    head = c.head("/search", params={"q": "black"}, headers={"origin": origin})
    assert head.status_code == 200 and head.headers["access-control-allow-origin"] == origin
    asks = {"origin": origin, "access-control-request-method": "HEAD", "access-control-request-headers": "x-api-key"}
    pre = c.options("/search", headers=asks)  # a HEAD that sends a key is preflighted
    assert pre.status_code == 200 and "HEAD" in pre.headers["access-control-allow-methods"]


def test_head_is_logged_as_head(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    c = make_client()
    with caplog.at_level(logging.INFO, logger="shelfwise.access"):
        c.head("/recommend/item/p1")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "shelfwise.access"]
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [("HEAD", "/recommend/item/{item_id}", 200)]


def test_openapi_lists_head_only_where_it_did(make_client: MakeClient) -> None:
    """The middleware answers HEAD; the document keeps one operation per GET (no new duplicate ids)."""
    paths = TestClient(make_client().app, base_url=LOCAL).get("/openapi.json").json()["paths"]
    assert [p for p, ops in paths.items() if "head" in ops] == ["/health"]
