"""GET /search: parse, call the searcher, format."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request

from shelfwise.serve.convert import items_out
from shelfwise.serve.params import parse_filters
from shelfwise.serve.schemas import SearchResponse, UnderstoodOut
from shelfwise.shelf import Shelf

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchResponse)
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=512, description="query text (any language)")],
    k: Annotated[int, Query(ge=1, le=200)] = 10,
    mode: Annotated[str, Query(pattern="^(hybrid|bm25|dense)$")] = "hybrid",
    category: Annotated[str | None, Query(description='category path prefix, e.g. "Menswear > Trousers"')] = None,
    brand: Annotated[list[str] | None, Query()] = None,
    price_min: Annotated[float | None, Query(ge=0)] = None,
    price_max: Annotated[float | None, Query(ge=0)] = None,
    in_stock: bool = False,
    attr: Annotated[list[str] | None, Query(description="attribute filter key:value, repeatable")] = None,
    user: Annotated[str | None, Query(description="user id, for personalisation when known")] = None,
) -> SearchResponse:
    shelf: Shelf = request.app.state.shelf
    filters = parse_filters(category, brand, price_min, price_max, in_stock, attr)
    profiles = shelf.user_profiles
    user_vector = profiles.vector(user) if (profiles is not None and user) else None
    t0 = time.perf_counter()
    res = shelf.searcher.search(q, k, filters, mode=mode, user_vector=user_vector)
    took = (time.perf_counter() - t0) * 1000
    intent = shelf.searcher.understand(q)
    return SearchResponse(
        query=q,
        mode=mode,
        took_ms=round(took, 3),
        items=items_out(shelf.catalog, res),
        understood=UnderstoodOut.model_validate(intent.to_json()) if intent is not None else None,
        notices=shelf.searcher.notices(q),
    )
