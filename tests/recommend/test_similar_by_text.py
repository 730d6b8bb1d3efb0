"""similar_by_text: related products by the search index's vectors (the day-one /recommend/item)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.catalog import Catalog
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.recommend.content import similar_by_text
from shelfwise.results import Results


class _Recording:
    """A vector index that records the mask object each search is given."""

    def __init__(self, inner: VectorIndex) -> None:
        self.inner = inner
        self.masks: list[npt.NDArray[np.bool_] | None] = []

    def rows(self, ids: npt.NDArray[np.int64]) -> Any:
        return self.inner.rows(ids)

    def search(self, q: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        self.masks.append(mask)
        return self.inner.search(q, k, mask)


def _index(n: int) -> VectorIndex:
    v = np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32)
    v[5] = v[2]  # a duplicate of the item: still related, the item itself never
    return VectorIndex(VectorIndexConfig(kind="flat", storage="fp32")).fit(v / np.linalg.norm(v, axis=1, keepdims=True))


def test_the_filter_mask_is_passed_as_it_is_and_the_item_left_out(tiny_catalog: Catalog) -> None:
    n = len(tiny_catalog)
    index = _Recording(_index(n))
    allowed = np.ones(n, dtype=bool)
    allowed[[0, 1]] = False
    allowed.flags.writeable = False  # the searcher's memoised masks are read-only
    out = similar_by_text(index, tiny_catalog, 2, 4, allowed)  # type: ignore[arg-type]
    plain = similar_by_text(index, tiny_catalog, 2, 4)  # type: ignore[arg-type]
    # the index caches row ids / selectors per mask object: a copy per request is a catalog scan and
    # a fresh cache entry every time (O(catalog) per request on a 1M store)
    assert index.masks[0] is allowed and index.masks[1] is None
    for rec in (out, plain):
        ids = rec.results.ids.tolist()
        assert len(ids) == 4 and 2 not in ids and len(set(ids)) == 4
        assert ids[0] == 5  # the duplicate, cosine 1
        assert rec.reasons[0].startswith(f"similar text to {tiny_catalog.products[2].title} (cosine 1.00")
    assert not {0, 1} & set(out.results.ids.tolist())


def test_k_past_the_catalog_gives_every_other_allowed_product(tiny_catalog: Catalog) -> None:
    n = len(tiny_catalog)
    out = similar_by_text(_index(n), tiny_catalog, 0, n + 5)
    assert sorted(out.results.ids.tolist()) == list(range(1, n))
    assert len(out.reasons) == n - 1
