"""App-wide request dependencies (:mod:`shelfwise.serve.deps`): a query parameter the route does not
read is refused, naming it and what the route takes."""

from __future__ import annotations

from _servekit import MakeClient


def test_unknown_query_parameter_is_422_naming_it(make_client: MakeClient) -> None:
    c = make_client()
    # was 200 with unfiltered results, read as if filtered by colour
    r = c.get("/search", params={"q": "trousers", "color": "red"})
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["query", "color"]
    assert "unknown parameter" in detail["msg"] and "attr" in detail["msg"] and "price_max" in detail["msg"]
    # the session route's items are `item`: `items` answered popular items
    r = c.get("/recommend/session", params={"items": "p1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "items"]
    r = c.get("/recommend/user/u1", params={"k": 2, "exclude": "p1"})
    assert r.status_code == 422 and "exclude_seen" in r.json()["detail"][0]["msg"]


def test_declared_parameters_and_pages_still_answer(make_client: MakeClient) -> None:
    c = make_client()
    ok = {"q": "trousers", "k": 3, "attr": "colour:Black", "explain": "true", "facets": "true", "user": "u1"}
    assert c.get("/search", params=ok).status_code == 200
    r = c.get("/recommend/session", params={"item": "p1", "k": 2})  # past the check: no recommender here
    assert r.status_code == 503 and "no recommender" in r.json()["detail"]
    assert r.headers["X-Shelfwise-Error"] == "no-recommender"  # what a client acts on, not the operator's text
    # the storefront page keeps its own state in its URL: not an API route, not checked
    assert c.get("/", params={"q": "trousers", "category": "Men"}).status_code == 200
    assert c.get("/items/p1").status_code == 200
    # a route that reads no query parameter has nothing to misread: a probe's cache buster passes
    assert c.get("/health", params={"_": "1700000000"}).status_code == 200
