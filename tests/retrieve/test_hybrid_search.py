from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Filters
from shelfwise.encode import HashingEncoder
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher, SearchConfig, rrf, weighted


def test_rrf_and_weighted_fusion() -> None:
    a = Results(np.array([1, 2, 3]), np.array([3.0, 2.0, 1.0], dtype=np.float32))
    b = Results(np.array([3, 1, 4]), np.array([0.9, 0.8, 0.1], dtype=np.float32))
    r = rrf([a, b], 4)
    assert r.ids[0] in (1, 3) and set(r.ids.tolist()) == {1, 2, 3, 4}
    assert r.scores[0] == pytest.approx(1 / 61 + 1 / 62)
    w = weighted([a, b], 4, [1.0, 0.0])
    assert w.ids.tolist()[:3] == [1, 2, 3]


def names(cat: Catalog, r: Results) -> list[str]:
    return [cat.ids[i] for i in r.ids]


def test_modes_filters_and_exclude(tiny_searcher: HybridSearcher, tiny_catalog: Catalog) -> None:
    for mode in ("bm25", "dense", "hybrid"):
        r = tiny_searcher.search("black trousers", 3, mode=mode)
        assert names(tiny_catalog, r)[0] == "p1", mode
    r = tiny_searcher.search("black", 10, Filters(category=("Women",)))
    assert set(names(tiny_catalog, r)) <= {"p5", "p6", "p7", "p12"} and "p6" in names(tiny_catalog, r)
    r = tiny_searcher.search("black trousers", 5, exclude=[0])
    assert "p1" not in names(tiny_catalog, r)
    with pytest.raises(ValueError):
        tiny_searcher.search("x", 0)


def test_personalisation_moves_results(tiny_searcher: HybridSearcher, tiny_catalog: Catalog) -> None:
    plain = names(tiny_catalog, tiny_searcher.search("dress", 3))
    target = plain[-1]
    user = tiny_searcher.item_vectors[tiny_catalog.row(target)]
    personal = names(
        tiny_catalog, tiny_searcher.search("dress", 3, user_vector=user, config=SearchConfig(personal_weight=5.0))
    )
    assert personal[0] == target != plain[0]
    unchanged = names(tiny_catalog, tiny_searcher.search("dress", 3, user_vector=user))  # weight 0 by default
    assert unchanged == plain


def test_reranker_reorders_head(tiny_catalog: Catalog) -> None:
    class Reverse:
        def rerank(self, query: str, results: Results) -> Results:
            return Results(results.ids[::-1].copy(), results.scores[::-1].copy())

    s = HybridSearcher.build(tiny_catalog, HashingEncoder(128), SearchConfig(rerank_depth=3))
    base = s.search("dress", 3)
    s.reranker = Reverse()
    assert s.search("dress", 3).ids.tolist() == base.ids.tolist()[::-1]


def test_save_load_roundtrip(tmp_path: Path, tiny_searcher: HybridSearcher, tiny_catalog: Catalog) -> None:
    tiny_searcher.save(tmp_path / "idx")
    again = HybridSearcher.load(tmp_path / "idx", tiny_catalog, HashingEncoder(128))
    assert again.search("red dress", 5).ids.tolist() == tiny_searcher.search("red dress", 5).ids.tolist()
    with pytest.raises(ValueError, match="encoder"):
        HybridSearcher.load(tmp_path / "idx", tiny_catalog, HashingEncoder(64))


def test_convex_fusion_scores_union_exactly(tiny_searcher: HybridSearcher, tiny_catalog: Catalog) -> None:
    cfg = SearchConfig(fusion="convex", dense_weight=0.0, understand=False)  # fusion alone, no boosts
    lexical_only = tiny_searcher.search("black trousers", 3, config=cfg)
    bm25 = tiny_searcher.lexical.scores("black trousers")
    assert np.allclose(lexical_only.scores, bm25[lexical_only.ids] / bm25.max())
    assert np.allclose(lexical_only.scores, np.sort(bm25)[::-1][:3] / bm25.max())
    r = tiny_searcher.search("black trousers", 12, config=SearchConfig(dense_weight=0.5, understand=False))
    assert np.all(np.diff(r.scores) <= 1e-7) and r.scores[0] <= 1.0 + 1e-6
    filtered = tiny_searcher.search("black", 5, Filters(category=("Women",)), config=cfg)
    assert set(names(tiny_catalog, filtered)) <= {"p5", "p6", "p7", "p12"}


def test_config_validation() -> None:
    for bad in ({"rrf_k": 0}, {"personal_weight": -1.0}, {"dense_weight": 1.5}, {"fusion": "max"}):
        with pytest.raises(ValueError):
            SearchConfig(**bad)  # type: ignore[arg-type]


def test_chinese_queries_route_to_multilingual_retriever(
    tiny_catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shelfwise.retrieve import translate

    monkeypatch.setattr(translate, "available", lambda: False)  # the query as typed (no English words added)

    class Recording(HashingEncoder):
        def __init__(self) -> None:
            super().__init__(dim=64)
            self.seen: list[str] = []

        @property
        def name(self) -> str:
            return "recording-multilingual"

        def encode(self, texts, *, batch_size=64, progress=False):  # type: ignore[no-untyped-def]
            self.seen.extend(texts)
            return super().encode(texts)

    multi = Recording()
    s = HybridSearcher.build(tiny_catalog, HashingEncoder(128), multilingual=multi)
    n_docs = len(multi.seen)
    s.search("black trousers", 3)
    assert len(multi.seen) == n_docs  # English query: main encoder only
    r = s.search("红色连衣裙", 3)
    assert multi.seen[-1] == "红色连衣裙" and tiny_catalog.ids[int(r.ids[0])] == "p12"
    s.save(tmp_path / "idx")
    again = HybridSearcher.load(tmp_path / "idx", tiny_catalog, HashingEncoder(128), multilingual=Recording())
    assert again.multilingual is not None
    assert again.search("红色连衣裙", 3).ids.tolist() == r.ids.tolist()
    assert HybridSearcher.load(tmp_path / "idx", tiny_catalog, HashingEncoder(128)).multilingual is None
