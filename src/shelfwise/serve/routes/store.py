"""What a storefront page needs beyond search and recommendations (reads only):
GET /items/{id} (one product, e.g. a product page opened from a link, with its swatches on
``variants=true``) and GET /shoppers
(a few known shopper ids for the page's shopper switcher)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.catalog.variants import MAX_VARIANTS, swatches
from shelfwise.serve import examples as ex
from shelfwise.serve.convert import product_out
from shelfwise.serve.error_docs import UNKNOWN_ITEM
from shelfwise.serve.examples import exemplified
from shelfwise.serve.params import ItemId, Variants, VariantsMax
from shelfwise.serve.schemas import ProductOut
from shelfwise.shelf import Shelf

router = APIRouter(tags=["store"])


class ShopperOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.SHOPPER))

    id: str = Field(description="the shopper's id, as in events (GET /recommend/user/{id})")
    items: int = Field(description="distinct items in the shopper's history")


class ShoppersResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.SHOPPERS))

    shoppers: list[ShopperOut] = Field(description="the shoppers with the most distinct items, most first")
    notice: str | None = Field(None, description="why the list is empty (no shopper histories); null otherwise")


@router.get("/shoppers", response_model=ShoppersResponse)
def shoppers(
    request: Request, k: Annotated[int, Query(ge=1, le=50, description="how many shoppers, at most")] = 8
) -> ShoppersResponse:
    """The ``k`` shoppers with the most distinct items in their history (ties by id)."""
    shelf: Shelf = request.app.state.shelf
    rec = shelf.recommender
    profiles = rec.profiles if rec is not None else None
    if profiles is None:
        return ShoppersResponse(
            shoppers=[],
            notice="no shopper histories on this server (build the shelf with `shelfwise index ... --events FILE`, "
            "or serve with --events FILE or --recommender DIR)",
        )
    sizes = [(len(profiles.seen(u)), u) for u in profiles.users()]
    top = sorted(sizes, key=lambda t: (-t[0], t[1]))[:k]
    return ShoppersResponse(shoppers=[ShopperOut(id=u, items=n) for n, u in top], notice=None)


@router.get("/items/{item_id:path}", response_model=ProductOut, responses=UNKNOWN_ITEM)
def item(
    request: Request, item_id: ItemId, variants: Variants = False, variants_max: VariantsMax = MAX_VARIANTS
) -> ProductOut:
    """One product by its catalog id (404 when unknown); no ``score``, ``reason`` or ``features``: it
    was looked up, not ranked. ``variants=true``: its colour / size variants as the lists give them
    (no filter here: every one ``matches``), so a product page opened from a link has its swatches."""
    shelf: Shelf = request.app.state.shelf
    row = shelf.catalog.get_row(item_id)
    if row is None:
        raise HTTPException(404, f"unknown item id {item_id!r}")
    got = swatches(shelf.catalog, row, limit=variants_max) if variants else None
    return product_out(shelf.catalog, row, got)
