"""Catalog.variant_rows and one_per_title: the other products named as one (its colour / size variants)."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Product


def test_variant_rows_are_the_other_products_of_the_same_title_in_catalog_order() -> None:
    titles = ["Strap top", "Belt", "strap TOP ", "Scarf", "Strap top"]
    catalog = Catalog([Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    assert catalog.variant_rows(0) == (2, 4)
    assert catalog.variant_rows(2) == (0, 4)  # trimmed, lower-cased: Product.variant_key
    assert catalog.variant_rows(4) == (0, 2)
    assert catalog.variant_rows(1) == () and catalog.variant_rows(3) == ()


def _first_per_title(catalog: Catalog, rows: list[bool]) -> list[int]:
    """The reference: walk the rows in order, keep each title's first one in ``rows``."""
    seen: set[str] = set()
    kept = []
    for r, (p, on) in enumerate(zip(catalog.products, rows, strict=True)):
        if on and p.variant_key not in seen:
            seen.add(p.variant_key)
            kept.append(r)
    return kept


def test_one_per_title_keeps_each_titles_first_row_with_shared_and_lone_titles_mixed() -> None:
    rng = np.random.default_rng(0)
    titles = [f"t{int(t)}" for t in rng.integers(0, 40, 120)]  # some titles shared, some alone
    catalog = Catalog([Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    assert 0 < len(catalog.shared_title_groups[0]) < len(catalog)
    for _ in range(20):
        rows = rng.random(len(catalog)) < 0.6
        assert np.flatnonzero(catalog.one_per_title(rows)).tolist() == _first_per_title(catalog, rows.tolist())


def test_one_per_title_of_a_catalog_of_lone_titles_is_a_copy() -> None:
    catalog = Catalog([Product(id=f"p{i}", title=f"title {i}") for i in range(6)])
    rows = np.array([True, False, True, True, False, True])
    out = catalog.one_per_title(rows)
    assert len(catalog.shared_title_groups[0]) == 0
    assert out.tolist() == rows.tolist() and out is not rows
