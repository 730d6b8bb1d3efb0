"""Long, repetitive contexts (a session of thousands of clicks on a few popular items): the linear
scorers gather one row per distinct item, with the scores of gathering one per click (float32
rounding aside), the batched path's scores bit for bit, and the same lists and reasons.

A made-up store: 120 items with random unit vectors, sessions walking forward through item ids.
"""

from __future__ import annotations

import numpy as np
import pytest

from session_logs import walking_store
from shelfwise.recommend import ALSConfig, Context, HybridConfig, HybridRecommender
from shelfwise.recommend.base import context_matrix, summed_duplicates
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender, pair_count

N_ITEMS = 120


@pytest.fixture(scope="module")
def hybrid() -> HybridRecommender:
    data, vec = walking_store(N_ITEMS)
    cfg = HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1))
    h = HybridRecommender(vec, cfg)  # default weights, not tuned: every component scores
    h.attach(data.catalog, data.profiles)
    h._fit_components(data)
    return h


def _clicks(n: int, seed: int = 3, pool: int = 30) -> list[int]:
    """``n`` clicks on ``pool`` items, Zipf-popular: a few items clicked hundreds of times."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, pool + 1) ** 1.2
    return rng.permutation(N_ITEMS)[rng.choice(pool, n, p=p / p.sum())].tolist()


def test_summed_duplicates_sums_repeats_as_the_batched_matrix_does() -> None:
    items = np.array([5, 2, 9], dtype=np.int64)
    w = np.array([1.0, 0.5, 2.0], dtype=np.float32)
    same_items, same_w = summed_duplicates(items, w)
    assert same_items is items and same_w is w  # nothing repeats: untouched, order kept
    items = np.array([5, 2, 5, 9, 2, 5], dtype=np.int64)
    w = np.array([1.0, 0.5, 0.25, 2.0, 0.125, 3.0], dtype=np.float32)
    got_items, got_w = summed_duplicates(items, w)
    np.testing.assert_array_equal(got_items, [2, 5, 9])
    np.testing.assert_array_equal(got_w, np.array([0.625, 4.25, 2.0], dtype=np.float32))
    row = context_matrix([Context(items, w)], 20)
    np.testing.assert_array_equal(row.indices, got_items)
    np.testing.assert_array_equal(row.data, got_w)


def _per_click(co: CooccurrenceRecommender, ctx: Context) -> np.ndarray:
    """The co-occurrence scores gathering one row per click (the code before), float32."""
    a = co.config.alpha
    w = ctx.weights / co.norm(a)[ctx.items]
    raw = np.asarray(co.pairs[ctx.items].T @ w, dtype=np.float32).ravel()
    return np.where(raw > 0, raw / co.norm(1.0 - a), -np.inf).astype(np.float32)


def _exact(co: CooccurrenceRecommender, ctx: Context) -> np.ndarray:
    """The same scores in float64, one click at a time."""
    a = co.config.alpha
    dense = co.pairs.toarray().astype(np.float64)
    norm_a = np.maximum(co.baskets.astype(np.float64), 1.0) ** a
    raw = np.zeros(co.n_items)
    for i, w in zip(ctx.items.tolist(), ctx.weights.astype(np.float64).tolist(), strict=True):
        raw += dense[i] * (w / norm_a[i])
    return np.where(raw > 0, raw / np.maximum(co.baskets.astype(np.float64), 1.0) ** (1.0 - a), -np.inf)


@pytest.mark.parametrize("weighted", [False, True])
def test_cooccurrence_scores_a_repetitive_context_as_one_row_per_click(
    hybrid: HybridRecommender, weighted: bool
) -> None:
    co = hybrid.cooccurrence
    clicks = _clicks(3000)
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(clicks)) if weighted else None
    ctx = Context.of(clicks, w)
    assert len(np.unique(ctx.items)) < len(ctx) / 10  # duplicate-heavy
    got = co.score(ctx)
    np.testing.assert_array_equal(got, co.score_many([ctx])[0])  # the batched path (tuning's) bit for bit
    exact, before = _exact(co, ctx), _per_click(co, ctx)
    fin = np.isfinite(exact)
    np.testing.assert_array_equal(np.isfinite(got), fin)
    np.testing.assert_allclose(got[fin], exact[fin], rtol=1e-5)
    # no further from the float64 scores than one row per click was
    assert np.abs(got[fin] - exact[fin]).max() <= np.abs(before[fin] - exact[fin]).max() * 1.01 + 1e-7
    top = np.argsort(-exact, kind="stable")[:20]
    np.testing.assert_array_equal(np.argsort(-got, kind="stable")[:20], top)


def test_content_scores_a_repetitive_context_as_one_row_per_click(hybrid: HybridRecommender) -> None:
    content = hybrid.content
    ctx = Context.of(_clicks(2000))
    got = content.score(ctx)
    np.testing.assert_array_equal(got, content.score_many([ctx])[0])
    sub = content.graph[ctx.items].toarray().astype(np.float64)  # one row per click
    hit = sub.any(axis=0)
    np.testing.assert_array_equal(np.isfinite(got), hit)
    np.testing.assert_allclose(got[hit], (sub.T @ ctx.weights.astype(np.float64))[hit], rtol=1e-5)


def _partner_exact(co: CooccurrenceRecommender, ctx: Context, item: int) -> int | None:
    """The context item whose float64 term in the score (pair count x summed weight / basket
    count ** alpha) is the largest for ``item`` (ties: the lowest row)."""
    distinct = np.unique(ctx.items)
    summed = np.array([ctx.weights[ctx.items == i].astype(np.float64).sum() for i in distinct])
    counts = co.pairs[:, [item]].toarray().ravel()[distinct].astype(np.float64)
    terms = counts * summed / np.maximum(co.baskets[distinct].astype(np.float64), 1.0) ** co.config.alpha
    return int(distinct[np.argmax(terms)]) if terms.max(initial=0.0) > 0 else None


def test_partner_and_pair_counts_are_what_scipy_and_float64_give(hybrid: HybridRecommender) -> None:
    co = hybrid.cooccurrence
    rng = np.random.default_rng(4)
    for n in (1, 3, 500):
        clicks = _clicks(n, seed=n)
        ctx = Context.of(clicks, rng.choice([0.5, 1.0, 2.0], n))  # ties between partners too
        for item in range(N_ITEMS):
            assert co.partner(ctx, item) == _partner_exact(co, ctx, item)
    assert co.partner(Context.empty(), 3) is None
    for a, b in rng.integers(0, N_ITEMS, (300, 2)).tolist():
        assert pair_count(co.pairs, a, b) == float(co.pairs[a, b])


def test_a_long_repetitive_session_gets_the_list_of_one_row_per_click(
    hybrid: HybridRecommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    clicks = _clicks(4000)
    got = {ex: hybrid.recommend_session(clicks, 10, exclude_seen=ex) for ex in (True, False)}
    untouched = lambda items, weights: (items, weights)  # noqa: E731 - the code before: one row per click
    monkeypatch.setattr("shelfwise.recommend.cooccurrence.summed_duplicates", untouched)
    monkeypatch.setattr("shelfwise.recommend.content.summed_duplicates", untouched)
    monkeypatch.setattr(CooccurrenceRecommender, "partner", _partner_exact)
    for ex, rec in got.items():
        want = hybrid.recommend_session(clicks, 10, exclude_seen=ex)
        assert len(rec) == 10
        np.testing.assert_array_equal(rec.ids, want.ids)
        np.testing.assert_allclose(rec.scores, want.scores, rtol=1e-5)
        assert rec.reasons == want.reasons
