"""DenseRetriever: the query's catalog-average cosine (the baseline explanations show beside a hit's)."""

from __future__ import annotations

import pytest

from shelfwise.encode.hashing import HashingEncoder
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.retrieve.dense import DenseRetriever


@pytest.mark.parametrize("storage", ["fp32", "fp16", "sq8"])
def test_mean_cosine_is_the_average_of_every_rows_cosine(storage: str) -> None:
    enc = HashingEncoder(64)
    texts = [f"product {i} {'red' if i % 3 else 'blue'} shoe size {i % 7}" for i in range(150)]
    index = VectorIndex(VectorIndexConfig(kind="flat", storage=storage)).fit(enc.encode(texts))
    dense = DenseRetriever(enc, index)
    for query in ("red shoe", "size 3", "nothing alike"):
        assert dense.mean_cosine(query) == pytest.approx(float(dense.scores(query).mean()), abs=2e-3)
    assert dense.mean_cosine("red shoe") > dense.mean_cosine("nothing alike")  # the catalog is made of shoes


def test_adopt_takes_the_memoised_vectors_of_the_same_encoder_only() -> None:
    enc = HashingEncoder(32)
    index = VectorIndex().fit(enc.encode(["black dress", "red shoes", "wool scarf"]))
    old = DenseRetriever(enc, index)
    for q in ("dress", "shoes", "scarf"):
        old.embed(q)
    new = DenseRetriever(enc, index, cache_size=2)
    assert new.adopt(old) == 2 and list(new._cache) == ["shoes", "scarf"]  # the most recent, up to its size
    other = DenseRetriever(HashingEncoder(32, ngrams=(2,)), index)  # another encoder: its vectors differ
    assert other.adopt(old) == 0 and not other._cache
