"""Turn stage results into response models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shelfwise.catalog.schema import Catalog
from shelfwise.results import Results
from shelfwise.serve.schemas import ItemOut, ProductOut


def _fields(catalog: Catalog, row: int) -> dict[str, Any]:
    """Catalog row ``row``'s fields as the API shows a product (the keyword arguments of
    :class:`ProductOut`, which :class:`ItemOut` extends)."""
    p = catalog.products[row]
    return {
        "id": p.id,
        "title": p.title,
        "category": list(p.category),
        "brand": p.brand,
        "price": p.price,
        "attributes": p.attributes,
        "image": p.image or None,
        "in_stock": p.in_stock,
        "description": p.description,
    }


def product_out(catalog: Catalog, row: int) -> ProductOut:
    """Catalog row ``row`` as the API shows a product."""
    return ProductOut(**_fields(catalog, row))


def items_out(
    catalog: Catalog,
    results: Results,
    reasons: Sequence[str] | None = None,
    highlights: Sequence[dict[str, str]] | None = None,
    explored: frozenset[int] = frozenset(),
    variants: bool = False,
    hidden: frozenset[int] = frozenset(),
) -> list[ItemOut]:
    """Ranked results as the API shows them: each product with its score, reason and signals (and,
    when asked, its highlighted title and the ids of its colour / size variants, none of ``hidden``:
    the rows a merchandising rule hides for the query, never shown)."""
    out: list[ItemOut] = []
    for j, (row, score) in enumerate(zip(results.ids.tolist(), results.scores.tolist(), strict=True)):
        out.append(
            ItemOut(
                **_fields(catalog, row),
                score=round(float(score), 6),
                reason=reasons[j] if reasons is not None else "",
                features={k: round(float(v[j]), 6) for k, v in results.features.items()} or None,
                highlight=highlights[j] if highlights is not None else None,
                explored=row in explored,
                variants=[catalog.ids[r] for r in catalog.variant_rows(row) if r not in hidden] if variants else None,
            )
        )
    return out
