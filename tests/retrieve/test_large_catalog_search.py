"""Search paths used by large catalogs: precomputed vectors, compact HNSW storage, memoised filters."""

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index import VectorIndexConfig
from shelfwise.retrieve import HybridSearcher, SearchConfig

COLOURS = ("red", "blue", "green", "black")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    kinds = ("drill", "hammer", "saw", "ladder", "paint", "tile", "faucet", "lamp")
    return Catalog(
        [
            Product(
                id=f"p{i}",
                title=f"{kinds[i % 8]} model {i} {COLOURS[i % 4]}",
                category=("Tools" if i % 8 < 4 else "Home", kinds[i % 8]),
                price=float(i % 50),
                attributes={"colour": COLOURS[i % 4]},
            )
            for i in range(1200)
        ]
    )


def test_precomputed_vectors_replace_encoding(catalog: Catalog) -> None:
    enc = HashingEncoder(dim=64)
    mine = enc.encode(catalog.texts())
    built = HybridSearcher.build(catalog, enc, item_vectors=mine)
    assert np.array_equal(built.dense.index.rows(np.arange(5)), mine[:5])
    with pytest.raises(ValueError, match=r"expected \(1200, 64\)"):
        HybridSearcher.build(catalog, enc, item_vectors=mine[:, :10])


@pytest.mark.parametrize("storage", ["fp32", "sq8"])
def test_filtered_hybrid_search_respects_filters_on_hnsw(catalog: Catalog, storage: str) -> None:
    enc = HashingEncoder(dim=64)
    # a category filter far from the query's neighbourhood is HNSW's hard case: a wide beam here,
    # recall at the defaults on real titles is measured in bench/bench_million.py
    vec = VectorIndexConfig(kind="hnsw", storage=storage, exact_filter_max=100, ef_search=512)
    s = HybridSearcher.build(catalog, enc, SearchConfig(understand=False), vector=vec)
    flat = HybridSearcher.build(catalog, enc, SearchConfig(understand=False), vector=VectorIndexConfig(kind="flat"))
    for f in (Filters(category=("Tools",)), Filters(attributes=(("colour", "red"),), price_max=10.0), None):
        for q in ("drill model", "red lamp", "tile 17"):
            got = s.search(q, 10, f)
            mask = catalog.mask(f)
            assert mask is None or all(mask[i] for i in got.ids)
            want = flat.search(q, 10, f, mode="dense")
            dense = s.search(q, 10, f, mode="dense")
            # recall vs exact, counted by score so that tied products are interchangeable
            qv = flat.dense.embed(q)
            good = flat.dense.index.rows(dense.ids) @ qv >= float(want.scores[-1]) - 1e-4
            assert int(good.sum()) >= 8
            assert len(got) == 10


def test_masks_are_memoised_per_filter_value(catalog: Catalog) -> None:
    s = HybridSearcher.build(catalog, HashingEncoder(dim=32), vector=VectorIndexConfig(kind="flat"))
    f = Filters(category=("Home",), price_min=5.0)
    m1 = s.mask(f)
    m2 = s.mask(Filters(category=("Home",), price_min=5.0))
    assert m1 is m2 and m1 is not None and not m1.flags.writeable
    assert np.array_equal(m1, catalog.mask(f))
    assert s.mask(None) is None and s.mask(Filters()) is None
    r = s.search("lamp", 5, f, exclude=[int(np.flatnonzero(m1)[0])])  # exclude copies, never writes the memo
    assert len(r) == 5 and np.array_equal(s.mask(f), catalog.mask(f))
