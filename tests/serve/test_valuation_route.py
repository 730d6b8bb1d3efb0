"""GET /valuation/summary serves the last written report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf
from shelfwise.valuation import Values
from shelfwise.valuation.removal import RemovalCurve
from shelfwise.valuation.report import SUMMARY_FILE, ValuationReport


def test_valuation_summary_route(tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher, events=None)
    c = TestClient(create_app(shelf), base_url="http://localhost")
    assert c.get("/valuation/summary").status_code == 404
    rep = ValuationReport("tiny")
    rep.values["groups: loo"] = Values("loo", "group", ("a", "b"), np.array([0.2, -0.1]))
    rep.write(tmp_path / "rep")
    shelf.valuation_report = tmp_path / "rep"
    body = c.get("/valuation/summary").json()
    assert body["title"] == "tiny"
    assert body["values"]["groups: loo"]["least_valuable"][0][0] == "b"


def test_valuation_summary_is_typed_and_keeps_the_json_shape(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher, events=None, valuation_report=tmp_path / "rep")
    c = TestClient(create_app(shelf), base_url="http://localhost")
    rep = ValuationReport("tiny", metrics={"noise precision": 0.5}, notes=["made up"])
    rep.values["groups: loo"] = Values("loo", "group", ("a", "b"), np.array([0.2, -0.1]), info={"k": 3.0})
    f = np.array([0.0, 0.5])
    rep.curves["groups: loo"] = RemovalCurve(f, f + 1, f + 2, f + 3, f, "loo")
    rep.write(tmp_path / "rep")
    body = c.get("/valuation/summary").json()
    written = json.loads((tmp_path / "rep" / SUMMARY_FILE).read_text())
    assert body == written  # same JSON as summary.json: no key added or dropped
    schema = c.get("/openapi.json").json()
    ok = schema["paths"]["/valuation/summary"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ValuationSummary"}
    (tmp_path / "rep" / SUMMARY_FILE).write_text('{"title": 3}')
    bad = c.get("/valuation/summary")
    assert (
        bad.status_code == 404
        and "not a valuation summary: title: expected a string, got a number" in bad.json()["detail"]
    )
