"""Query prefetch: the embedding runs while hybrid search scores the lexical side, once per query."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.encode.hashing import HashingEncoder
from shelfwise.index.vector import VectorIndex
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.dense import PREFETCH, DenseRetriever


class Counting:
    """A hashing encoder that counts calls and can be held until released, or made to fail."""

    def __init__(self, hold: threading.Event | None = None, fail: bool = False) -> None:
        self.inner = HashingEncoder(dim=32)
        self.calls: list[str] = []
        self.hold = hold
        self.fail = fail

    @property
    def name(self) -> str:
        return "counting"

    @property
    def dim(self) -> int:
        return 32

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.calls.extend(texts)
        if self.hold is not None:
            assert self.hold.wait(5)
        if self.fail:
            raise RuntimeError("encoder down")
        return self.inner.encode(texts)


def _retriever(enc: Counting) -> DenseRetriever:
    return DenseRetriever(enc, VectorIndex().fit(HashingEncoder(dim=32).encode(["a b", "c d"])))


def test_prefetched_query_is_encoded_once_and_equals_the_inline_vector() -> None:
    enc = Counting()
    d = _retriever(enc)
    d.prefetch("red shoe")
    v = d.embed("red shoe")
    assert enc.calls == ["red shoe"]
    assert np.array_equal(v, HashingEncoder(dim=32).encode(["red shoe"])[0])
    d.prefetch("red shoe")  # cached: nothing submitted
    assert enc.calls == ["red shoe"] and not d._pending


def test_embed_waits_for_a_prefetch_under_way_instead_of_encoding_again() -> None:
    hold = threading.Event()
    enc = Counting(hold)
    d = _retriever(enc)
    d.prefetch("blue hat")
    out: list[np.ndarray] = []
    t = threading.Thread(target=lambda: out.append(d.embed("blue hat")))
    t.start()
    t.join(0.2)
    assert t.is_alive()  # waiting on the prefetch, not encoding a second time
    hold.set()
    t.join(5)
    assert enc.calls == ["blue hat"] and len(out) == 1 and not d._pending


def test_a_failed_prefetch_reaches_the_caller_and_leaves_nothing_pending() -> None:
    d = _retriever(Counting(fail=True))
    d.prefetch("x")
    with pytest.raises(RuntimeError, match="encoder down"):
        d.embed("x")
    assert not d._pending and "x" not in d._cache


def test_prefetch_never_queues_when_its_threads_are_busy() -> None:
    hold = threading.Event()
    enc = Counting(hold)
    d = _retriever(enc)
    try:
        for i in range(PREFETCH.workers):
            d.prefetch(f"q{i}")
        d.prefetch("one too many")
        assert "one too many" not in d._pending  # not queued: the caller will embed it inline
    finally:
        hold.set()
    for i in range(PREFETCH.workers):
        d.embed(f"q{i}")
    assert not d._pending


def test_hybrid_search_embeds_the_query_once(tiny_catalog: Catalog) -> None:
    enc = Counting()
    s = HybridSearcher.build(tiny_catalog, enc)
    enc.calls.clear()
    plain = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=32))
    got = s.search("black trousers", 5)
    assert enc.calls == ["black trousers"]
    want = plain.search("black trousers", 5)
    assert got.ids.tolist() == want.ids.tolist() and np.allclose(got.scores, want.scores)
