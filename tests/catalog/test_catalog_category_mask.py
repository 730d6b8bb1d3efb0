"""category_mask through per-depth codes equals the plain per-product prefix comparison."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Product


def test_category_mask_matches_a_per_product_comparison() -> None:
    rng = np.random.default_rng(0)
    levels = [("Men", "Women", "kids"), ("Trousers", "Shirts", "MEN"), ("Slim", "Wide")]
    products = []
    for i in range(300):
        depth = int(rng.integers(0, 4))  # paths of 0-3 levels, mixed case
        path = tuple(str(rng.choice(levels[d])) for d in range(depth))
        products.append(Product(id=f"p{i}", title=f"thing {i}", category=path))
    catalog = Catalog(products)
    keys = [(), ("men",), ("MEN", "trousers"), ("women", "shirts", "wide"), ("men", "men"), ("nope",), ("kids", "x")]
    for key in keys + [catalog.top_category(r, None) for r in range(0, 300, 7)]:
        want = np.array(
            [tuple(s.lower() for s in p.category[: len(key)]) == tuple(k.lower() for k in key) for p in products]
        )
        np.testing.assert_array_equal(catalog.category_mask(key), want if key else np.ones(300, dtype=bool))
