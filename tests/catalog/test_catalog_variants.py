"""Catalog.variant_rows: the other products named as one (its colour / size variants)."""

from __future__ import annotations

from shelfwise.catalog import Catalog, Product


def test_variant_rows_are_the_other_products_of_the_same_title_in_catalog_order() -> None:
    titles = ["Strap top", "Belt", "strap TOP ", "Scarf", "Strap top"]
    catalog = Catalog([Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    assert catalog.variant_rows(0) == (2, 4)
    assert catalog.variant_rows(2) == (0, 4)  # trimmed, lower-cased: Product.variant_key
    assert catalog.variant_rows(4) == (0, 2)
    assert catalog.variant_rows(1) == () and catalog.variant_rows(3) == ()
