"""GET /shoppers: a few known shopper ids, for a storefront's shopper switcher (reads only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from shelfwise.shelf import Shelf

router = APIRouter(tags=["recommend"])


class ShopperOut(BaseModel):
    id: str
    items: int


class ShoppersResponse(BaseModel):
    shoppers: list[ShopperOut]
    notice: str | None = None


@router.get("/shoppers", response_model=ShoppersResponse)
def shoppers(request: Request, k: Annotated[int, Query(ge=1, le=50)] = 8) -> ShoppersResponse:
    """The ``k`` shoppers with the most distinct items in their history (ties by id)."""
    shelf: Shelf = request.app.state.shelf
    rec = shelf.recommender
    profiles = rec.profiles if rec is not None else None
    if profiles is None:
        return ShoppersResponse(
            shoppers=[], notice="no shopper histories on this server (serve with --events FILE or --recommender DIR)"
        )
    sizes = [(len(profiles.seen(u)), u) for u in profiles.users()]
    top = sorted(sizes, key=lambda t: (-t[0], t[1]))[:k]
    return ShoppersResponse(shoppers=[ShopperOut(id=u, items=n) for n, u in top])
