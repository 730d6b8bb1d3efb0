"""GET /valuation/summary serves the last written report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf
from shelfwise.valuation import Values
from shelfwise.valuation.report import ValuationReport


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
