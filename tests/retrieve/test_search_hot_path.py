"""Search hot path: ``exclude`` keeps the memoised filter mask, first-stage signals are computed once,
and the filter-mask memo is bounded by bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index import VectorIndex, VectorIndexConfig
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.retrieve import hybrid as hybrid_mod
from word_catalog import WORDS

N = 900


class Distinct(HashingEncoder):
    """Hashing vectors plus a little noise seeded by the text: no two products tie on a cosine, so
    rank-based fusion is comparable exactly (``Results.from_scores`` leaves the order of exact ties open)."""

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Any:
        v = np.asarray(super().encode(texts), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v[i] += 0.05 * np.random.default_rng(seed).standard_normal(v.shape[1], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    rng = np.random.default_rng(3)
    products = []
    for i in range(N):  # titles of varied length and words: few exactly tied scores
        words = rng.choice(WORDS, size=int(rng.integers(2, 7)), replace=True)
        products.append(
            Product(
                id=f"p{i}",
                title=" ".join(words) + f" {i}",
                category=("Tools" if i % 3 else "Home", str(words[0])),
                price=float(i % 40),
            )
        )
    return Catalog(products)


@pytest.fixture(scope="module")
def flat(catalog: Catalog) -> HybridSearcher:
    cfg = SearchConfig(candidates=30, understand=False)
    return HybridSearcher.build(catalog, Distinct(dim=64), cfg, vector=VectorIndexConfig(kind="flat"))


def same_ranking(got: Results, want: Results) -> None:
    assert got.ids.tolist() == want.ids.tolist()
    assert np.array_equal(got.scores, want.scores)


def same_up_to_ties(got: Results, want: Results) -> None:
    """Equal scores; equal ids per score, but for the last (a tie at the cut may keep either row)."""
    assert np.array_equal(got.scores, want.scores)
    for score in np.unique(want.scores)[1:]:
        assert set(got.ids[got.scores == score].tolist()) == set(want.ids[want.scores == score].tolist())


def old_exclude(s: HybridSearcher, monkeypatch: pytest.MonkeyPatch, exclude: list[int]) -> Any:
    """Search as before: a fresh copy of the filter's mask with the excluded rows cleared."""
    memo = s.mask

    def copied(filters: Filters | None) -> npt.NDArray[np.bool_]:
        m = memo(filters)
        out = np.ones(N, dtype=bool) if m is None else m.copy()
        out[np.asarray(exclude)] = False
        return out

    monkeypatch.setattr(s, "mask", copied)
    return s


QUERIES = ("cordless drill", "oak ladder lamp", "brass tile 17", "matte paint")
FILTERS = (None, Filters(category=("Tools",)), Filters(category=("Home",), price_max=20.0))


@pytest.mark.parametrize(("mode", "fusion"), [("bm25", "convex"), ("dense", "convex"), ("hybrid", "convex"),
                                              ("hybrid", "rrf"), ("hybrid", "weighted")])  # fmt: skip
def test_exclude_matches_a_mask_without_those_rows(
    flat: HybridSearcher, monkeypatch: pytest.MonkeyPatch, mode: str, fusion: str
) -> None:
    cfg = SearchConfig(mode=mode, fusion=fusion, candidates=30, understand=False)
    for q in QUERIES:
        for f in FILTERS:
            full = flat.search(q, 40, f, config=cfg)
            exclude = [int(i) for i in full.ids[[0, 2, 5, 11]]] + [N - 1]  # some hits, one maybe not
            got = flat.search(q, 10, f, exclude=exclude, config=cfg)
            assert not set(got.ids.tolist()) & set(exclude)
            with monkeypatch.context() as m:
                want = old_exclude(flat, m, exclude).search(q, 10, f, config=cfg)
            same_ranking(got, want)
            if mode != "hybrid":  # a single retriever: the full list with those rows filtered out
                kept = full.take(~np.isin(full.ids, exclude)).top(10)
                same_up_to_ties(got, kept)  # BM25 ties: from_scores leaves their order open


def test_exclude_negative_ids_and_range(flat: HybridSearcher) -> None:
    cfg = SearchConfig(mode="dense", understand=False)
    top = flat.search("oak ladder", 3, config=cfg)
    row = int(top.ids[0])
    assert flat.search("oak ladder", 3, exclude=[row - N], config=cfg).ids.tolist() == (
        flat.search("oak ladder", 3, exclude=[row], config=cfg).ids.tolist()
    )
    with pytest.raises(IndexError, match="out of range"):
        flat.search("oak ladder", 3, exclude=[N])


