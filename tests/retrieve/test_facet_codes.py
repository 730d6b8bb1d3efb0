"""The catalog's facet value codes (shelfwise.retrieve.facet_codes): request-supplied attribute keys
do not grow memory, and building one catalog's codes (seconds at 1M products) does not stall facet
counts on another (a reload builds the new catalog's while requests count on the old one)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.retrieve import facet_codes as fc_module
from shelfwise.retrieve.facet_codes import facet_codes


def test_attribute_keys_no_product_has_are_not_kept(tiny_catalog: Catalog) -> None:
    fc = facet_codes(tiny_catalog)
    assert fc.attribute("colour").labels  # a key the catalog has: coded and kept
    kept = len(fc._attrs)
    for i in range(50):  # keys a request makes up (attr=made-up-N:x, facet_attr=...)
        got = fc.attribute(f"made-up-{i}")
        assert got.labels == [] and bool((got.codes == -1).all()) and len(got.codes) == len(tiny_catalog)
    assert len(fc._attrs) == kept


def test_building_one_catalogs_codes_does_not_block_another(
    tiny_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = facet_codes(tiny_catalog)  # built: a request for it must not wait on another build
    started, release = threading.Event(), threading.Event()
    real = fc_module.FacetCodes

    class Slow(real):  # type: ignore[misc,valid-type]
        def __init__(self, catalog: Catalog) -> None:
            started.set()
            release.wait(10)
            super().__init__(catalog)

    monkeypatch.setattr(fc_module, "FacetCodes", Slow)
    other = Catalog([Product("x", "Lamp", brand="Acme")])
    builder = threading.Thread(target=facet_codes, args=(other,))
    builder.start()
    try:
        assert started.wait(10)
        got: list[object] = []
        reader = threading.Thread(target=lambda: got.append(facet_codes(tiny_catalog)))
        reader.start()
        reader.join(2)
        assert got == [ready]  # answered while the other catalog's codes were still being built
    finally:
        release.set()
        builder.join(10)
    assert facet_codes(other).brand.labels == ["Acme"]


def test_a_catalog_no_longer_used_is_let_go() -> None:
    import gc
    import weakref

    cat = Catalog([Product("x", "Lamp", brand="Acme", attributes={"colour": "Red"})])
    facet_codes(cat).attribute("colour")
    gone = weakref.ref(cat)
    del cat
    gc.collect()
    assert gone() is None  # the codes do not hold their catalog (a reload's old one is freed)


@pytest.mark.parametrize("rows", [[], [3], [0, 1, 2, 3, 4, 5, 6, 7], list(range(0, 400, 7)), list(range(400))])
def test_variants_count_each_title_once_by_sort_or_by_flags(rows: list[int]) -> None:
    """Few rows beside the titles are counted by sorting their codes, many by a flag per title:
    either way the number of distinct trimmed, lower-cased titles among them."""
    titles = [f"Shirt {i % 50}" if i % 3 else f" shirt {i % 50} " for i in range(400)]  # 50 titles, 8 variants
    catalog = Catalog([Product(str(i), t) for i, t in enumerate(titles)])
    v = facet_codes(catalog).variants
    assert v.groups == 50 and len(v.codes) == len(catalog)
    assert v.count(np.asarray(rows, dtype=np.int64)) == len({titles[r].strip().lower() for r in rows})
