"""The OpenAPI schema documents what routes take and answer: parameters, fields, error statuses."""

from __future__ import annotations

import json
import re
from typing import Any

from _servekit import KEY, MakeClient

from shelfwise.serve.config import ServeConfig


def test_error_statuses_a_route_answers_are_documented(make_client: MakeClient) -> None:
    """Only 200 and 422 were documented: an integrator generating a client from /openapi.json had no
    404 (unknown item id), 401 / 403 (writes without a key), 413 / 415 (events body) or 503 (no
    recommender, no event log, overload) to handle, and the /events 422 body differs from FastAPI's."""
    c = make_client(ServeConfig(api_keys=(KEY,)))
    spec = c.get("/openapi.json").json()
    paths = spec["paths"]
    expect = {
        ("/items/{item_id}", "get"): {"404"},
        ("/recommend/item/{item_id}", "get"): {"404", "503"},
        ("/recommend/cross/{item_id}", "get"): {"404", "503"},
        ("/recommend/session", "get"): {"503"},  # unknown session items are left out, with a notice
        ("/recommend/user/{user_id}", "get"): {"503"},
        ("/search", "get"): {"503"},
        ("/events", "post"): {"401", "403", "413", "415", "503"},
        ("/events/stats", "get"): {"503"},
        ("/admin/reload", "post"): {"401", "403", "409"},
    }
    for (path, method), statuses in expect.items():
        documented = set(paths[path][method]["responses"])
        assert statuses <= documented, (path, statuses - documented)
    error = spec["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["detail"] and error["properties"]["detail"]["type"] == "string"
    # the documented shapes are the ones answered
    assert set(c.get("/items/nope").json()) == {"detail"} and isinstance(c.get("/items/nope").json()["detail"], str)
    assert isinstance(c.post("/events", json={"user_id": "u1", "type": "click", "item_id": "p5"}).json()["detail"], str)
    rejected = paths["/events"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    shape = c.post("/events", json=[{"type": "click"}], headers={"X-API-Key": KEY}).json()["detail"]
    assert set(shape) == {"message", "errors"} and rejected["$ref"].endswith("/EventsRejected")


def test_event_answer_fields_are_described(make_client: MakeClient) -> None:
    """What ``accepted`` counts (duplicates included) and that bad rows do not stop good ones was in
    code comments only, not in the schema an integrator reads."""
    fields = make_client().get("/openapi.json").json()["components"]["schemas"]["EventsAccepted"]["properties"]
    assert all(f.get("description") for f in fields.values()), [
        n for n, f in fields.items() if not f.get("description")
    ]
    assert "duplicates" in fields["accepted"]["description"]


def test_health_and_event_stats_fields_are_described(make_client: MakeClient) -> None:
    """/health's events_applied is a sequence number, /events/stats' a count: the same name, told
    apart only by the schema's descriptions, which /events/stats lacked."""
    schemas = make_client().get("/openapi.json").json()["components"]["schemas"]
    for name in ("EventStats", "HealthResponse"):
        fields = schemas[name]["properties"]
        assert all(f.get("description") for f in fields.values()), (
            name,
            [n for n, f in fields.items() if not f.get("description")],
        )
    assert "count" in schemas["EventStats"]["properties"]["events_applied"]["description"]
    assert "sequence number" in schemas["HealthResponse"]["properties"]["events_applied"]["description"]


def test_every_parameter_is_described(make_client: MakeClient) -> None:
    """k, mode, brand, price_min / price_max, in_stock, exclude_seen and the path ids had no
    description on /docs (is brand repeatable? are the price bounds inclusive?)."""
    paths = make_client().get("/openapi.json").json()["paths"]
    missing = [
        (method, path, p["name"])
        for path, ops in paths.items()
        for method, op in ops.items()
        for p in op.get("parameters", [])
        if not p.get("description")
    ]
    assert missing == []


def test_documented_notice_codes_are_every_code(make_client: MakeClient) -> None:
    """SearchResponse.notice_codes listed 8 codes; no-word-match, which /search answers (the
    storefront acts on it), was not among them."""
    from shelfwise import notice

    codes = {v for k, v in vars(notice).items() if k.isupper() and isinstance(v, str)}
    schemas = make_client().get("/openapi.json").json()["components"]["schemas"]
    said = schemas["SearchResponse"]["properties"]["notice_codes"]["description"]
    recommend_only = {notice.NO_RESULTS, notice.SHORT_LIST, notice.TEXT_ONLY, notice.UNKNOWN_ITEMS}
    search_codes = codes - recommend_only
    assert all(c in said for c in search_codes), [c for c in search_codes if c not in said]


def test_answer_fields_are_described(make_client: MakeClient) -> None:
    """score (an LTR score may be negative; comparable within one answer only), took_ms, kind and id
    had no description."""
    schemas = make_client().get("/openapi.json").json()["components"]["schemas"]
    for name in ("SearchResponse", "ItemOut", "ProductOut", "RecommendResponse", "SuggestResponse", "SuggestionOut"):
        fields = schemas[name]["properties"]
        assert all(f.get("description") for f in fields.values()), (
            name,
            [n for n, f in fields.items() if not f.get("description")],
        )
    assert "within one" in schemas["ItemOut"]["properties"]["score"]["description"]


# FastAPI's own 422 models; /events' answers (routes/events.py, changed in parallel this session) and the
# valuation summary (stdlib dataclasses of shelfwise.valuation) are not covered yet
NOT_COVERED = {"HTTPValidationError", "ValidationError", "EventsAccepted", "EventsRejected", "RejectedBatch"}
NOT_COVERED |= {"RowErrorOut", "EventStats", "ValuationSummary", "ValuationOut", "RemovalCurveOut"}


def _answered_models(spec: dict[str, Any]) -> set[str]:
    """Every component schema a route's answer reaches, through nested references."""
    schemas = spec["components"]["schemas"]
    seen: set[str] = set()
    todo = [json.dumps(op["responses"]) for ops in spec["paths"].values() for op in ops.values()]
    while todo:
        for name in re.findall(r'"#/components/schemas/(\w+)"', todo.pop()):
            if name not in seen:
                seen.add(name)
                todo.append(json.dumps(schemas[name]))
    return seen


def test_every_answered_field_has_a_description_and_an_example(make_client: MakeClient) -> None:
    """FieldMatchOut, FacetValueOut, PriceRangeOut, ShopperOut, ReloadResult and others had fields with
    no description, and no field of any answer had an example on /docs or in /openapi.json."""
    spec = make_client().get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    models = _answered_models(spec) - NOT_COVERED
    assert {"SearchResponse", "ItemOut", "RecommendResponse", "ErrorOut", "ReloadResult", "ShoppersResponse"} <= models
    bare = [
        (m, f, what)
        for m in sorted(models)
        for f, prop in schemas[m].get("properties", {}).items()
        for what in ("description", "examples")
        if not prop.get(what)
    ]
    assert bare == []
    assert all(schemas[m].get("examples") for m in models), [m for m in models if not schemas[m].get("examples")]


def test_operation_ids_are_unique(make_client: MakeClient) -> None:
    """GET and HEAD /health shared one operationId (FastAPI warned 'Duplicate Operation ID'): OpenAPI
    requires them unique, and a client generator names its methods by them."""
    paths = make_client().get("/openapi.json").json()["paths"]
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert {"get", "head"} <= set(paths["/health"])
