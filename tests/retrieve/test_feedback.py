"""Rocchio pseudo-relevance feedback on the dense half of convex fusion."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index import VectorIndexConfig
from shelfwise.index.topk import top_k
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.retrieve.feedback import Feedback


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_feedback_query_moves_towards_top_products_centroid() -> None:
    q = _unit([1.0, 0.0, 0.0])
    rows = np.stack([_unit([0.0, 1.0, 0.0]), _unit([0.0, 0.0, 1.0]), _unit([1.0, 1.0, 0.0])])
    fused = np.array([0.9, 0.1, 0.8], dtype=np.float32)  # rows 0 and 2 are the top two
    v = Feedback(weight=0.5, depth=2).query(q, rows, fused)
    expected = q + 0.5 * (rows[0] + rows[2]) / 2
    np.testing.assert_allclose(v, expected / np.linalg.norm(expected), rtol=1e-6)
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-6
    assert float(v @ rows[0]) > float(q @ rows[0])  # closer to the feedback products
    assert float(v @ rows[1]) == pytest.approx(0.0, abs=1e-7)  # the product outside the top gains nothing


def test_feedback_off_returns_query_unchanged() -> None:
    q = _unit([1.0, 2.0])
    rows = np.eye(2, dtype=np.float32)
    fused = np.array([0.2, 0.9], dtype=np.float32)
    for fb in (Feedback(weight=0.0), Feedback(depth=0)):
        assert not fb.enabled
        assert fb.query(q, rows, fused) is q
    assert Feedback().query(q, rows[:0], fused[:0]) is q  # no candidates


def test_feedback_ties_are_broken_by_position() -> None:
    q = _unit([1.0, 0.0])
    rows = np.stack([_unit([0.0, 1.0]), _unit([1.0, -1.0]), _unit([1.0, 1.0])])
    fused = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    v = Feedback(weight=1.0, depth=1).query(q, rows, fused)  # first of the tied: row 0
    expected = q + rows[0]
    np.testing.assert_allclose(v, expected / np.linalg.norm(expected), rtol=1e-6)
    np.testing.assert_array_equal(v, Feedback(weight=1.0, depth=1).query(q, rows, fused))


def test_feedback_depth_beyond_candidates_uses_them_all() -> None:
    q = _unit([1.0, 0.0])
    rows = np.stack([_unit([0.0, 1.0]), _unit([1.0, 1.0])])
    v = Feedback(weight=1.0, depth=10).query(q, rows, np.array([0.3, 0.7], dtype=np.float32))
    expected = q + rows.mean(axis=0)
    np.testing.assert_allclose(v, expected / np.linalg.norm(expected), rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"weight": -0.1}, "weight"), ({"weight": 11.0}, "weight"), ({"depth": -1}, "depth")]
)
def test_feedback_config_is_validated(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=f"Feedback.{field}"):
        Feedback(**kwargs)  # type: ignore[arg-type]


WORDS = ("drill", "cordless", "hammer", "steel", "saw", "oak", "ladder", "lamp", "brass", "tile", "paint", "matte")


@pytest.fixture(scope="module")
def searcher() -> HybridSearcher:
    rng = np.random.default_rng(5)
    products = [
        Product(id=f"p{i}", title=" ".join(rng.choice(WORDS, size=int(rng.integers(2, 7)))) + f" {i % 40}")
        for i in range(500)
    ]
    cfg = SearchConfig(candidates=30, understand=False)
    return HybridSearcher.build(Catalog(products), HashingEncoder(dim=64), cfg, vector=VectorIndexConfig(kind="flat"))


def _scaled(c: np.ndarray) -> np.ndarray:
    span = float(c.max() - c.min())
    return (c - c.min()) / span if span > 1e-12 else np.ones_like(c)


@pytest.mark.parametrize("query", ["drill", "oak ladder lamp", "brass tile 7", "cordles hammer"])
def test_hybrid_search_applies_feedback_over_the_candidate_union(searcher: HybridSearcher, query: str) -> None:
    """Default convex search = the union re-scored against the feedback vector of the no-feedback
    fused top 10; match features keep the query's own cosine; weight 0 gives the plain fusion."""
    cfg = searcher.config
    assert cfg.feedback == Feedback(0.5, 10)
    n, w = cfg.candidates, cfg.dense_weight
    off = replace(cfg, feedback_weight=0.0)
    plain = searcher.search(query, n, config=off)
    parts = searcher.lexical.score_parts(query)
    union = np.union1d(top_k(parts.mixed, n).ids, searcher.dense.retrieve(query, n).ids)
    rows = searcher.dense.index.rows(union)
    q = searcher.dense.embed(query)
    b = parts.mixed[union] / parts.mixed[union].max()
    fused0 = ((1 - w) * b + w * _scaled(rows @ q)).astype(np.float32)
    top10 = union[np.argsort(-fused0, kind="stable")[:10]]
    assert set(top10.tolist()) == set(plain.ids[:10].tolist())
    v = q + 0.5 * searcher.dense.index.rows(top10).mean(axis=0)
    v = v / np.linalg.norm(v)
    fused = ((1 - w) * b + w * _scaled(rows @ v)).astype(np.float32)
    want = union[np.argsort(-fused, kind="stable")][:10]
    got = searcher.search(query, 10, match_features=True)
    assert got.ids.tolist() == want.tolist()
    np.testing.assert_allclose(got.features["cosine"], rows[np.searchsorted(union, got.ids)] @ q, rtol=1e-5)
    assert searcher.search(query, 10, config=off).ids.tolist() == plain.ids[:10].tolist()
    assert not np.allclose(got.scores, plain.scores[:10])  # the feedback changed the fused scores


def test_search_config_validates_feedback() -> None:
    with pytest.raises(ValueError, match="feedback_depth"):
        SearchConfig(feedback_depth=-2)
    with pytest.raises(ValueError, match="feedback_weight"):
        SearchConfig(feedback_weight=-0.5)
