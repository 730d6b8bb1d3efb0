"""Turn stage results into response models."""

from __future__ import annotations

from collections.abc import Sequence

from shelfwise.catalog.schema import Catalog
from shelfwise.results import Results
from shelfwise.serve.schemas import ItemOut


def items_out(catalog: Catalog, results: Results, reasons: Sequence[str] | None = None) -> list[ItemOut]:
    out: list[ItemOut] = []
    for j, (row, score) in enumerate(zip(results.ids.tolist(), results.scores.tolist(), strict=True)):
        p = catalog.products[row]
        out.append(
            ItemOut(
                id=p.id,
                title=p.title,
                score=round(float(score), 6),
                category=list(p.category),
                brand=p.brand,
                price=p.price,
                attributes=p.attributes,
                reason=reasons[j] if reasons is not None else "",
                image=p.image or None,
                in_stock=p.in_stock,
                description=p.description,
            )
        )
    return out
