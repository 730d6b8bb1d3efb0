"""Turn stage results into response models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shelfwise.catalog.schema import BoolArray, Catalog
from shelfwise.catalog.variants import MAX_VARIANTS, Swatches, swatches
from shelfwise.results import Results
from shelfwise.serve.schemas import ItemOut, ProductOut, VariantOut


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


def _swatch_fields(catalog: Catalog, got: Swatches | None) -> dict[str, Any]:
    """A product's swatches as :class:`ProductOut`'s ``variants`` fields (all None when not asked)."""
    if got is None:
        return {"variants": None, "variant_label": None, "variants_total": None}
    return {"variants": variants_out(catalog, got), "variant_label": got.label or None, "variants_total": got.total}


def product_out(catalog: Catalog, row: int, got: Swatches | None = None) -> ProductOut:
    """Catalog row ``row`` as the API shows a product, with its swatches ``got`` when asked."""
    return ProductOut(**_fields(catalog, row), **_swatch_fields(catalog, got))


def variants_out(catalog: Catalog, got: Swatches) -> list[VariantOut]:
    """A product's swatches (:func:`shelfwise.catalog.variants.swatches`) as the API shows them."""
    out: list[VariantOut] = []
    for v in got.variants:
        p = catalog.products[v.row]
        out.append(
            VariantOut(
                id=p.id, label=v.label, price=p.price, in_stock=p.in_stock, image=p.image or None, matches=v.matches
            )
        )
    return out


def items_out(
    catalog: Catalog,
    results: Results,
    reasons: Sequence[str] | None = None,
    highlights: Sequence[dict[str, str]] | None = None,
    explored: frozenset[int] = frozenset(),
    variants: bool = False,
    hidden: frozenset[int] = frozenset(),
    allowed: BoolArray | None = None,
    variants_max: int = MAX_VARIANTS,
) -> list[ItemOut]:
    """Ranked results as the API shows them: each product with its score, reason and signals (and,
    when asked, its highlighted title and its colour / size variants as swatches, none of ``hidden``:
    the rows a merchandising rule hides for the query, never shown; each flagged whether ``allowed``,
    the request's filter mask, admits it: None, no filter; at most ``variants_max`` per item)."""
    out: list[ItemOut] = []
    for j, (row, score) in enumerate(zip(results.ids.tolist(), results.scores.tolist(), strict=True)):
        got = swatches(catalog, row, allowed, hidden, variants_max) if variants else None
        out.append(
            ItemOut(
                **_fields(catalog, row),
                score=round(float(score), 6),
                reason=reasons[j] if reasons is not None else "",
                features={k: round(float(v[j]), 6) for k, v in results.features.items()} or None,
                highlight=highlights[j] if highlights is not None else None,
                explored=row in explored,
                **_swatch_fields(catalog, got),
            )
        )
    return out
