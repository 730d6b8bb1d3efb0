"""Example values for the response models' OpenAPI schemas (transport only): one realistic answer
per model, from the bundled H&M demo shelf, shown on ``/docs`` whole and field by field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

JsonDict = dict[str, Any]


def exemplified(example: Mapping[str, object]) -> Callable[[JsonDict], None]:
    """A model's ``json_schema_extra``: ``example`` as the model's example, and each field's value in
    it as that field's own ``examples`` (so a generated client and ``/docs`` show one per field).
    FastAPI writes the schema without null values: a field whose example is null is left out of the
    model's example (its own ``examples`` keeps the null)."""

    def extra(schema: JsonDict) -> None:
        schema["examples"] = [dict(example)]
        for name, prop in schema.get("properties", {}).items():
            if name in example and "examples" not in prop:
                prop["examples"] = [example[name]]

    return extra


VARIANT: JsonDict = {
    "id": "588335004",
    "label": "Dark Blue · Denim",
    "price": 0.0271,
    "in_stock": True,
    "image": "https://shop.example.com/img/588335004.jpg",
    "matches": False,
}
PRODUCT: JsonDict = {
    "id": "588335001",
    "title": "Joe Jeans",
    "category": ["Menswear", "Garment Lower body", "Trousers"],
    "brand": "",
    "price": 0.0271,
    "attributes": {"colour_group_name": "Black", "graphical_appearance_name": "Denim"},
    "image": "https://shop.example.com/img/588335001.jpg",
    "in_stock": True,
    "description": "5-pocket jeans in washed stretch denim with hard-worn details, a regular waist, zip fly",
    "variants": [VARIANT],
    "variant_label": "Black · Denim",
    "variants_total": 1,
}
ITEM: JsonDict = {
    **PRODUCT,
    "score": 2.450102,
    "reason": "has the query's words; meaning 0.87 (catalog average 0.81); colour group Black, as asked",
    "features": {"bm25": 2.499664, "lexical": 1.0, "cosine": 0.87457},
    "explored": False,
    "highlight": {"title": "Joe <em>Jeans</em>", "description": "5-pocket <em>jeans</em> in washed stretch denim…"},
}
FIELD_MATCH: JsonDict = {"field": "attribute:colour_group_name", "value": "Black", "phrase": "black"}
UNDERSTOOD: JsonDict = {"text": "black jeans", "price_min": None, "price_max": 0.03, "matches": [FIELD_MATCH]}
FACET_VALUE: JsonDict = {"value": "Divided", "count": 55, "selected": False}
PRICE_RANGE: JsonDict = {"min": 0.025, "max": 0.03, "count": 3, "selected": False}
FACETS: JsonDict = {
    "depth": 100,
    "category_path": [],
    "category": [FACET_VALUE],
    "brand": [],
    "price": [PRICE_RANGE],
    "priced": 100,
    "matched": 64,
    "attributes": {"colour_group_name": [{"value": "Black", "count": 64, "selected": False}]},
}
SEARCH: JsonDict = {
    "query": "black jeans under 0.03",
    "mode": "hybrid",
    "took_ms": 6.2,
    "items": [ITEM],
    "total": 64,
    "understood": UNDERSTOOD,
    "notices": [],
    "notice_codes": [],
    "setup_notices": [],
    "facets": FACETS,
    "words_only": False,
    "reranked_by": "ltr",
    "offset": 0,
    "sort": "relevance",
    "rules_applied": [],
    "next_offset": 1,
    "request_id": "9b1d4e0a7c2f4a86b3e5d8c1f0a2b6e4",
}
SUGGESTION: JsonDict = {"text": "black", "source": "catalog", "count": 1543}
SUGGEST: JsonDict = {"query": "bla", "suggestions": [SUGGESTION]}
EXAMPLES: JsonDict = {"examples": ["jeans", "bikini top", "t-shirt under 0.02"]}
HEALTH: JsonDict = {
    "status": "ok",
    "products": 4903,
    "items": 4903,
    "encoder": "multilingual-e5-small-q4-onnx-q8:4f2caaebab:passage",
    "events": 10000,
    "events_history": 10000,
    "events_live": 0,
    "events_applied": 0,
    "consumer_lag": 0,
    "consumer_running": True,
    "worker": 28349,
    "shelf_id": "0a7573ed083e3bb5",
    "language": "en",
}
RECOMMEND: JsonDict = {
    "kind": "user",
    "id": "nobody",
    "took_ms": 0.6,
    "items": [{**ITEM, "reason": "popular in Menswear", "features": None, "highlight": None}],
    "notice": "unknown user: popular items",
    "notice_code": "not-personalised",
    "request_id": "5f0c3b2a9d8e4c71b6a2e0f9d1c4b7a3",
    "logged": False,
}
SHOPPER: JsonDict = {"id": "1ff2735a2b9b6e807b653d20d1a4a7ae", "items": 38}
SHOPPERS: JsonDict = {"shoppers": [SHOPPER], "notice": None}
ERROR: JsonDict = {"detail": "unknown item id 'nope'"}
WORKER_SWAP: JsonDict = {"pid": 28349, "shelf_id": "0a7573ed083e3bb5", "generation": 1, "swapped": True}
FLEET: JsonDict = {"complete": True, "waited_s": 4.8, "wait_s": 30.0, "workers": [WORKER_SWAP]}
RELOAD: JsonDict = {
    "shelf": "/srv/shelf",
    "took_s": 5.1,
    "products": 4903,
    "items": 4903,
    "parts": ["catalog", "searcher", "reranker", "recommender"],
    "live_seq": 120,
    "replayed": 20,
    "caught_up": True,
    "query_vectors_kept": 512,
    "fleet": FLEET,
}
