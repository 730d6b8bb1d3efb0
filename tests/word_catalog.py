"""A made-up catalog of random hardware-word titles (not real data) and a flat-index searcher over
it, for tests that compare search against a straightforward reference."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index import VectorIndexConfig
from shelfwise.retrieve import HybridSearcher, SearchConfig

WORDS = ("drill", "cordless", "hammer", "steel", "saw", "oak", "ladder", "lamp", "brass", "tile", "paint", "matte")


def word_searcher(seed: int, n: int, suffixes: int, config: SearchConfig) -> HybridSearcher:
    """``n`` products titled by 2-6 random ``WORDS`` and a number below ``suffixes``; hashing encoder,
    exact (flat) vector index."""
    rng = np.random.default_rng(seed)
    products = [
        Product(id=f"p{i}", title=" ".join(rng.choice(WORDS, size=int(rng.integers(2, 7)))) + f" {i % suffixes}")
        for i in range(n)
    ]
    return HybridSearcher.build(
        Catalog(products), HashingEncoder(dim=64), config, vector=VectorIndexConfig(kind="flat")
    )
