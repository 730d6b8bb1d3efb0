"""Rocchio pseudo-relevance feedback on the dense half of convex fusion."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shelfwise.index.topk import top_k
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.retrieve.feedback import Feedback
from word_catalog import word_searcher


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def _pad(rows: np.ndarray, fused: list[float], n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` and ``fused`` followed by zero vectors scored below every real one, up to ``n``
    candidates (enough that a small feedback top is a minority of them)."""
    extra = n - len(rows)
    padded = np.vstack([rows, np.zeros((extra, rows.shape[1]), dtype=np.float32)])
    return padded, np.array(fused + [-1.0] * extra, dtype=np.float32)


def test_feedback_query_moves_towards_top_products_centroid() -> None:
    q = _unit([1.0, 0.0, 0.0])
    rows, fused = _pad(
        np.stack([_unit([0.0, 1.0, 0.0]), _unit([0.0, 0.0, 1.0]), _unit([1.0, 1.0, 0.0])]), [0.9, 0.1, 0.8]
    )  # rows 0 and 2 are the top two
    v = Feedback(weight=0.5, depth=2).query(q, rows, fused)
    expected = q + 0.5 * (rows[0] + rows[2]) / 2
    np.testing.assert_allclose(v, expected / np.linalg.norm(expected), rtol=1e-6)
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-6
    assert float(v @ rows[0]) > float(q @ rows[0])  # closer to the feedback products
    assert float(v @ rows[1]) == pytest.approx(0.0, abs=1e-7)  # the product outside the top gains nothing


def test_feedback_off_returns_query_unchanged() -> None:
    q = _unit([1.0, 2.0])
    rows, fused = _pad(np.eye(2, dtype=np.float32), [0.2, 0.9])
    for fb in (Feedback(weight=0.0), Feedback(depth=0)):
        assert not fb.enabled
        assert fb.query(q, rows, fused) is q
    assert Feedback().query(q, rows[:0], fused[:0]) is q  # no candidates


def test_feedback_needs_a_top_that_is_a_minority_of_the_candidates() -> None:
    q = _unit([1.0, 0.0])
    rows, fused = _pad(np.stack([_unit([0.0, 1.0]), _unit([1.0, 1.0])]), [0.3, 0.7])
    assert Feedback(weight=1.0, depth=2).query(q, rows, fused) is not q  # 2 of 8: applied
    assert Feedback(weight=1.0, depth=3).query(q, rows, fused) is q  # 3 of 8: more than a quarter
    assert Feedback(weight=1.0, depth=10).query(q, rows[:2], fused[:2]) is q  # the top would be everything


def test_feedback_ties_are_broken_by_position() -> None:
    q = _unit([1.0, 0.0])
    rows, fused = _pad(np.stack([_unit([0.0, 1.0]), _unit([1.0, -1.0]), _unit([1.0, 1.0])]), [0.5, 0.5, 0.5])
    v = Feedback(weight=1.0, depth=1).query(q, rows, fused)  # first of the tied: row 0
    expected = q + rows[0]
    np.testing.assert_allclose(v, expected / np.linalg.norm(expected), rtol=1e-6)
    np.testing.assert_array_equal(v, Feedback(weight=1.0, depth=1).query(q, rows, fused))


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"weight": -0.1}, "weight"), ({"weight": 11.0}, "weight"), ({"depth": -1}, "depth")]
)
def test_feedback_config_is_validated(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=f"Feedback.{field}"):
        Feedback(**kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def searcher() -> HybridSearcher:
    return word_searcher(
        5, 500, 40, SearchConfig(candidates=50, understand=False, lexical_shortcut=0)
    )  # union of 50+: feedback


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


def test_searcher_without_feedback_gives_the_plain_fusion(searcher: HybridSearcher) -> None:
    """``use_feedback`` False (what a student-embedded index gets) = the default config with feedback off."""
    assert searcher.use_feedback  # a transformer-embedded index applies it
    off = replace(searcher.config, feedback_weight=0.0)
    try:
        searcher.use_feedback = False
        for q in ("drill", "oak ladder lamp"):
            got, want = searcher.search(q, 10), searcher.search(q, 10, config=off)
            assert got.ids.tolist() == want.ids.tolist()
            np.testing.assert_array_equal(got.scores, want.scores)
    finally:
        searcher.use_feedback = True
