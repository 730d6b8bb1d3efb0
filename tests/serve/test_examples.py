"""The schema examples are answers the models accept, naming every field (they cannot drift)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import BaseModel

from shelfwise.catalog import Catalog
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf


def model_examples(model: type[BaseModel]) -> dict[str, object]:
    """The example the model declares, each field named (FastAPI leaves the null ones out of the schema)."""
    from shelfwise.serve import examples

    found = [v for v in vars(examples).values() if isinstance(v, dict) and set(v) == set(model.model_fields)]
    assert found, model
    return found[0]


def test_each_models_example_is_a_valid_whole_answer(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    from shelfwise.serve.error_docs import ErrorOut
    from shelfwise.serve.fleet import FleetWait, WorkerSwap
    from shelfwise.serve.reload import ReloadResult
    from shelfwise.serve.routes.recommend import RecommendResponse
    from shelfwise.serve.routes.store import ShopperOut, ShoppersResponse
    from shelfwise.serve.schemas import SearchResponse

    spec = TestClient(
        create_app(Shelf(catalog=tiny_catalog, searcher=tiny_searcher), warmup=False), base_url="http://localhost"
    ).get("/openapi.json")
    schemas = spec.json()["components"]["schemas"]
    for model in (ErrorOut, FleetWait, WorkerSwap, ReloadResult, RecommendResponse, ShopperOut, ShoppersResponse):
        (example,) = schemas[model.__name__]["examples"]
        assert set(example) == {f for f, v in model_examples(model).items() if v is not None}, model
        model.model_validate(example)
    (search,) = schemas["SearchResponse"]["examples"]
    got = SearchResponse.model_validate(search)
    assert set(search) == set(SearchResponse.model_fields) and got.items[0].variants
    for name in ("ItemOut", "ProductOut", "VariantOut", "FacetsOut", "UnderstoodOut", "HealthResponse"):
        (example,) = schemas[name]["examples"]
        assert set(example) == {f for f, p in schemas[name]["properties"].items() if p["examples"] != [None]}, name
