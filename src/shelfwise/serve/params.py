"""Query-parameter parsing shared by routes (transport only)."""

from __future__ import annotations

from fastapi import HTTPException

from shelfwise.catalog.schema import Filters


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
            raise HTTPException(422, f"attr must look like key:value, got {a!r}")
        pairs.append((key, value))
    path = tuple(s.strip() for s in category.split(">") if s.strip()) if category else ()
    try:
        return Filters(
            category=path,
            brands=tuple(brand or ()),
            price_min=price_min,
            price_max=price_max,
            in_stock=in_stock,
            attributes=tuple(pairs),
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