def test_exclude_keeps_the_memoised_mask_and_its_index_cache(catalog: Catalog) -> None:
    vec = VectorIndexConfig(kind="flat", storage="sq8", exact_filter_max=100)  # faiss: per-mask cache
    s = HybridSearcher.build(catalog, Distinct(dim=64), SearchConfig(understand=False, lexical_shortcut=0), vector=vec)
    f = Filters(category=("Tools",))
    memo = s.mask(f)
    assert memo is not None
    seen: list[npt.NDArray[np.bool_] | None] = []
    search = s.dense.index.search

    def spy(q: Any, k: int = 10, mask: Any = None) -> Results:
        seen.append(mask)
        return search(q, k, mask)

    s.dense.index.search = spy  # type: ignore[method-assign,assignment]
    for i in range(5):
        r = s.search("cordless drill", 5, f, exclude=[int(np.flatnonzero(memo)[i]), 3 * i + 1])
        assert len(r) == 5 and memo[r.ids].all()
    assert all(m is memo for m in seen) and len(seen) == 5
    assert isinstance(s.dense.index, VectorIndex)
    assert len(s.dense.index._allowed) == 1  # one selector for the filter, not one per exclude list
    assert np.array_equal(memo, np.asarray(catalog.mask(f))) and not memo.flags.writeable


class Recorder:
    reads_match_features = True

    def __init__(self) -> None:
        self.heads: list[Results] = []

    def rerank(self, query: str, results: Results) -> Results:
        self.heads.append(results)
        return Results(results.ids[::-1].copy(), results.scores[::-1].copy())


def fresh_features(s: HybridSearcher, query: str, r: Results) -> dict[str, npt.NDArray[np.float32]]:
    parts = s.lexical.score_parts(query)
    cosine = s.dense.index.rows(r.ids) @ s.dense.embed(query)
    return {"bm25": parts.words[r.ids], "lexical": parts.mixed[r.ids], "cosine": cosine}


@pytest.mark.parametrize("fusion", ["convex", "rrf"])
def test_match_features_equal_recomputed_signals(flat: HybridSearcher, fusion: str) -> None:
    cfg = SearchConfig(fusion=fusion, candidates=30, understand=False)
    for q in QUERIES:
        plain = flat.search(q, 12, config=cfg)
        r = flat.search(q, 12, config=cfg, match_features=True)
        assert np.array_equal(r.ids, plain.ids) and np.array_equal(r.scores, plain.scores)
        want = fresh_features(flat, q, r)
        assert set(r.features) == set(hybrid_mod.MATCH_FEATURES)
        assert np.array_equal(r.features["bm25"], want["bm25"])
        assert np.array_equal(r.features["lexical"], want["lexical"])
        assert np.allclose(r.features["cosine"], want["cosine"], rtol=1e-6, atol=1e-6)  # same dot, other BLAS block


def test_convex_first_stage_signals_travel_to_the_reranker(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    s = HybridSearcher.build(
        catalog, Distinct(dim=64), SearchConfig(candidates=30, rerank_depth=8, understand=False),
        vector=VectorIndexConfig(kind="flat"),
    )  # fmt: skip
    rec = Recorder()
    s.reranker = rec
    calls = {"rows": 0, "parts": 0}
    rows, parts = s.dense.index.rows, s.lexical.score_parts

    def count_rows(ids: Any) -> Any:
        calls["rows"] += 1
        return rows(ids)

    def count_parts(query: str) -> Any:
        calls["parts"] += 1
        return parts(query)

    monkeypatch.setattr(s.dense.index, "rows", count_rows)
    monkeypatch.setattr(s.lexical, "score_parts", count_parts)
    r = s.search("cordless drill", 10, match_features=True)
    assert calls == {"rows": 1, "parts": 1}  # convex fusion's union cosines and lexical arrays, once
    monkeypatch.undo()
    head = rec.heads[-1]
    assert len(head) == 8 and set(head.features) == set(hybrid_mod.MATCH_FEATURES)
    want = fresh_features(s, "cordless drill", head)
    assert np.array_equal(head.features["bm25"], want["bm25"])
    assert np.allclose(head.features["cosine"], want["cosine"], rtol=1e-6, atol=1e-6)
    assert r.ids[:8].tolist() == head.ids[::-1].tolist()
    assert np.allclose(r.features["cosine"], fresh_features(s, "cordless drill", r)["cosine"], rtol=1e-6, atol=1e-6)


def test_mask_memo_is_bounded_by_bytes(flat: HybridSearcher) -> None:
    assert hybrid_mod.MASK_CACHE_BYTES == 64 << 20
    s = HybridSearcher(flat.catalog, flat.encoder, flat.config, flat.lexical, flat.dense.index)
    s.mask_cache_bytes = 3 * N  # three masks of N bytes
    fs = [Filters(price_max=float(p)) for p in range(5)]
    masks = [s.mask(f) for f in fs[:3]]
    assert s._masks.nbytes == 3 * N and len(s._masks) == 3
    assert s.mask(fs[0]) is masks[0]  # touched: now most recently used
    s.mask(fs[3])
    assert s._masks.keys() == [fs[2], fs[0], fs[3]] and s._masks.nbytes == 3 * N  # fs[1], the LRU, went
    s.mask(fs[4])
    assert s._masks.keys() == [fs[0], fs[3], fs[4]]
    assert s.mask(fs[1]) is not masks[1]  # evicted: made again
    s.mask_cache_bytes = N // 2  # below one mask: the newest is still kept
    m = s.mask(fs[2])
    assert s._masks.keys() == [fs[2]] and s._masks.nbytes == N and s.mask(fs[2]) is m
