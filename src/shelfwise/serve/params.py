"""Query-parameter parsing shared by routes (transport only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Path, Query

from shelfwise.catalog.schema import Filters
from shelfwise.catalog.variants import MAX_VARIANTS

InStock = Annotated[bool, Query(description="true: in-stock products only")]
InStockOnly = Annotated[
    bool,
    Query(
        description="true (the default on /recommend/*: a shopper cannot buy a sold-out product): in-stock products "
        "only; false: sold-out ones too. A catalog with no stock column has every product in stock"
    ),
]
ItemId = Annotated[str, Path(description="a catalog item id (a '/' in it sent URL-encoded, %2F)")]
Variants = Annotated[
    bool,
    Query(
        description="each item's colour / size variants (the other products named as it, which a list of one item "
        "per title leaves out) as swatch objects in `variants`, with its own `variant_label` and `variants_total`"
    ),
]
VariantsMax = Annotated[
    int,
    Query(
        ge=1,
        le=1000,
        description=f"with variants=true: at most this many variants per item (default {MAX_VARIANTS}), those the "
        "request's filters admit first; `variants_total` gives the count",
    ),
]


Brand = Annotated[list[str] | None, Query(description="brand, repeatable: any of them (case-insensitive)")]
PriceMin = Annotated[float | None, Query(ge=0, allow_inf_nan=False, description="lowest price, inclusive")]
PriceMax = Annotated[float | None, Query(ge=0, allow_inf_nan=False, description="highest price, inclusive")]
Attr = Annotated[
    list[str] | None,
    Query(
        description="attribute filter key:value, repeatable: values of one key are alternatives (colour:Black "
        "or colour:White), different keys all apply"
    ),
]


@dataclass(frozen=True)
class MoreFilters:
    """The filters /search takes besides ``category`` and ``in_stock``, read by /recommend/* too (the
    same names and syntax), checked by :func:`parse_filters`."""

    brand: list[str] | None = None
    price_min: float | None = None
    price_max: float | None = None
    attr: list[str] | None = None


def more_filters(
    brand: Brand = None, price_min: PriceMin = None, price_max: PriceMax = None, attr: Attr = None
) -> MoreFilters:
    """Dependency: brand / price_min / price_max / attr as /search reads them."""
    return MoreFilters(brand, price_min, price_max, attr)


def invalid(field: str, problem: str, where: str = "query") -> HTTPException:
    """A 422 naming the parameter, in FastAPI's own shape (``detail``: ``[{loc, msg, type}]``), so
    that a client reads every parameter error alike, the checks made here as the declared ones."""
    return HTTPException(422, [{"loc": [where, field], "msg": f"{field}: {problem}", "type": "value_error"}])


def parse_filters(
    category: str | None,
    brand: list[str] | None,
    price_min: float | None,
    price_max: float | None,
    in_stock: bool,
    attr: list[str] | None,
) -> Filters:
    """``category`` is a path "A > B"; ``attr`` items are "key:value"."""
    pairs: list[tuple[str, str]] = []
    for a in attr or []:
        key, sep, value = a.partition(":")
        if not sep or not key or not value:
            raise invalid("attr", f"must look like key:value, got {a!r}")
        pairs.append((key, value))
    if price_min is not None and price_max is not None and price_min > price_max:
        raise invalid("price_max", f"price_min {price_min:g} > price_max {price_max:g}")
    path = tuple(s.strip() for s in category.split(">") if s.strip()) if category else ()
    return Filters(
        category=path,
        brands=tuple(brand or ()),
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock,
        attributes=tuple(pairs),
    )


def list_filters(category: str | None, in_stock: bool, more: MoreFilters) -> Filters:
    """:func:`parse_filters` of a /recommend/* request: ``category``, ``in_stock`` and ``more``."""
    return parse_filters(category, more.brand, more.price_min, more.price_max, in_stock, more.attr)
