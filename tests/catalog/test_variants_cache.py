"""shelfwise.catalog.variants' label cache: the labels chosen once per catalog are those chosen per request."""

from __future__ import annotations

import gc
import random
import threading
import weakref

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.catalog.variants import _CACHES, label, label_keys, swatches, title_labels

KEYS = ("colour_group_name", "size", "fit", "graphical_appearance_name", "Color", "length")


def _made_up(seed: int) -> Catalog:
    """A few titles of 1-12 rows, each row holding a random subset of attribute keys in a random
    order (so the key order :func:`label_keys` sees depends on which row comes first) with few values."""
    rng = random.Random(seed)
    products = []
    for i in range(rng.randint(5, 60)):
        keys = rng.sample(KEYS, rng.randint(0, len(KEYS)))
        attrs = {k: rng.choice(["a", "b", "c", " ", ""]) for k in keys}
        products.append(Product(id=f"p{i}", title=f"Title {rng.randint(0, 6)}", attributes=attrs))
    return Catalog(products)


def _uncached(catalog: Catalog, row: int) -> tuple[str, dict[int, str]]:
    """The labels as chosen on every request before the cache: label_keys over (row, *its variants)."""
    every = catalog.variant_rows(row)
    keys = label_keys([catalog.products[r] for r in (row, *every)])
    return label(catalog.products[row], keys), {r: label(catalog.products[r], keys) for r in every}


def test_cached_labels_equal_those_chosen_per_request_over_random_catalogs() -> None:
    orders_differ = 0
    for seed in range(300):
        catalog = _made_up(seed)
        rng = np.random.default_rng(seed)
        for row in rng.permutation(len(catalog)).tolist():
            own, others = _uncached(catalog, row)
            if not others:
                assert swatches(catalog, row).variants == ()
                continue
            allowed = rng.random(len(catalog)) < 0.5
            hidden = frozenset(rng.choice(len(catalog), size=3).tolist())
            got = swatches(catalog, row, allowed, hidden, limit=int(rng.integers(1, 8)))
            if got.variants:
                assert got.label == own
            assert {v.row: v.label for v in got.variants} == {v.row: others[v.row] for v in got.variants}
            assert {v.row: v.matches for v in got.variants} == {v.row: bool(allowed[v.row]) for v in got.variants}
            full = title_labels(catalog, row)
            assert full.labels == {row: own, **others}
            orders_differ += len({tuple(catalog.products[r].attributes) for r in (row, *others)}) > 1
    assert orders_differ > 100  # the random catalogs did test rows whose key orders differ


def test_rows_whose_attributes_come_in_another_order_keep_their_own_labels() -> None:
    """Row order decides which of two equal keys labels: each row gets what it got per request."""
    catalog = Catalog(
        [
            Product(id="a", title="Tee", attributes={"fit": "slim", "length": "long"}),
            Product(id="b", title="Tee", attributes={"length": "short", "fit": "wide"}),
        ]
    )
    assert swatches(catalog, 0).label == "slim" and swatches(catalog, 1).label == "short"
    assert swatches(catalog, 0).variants[0].label == "wide" and swatches(catalog, 1).variants[0].label == "long"


def test_the_cache_is_one_per_catalog_object_and_goes_with_it() -> None:
    catalog = _made_up(1)
    row = next(r for r in range(len(catalog)) if catalog.variant_rows(r))
    first = title_labels(catalog, row)
    assert title_labels(catalog, row) is first  # chosen once
    other = Catalog(catalog.products)
    assert title_labels(other, row) is not first and title_labels(other, row) == first
    gone, held = weakref.ref(other), len(_CACHES)
    del other
    gc.collect()
    assert gone() is None and len(_CACHES) == held - 1  # its cache went with it
    assert catalog in _CACHES


def test_requests_in_threads_get_the_same_labels() -> None:
    catalog = Catalog(
        [Product(id=f"w{i}", title="Sock", attributes={"colour": f"c{i % 7}", "size": str(i // 7)}) for i in range(700)]
    )
    got: list[dict[int, str]] = []

    def ask(row: int) -> None:
        s = swatches(catalog, row, limit=1000)
        got.append({row: s.label, **{v.row: v.label for v in s.variants}})

    threads = [threading.Thread(target=ask, args=(r,)) for r in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(g == got[0] for g in got) and got[0][9] == "c2 · 1"
