"""Batched scoring for fit-time tuning: ``score_many`` / ``minmax_rows`` / ``csr_rows`` give what the
one-context paths give, and the tuning pool holds what per-prefix scoring would cache.

A made-up store: 120 items with random unit vectors, sessions drifting along a cycle of items.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from session_logs import walking_sessions
from shelfwise.recommend import ALSConfig, Context, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import Case, prefix_cases, validation_split
from shelfwise.recommend.base import context_matrix, csr_rows, minmax, minmax_rows
from shelfwise.recommend.factor import ALSRecommender
from shelfwise.recommend.sequence import dense_sums
from shelfwise.recommend.tuning_pool import _cache

N_ITEMS = 120


def _store() -> tuple[Interactions, np.ndarray]:
    rng = np.random.default_rng(1)
    data = walking_sessions(rng, N_ITEMS, 300, 40, 8)
    vec = rng.normal(size=(N_ITEMS, 12)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    return data, vec


@pytest.fixture(scope="module")
def fitted() -> tuple[HybridRecommender, list[Case]]:
    data, vec = _store()
    train, held = validation_split(data, 0.2, 1000)
    hybrid = HybridRecommender(vec, HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1)))
    hybrid.attach(train.catalog, train.profiles)
    hybrid._fit_components(train)
    return hybrid, prefix_cases(train, held)


def _contexts(cases: list[Case]) -> list[Context]:
    unknown = Context(np.array([3], dtype=np.int64), np.array([1.0], dtype=np.float32), sequence=np.zeros(0, np.int64))
    return [c.ctx for c in cases[:60]] + [Context.empty(), Context.of([5, 5, 7]), unknown]


def test_csr_rows_is_scipy_row_indexing() -> None:
    m = sp.random(30, 40, density=0.2, format="csr", random_state=0, dtype=np.float32)
    m = sp.csr_matrix(sp.diags((np.arange(30) != 7).astype(np.float32)) @ m)  # row 7 empty
    m.eliminate_zeros()
    assert m[7].nnz == 0
    for rows in ([], [7], [3, 3, 0, 29, 7, 12], list(range(30))):
        want = m[np.asarray(rows, dtype=np.int64)]
        indptr, indices, data = csr_rows(m, rows)
        np.testing.assert_array_equal(indptr, want.indptr)
        np.testing.assert_array_equal(indices, want.indices)
        np.testing.assert_array_equal(data, want.data)


def test_minmax_rows_is_minmax_of_each_row() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(size=(9, 50)).astype(np.float32)
    s[s < -1.0] = -np.inf
    s[1] = -np.inf  # no evidence
    s[2] = np.where(rng.random(50) < 0.5, 0.0, -np.inf)  # evidence, all zero
    s[3] = np.where(rng.random(50) < 0.5, -2.5, -np.inf)  # one negative value
    s[4] = 4.0  # one positive value
    s[5] = np.where(np.isfinite(s[5]), np.abs(s[5]), -np.inf)  # non-negative: ratio to the maximum
    s[6, :] = -1.0
    s[6, 10] = 3.0
    got = minmax_rows(s)
    want = np.stack([minmax(r) for r in s])
    np.testing.assert_array_equal(got, want)
    assert got[1].sum() == 0 and got[2].sum() == 0 and (got[4] == 1.0).all()
    with pytest.raises(ValueError, match="finite or -inf"):
        minmax_rows(np.array([[1.0, np.inf]], dtype=np.float32))


@pytest.mark.parametrize("general", [0, 2, 6])  # rows holding a negative score: none, some, all
def test_minmax_rows_in_place_is_the_copy(general: int) -> None:
    rng = np.random.default_rng(3)
    s = np.abs(rng.normal(size=(6, 40))).astype(np.float32)
    s[rng.random((6, 40)) < 0.4] = -np.inf
    s[:general] -= np.float32(0.5)
    s[-1, 3] = -0.0  # reads lowest as int32 bits, yet not negative
    want = np.stack([minmax(r) for r in s])
    own = s.copy()
    got = minmax_rows(own, overwrite=True)
    assert got is own
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(minmax_rows(s), want)


def test_every_component_scores_many_contexts_as_it_scores_one(fitted: tuple[HybridRecommender, list[Case]]) -> None:
    hybrid, cases = fitted
    contexts = _contexts(cases)
    for name, comp in hybrid.components.items():
        if name == "sasrec":
            continue  # off here; tested in test_recommend_sasrec.py
        many = comp.score_many(contexts)
        one = np.stack([comp.score(c) for c in contexts])
        assert many.shape == (len(contexts), N_ITEMS)
        # bit for bit: tuning on batched scores must pick what per-prefix scoring would
        np.testing.assert_array_equal(minmax_rows(many), np.stack([minmax(r) for r in one]), err_msg=name)
        finite = np.isfinite(one) & (one != 0)  # where a score is 0, "no evidence" scales the same
        assert (np.isfinite(many) == np.isfinite(one))[finite].all(), name
    assert comp.score_many([]).shape == (0, N_ITEMS)


def test_content_score_many_adds_the_query_term(fitted: tuple[HybridRecommender, list[Case]]) -> None:
    hybrid, _ = fitted
    q = hybrid.content.vectors[4]
    contexts = [Context.of([], query_vector=q), Context.of([1, 2], query_vector=q), Context.of([1, 2])]
    many = hybrid.content.score_many(contexts)
    one = np.stack([hybrid.content.score(c) for c in contexts])
    np.testing.assert_allclose(many, one, rtol=1e-5, atol=1e-6)
    matches = hybrid.content.query_matches(contexts[0])
    assert matches is not None and 4 in matches.rows.tolist()  # the item whose vector is the query
    reached = np.isfinite(many[0])  # the query term reaches its matches only, the best most
    assert reached.sum() == len(matches) < N_ITEMS and reached[matches.rows].all()
    assert int(np.argmax(many[0])) == 4
    assert (np.isfinite(many[1]) >= np.isfinite(many[2])).all() and reached[matches.rows].all()
    assert (many[1][matches.rows] > np.where(np.isfinite(many[2]), many[2], 0.0)[matches.rows]).all()


def test_als_score_many_uses_learned_factors_for_known_users() -> None:
    als = ALSRecommender(ALSConfig(factors=8, iterations=3, num_threads=1, fold_in_known_users=False))
    als.fit(_store()[0])
    known = next(iter(als.users))
    contexts = [Context.of([1, 2], user=known), Context.of([1, 2], user="nobody"), Context.empty("nobody")]
    contexts += [Context.of([1, 2], user="other"), Context.of([4], user=known), Context.of([4])]  # shared solves
    one = np.stack([als.score(c) for c in contexts])
    for block in (4096, 64):  # blocks of items: the same dot product per item, bit for bit
        many = als.score_many(contexts, block=block)
        np.testing.assert_array_equal(many, one)
    assert not np.isfinite(many[2]).any()
    with pytest.raises(ValueError, match="multiple of 64"):
        als.score_many(contexts, block=100)


def test_context_matrix_sums_duplicate_items() -> None:
    m = context_matrix([Context.of([2, 2, 0], [1.0, 0.5, 2.0]), Context.empty()], 4)
    np.testing.assert_array_equal(m.toarray(), [[2.0, 0.0, 1.5, 0.0], [0.0, 0.0, 0.0, 0.0]])


def test_dense_sums_marks_touched_items_even_at_zero() -> None:
    got = dense_sums(np.array([3, 1, 3]), np.array([0.5, 0.0, 0.25]), 5)
    np.testing.assert_array_equal(got, [-np.inf, 0.0, -np.inf, 0.75, -np.inf])
    assert not np.isfinite(dense_sums(np.zeros(0, np.int64), np.zeros(0), 5)).any()


def _top(d: np.ndarray, n_cand: int) -> set[int]:
    """A component's candidates: its positive scores down to the ``n_cand``-th highest, ties kept."""
    pos = np.flatnonzero(d > 0)
    if len(pos) > n_cand:
        pos = pos[d[pos] >= np.sort(d[pos])[::-1][n_cand - 1]]
    return set(pos.tolist())


def _check_pool(hybrid: HybridRecommender, cases: list[Case], names: list[str], n_cand: int) -> None:
    pool = _cache(hybrid, cases, names, n_cand, cells=7 * N_ITEMS)  # blocks of 7 prefixes
    assert len(pool.start) == len(cases) + 1 and len(pool.truth) == len(cases)
    for j, c in enumerate(cases):
        a, b = int(pool.start[j]), int(pool.start[j + 1])
        items = pool.item[a:b]
        assert (np.diff(items) > 0).all()  # each item once, ascending
        scored = hybrid.component_scores(c.ctx, dict.fromkeys(names, 1.0))
        assert set(items.tolist()) == {c.truth}.union(*(_top(scored[n], n_cand) for n in names))
        assert items[int(pool.truth[j]) - a] == c.truth
        want = np.stack([scored[n][items] for n in names])
        np.testing.assert_allclose(pool.scores[:, a:b], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(pool.seen[a:b], np.isin(items, c.ctx.items))
        np.testing.assert_allclose(pool.log_counts[a:b], np.log1p(hybrid.counts[items]), rtol=1e-6)
    assert (pool.owner == np.repeat(np.arange(len(cases)), np.diff(pool.start))).all()
    new = pool.select(np.array([c.new for c in cases]))
    assert (new.item[new.truth] == [c.truth for c in cases if c.new]).all()


def test_tuning_pool_holds_each_prefix_candidates(fitted: tuple[HybridRecommender, list[Case]]) -> None:
    hybrid, cases = fitted
    names = ["repeat", "cooccurrence", "als", "content", "popularity", "recent", "sequence", "sknn"]
    _check_pool(hybrid, cases[:80], names, 15)
    for name in names:  # one component alone: its own top, nothing another component adds
        _check_pool(hybrid, cases[:40], [name], 10)


def test_sasrec_score_many_pads_shorter_sequences_invisibly() -> None:
    pytest.importorskip("torch")
    from shelfwise.recommend.sasrec import SASRecConfig, SASRecRecommender

    data, _ = _store()
    cfg = SASRecConfig(dim=16, blocks=2, heads=2, max_len=8, dropout=0.1, epochs=2, negatives=16, threads=1)
    m = SASRecRecommender(cfg)
    m.fit(data)
    contexts = [
        Context.of([4]),
        Context.empty(),
        Context.of([1, 2, 3]),
        Context.of(list(range(20, 32))),
        Context.of([9, 9]),
    ]
    many = m.score_many(contexts, batch=2)  # batches cross sequence lengths and the empty context
    one = np.stack([m.score(c) for c in contexts])
    assert not np.isfinite(many[1]).any()
    np.testing.assert_allclose(many, one, rtol=1e-4, atol=1e-4)
    assert np.isfinite(many[0]).sum() == int(m.known.sum())


def test_als_refit_starts_from_the_factors_it_has() -> None:
    data, _ = _store()
    cfg = ALSConfig(factors=8, iterations=15, num_threads=1)
    als = ALSRecommender(cfg)
    als.fit(data)
    before = als.item_factors.copy()
    als.refit(data, 1)  # one sweep from converged factors barely moves them
    warm_change = np.linalg.norm(als.item_factors - before) / np.linalg.norm(before)
    cold = ALSRecommender(ALSConfig(factors=8, iterations=1, num_threads=1))
    cold.fit(data)  # one sweep from random factors lands far away
    cold_change = np.linalg.norm(cold.item_factors - before) / np.linalg.norm(before)
    assert warm_change < 0.2 < cold_change
    fresh = ALSRecommender(cfg)
    fresh.attach(data.catalog, data.profiles)
    fresh.refit(data, 1)  # nothing fitted yet: the full fit
    np.testing.assert_allclose(fresh.item_factors, before, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("refit", [0, 2])
def test_hybrid_refits_als_warm_after_tuning(refit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from shelfwise.recommend.autotune import TuneConfig

    data, vec = _store()
    calls: list[int] = []
    monkeypatch.setattr(ALSRecommender, "refit", lambda self, d, it: calls.append(it) or self.fit(d))
    tune = TuneConfig(fraction=0.2, min_cases=10, refit_iterations=refit)
    hybrid = HybridRecommender(vec, HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=tune))
    hybrid.fit(data)
    assert hybrid.tuning.status == "tuned"
    assert calls == ([refit] if refit else [])
    with pytest.raises(ValueError, match="refit_iterations"):
        TuneConfig(refit_iterations=-1)


def test_kth_largest_is_the_kth_positive_value() -> None:
    from shelfwise.recommend.tuning_pool import kth_largest

    rng = np.random.default_rng(3)
    d = np.where(rng.random((6, 997)) < 0.3, rng.random((6, 997)), 0.0).astype(np.float32)
    d[1, :50] = 5.0  # ties above the cut
    d[2] = np.where(np.arange(997) < 12, 1.0 + np.arange(997), 0.0)  # few positives: all in the first slice
    d[3] = np.round(d[3] * 4) / 4  # many ties at the cut
    for k in (1, 10, 12):
        want = [np.sort(r[r > 0])[::-1][k - 1] for r in d]
        np.testing.assert_array_equal(kth_largest(d, k), want)


@pytest.mark.parametrize("repeat", [1, 40])
def test_sknn_neighbour_similarities_match_a_direct_count(repeat: int) -> None:
    from shelfwise.recommend.sequence import SessionKNNConfig, SessionKNNRecommender

    data, _ = _store()
    m = SessionKNNRecommender(SessionKNNConfig(neighbours=10_000))
    m.fit(data)
    if repeat > 1:  # more past sessions than 8x a context's entries: the sort-based branch
        m.by_item = sp.csr_matrix(sp.hstack([m.by_item] * repeat))
        m.lengths = np.tile(m.lengths, repeat)
    by_item = m.by_item.toarray()
    for seq in ([3], [5, 9, 5, 12], list(range(40, 60))):
        sess, sim, items, w = m.neighbours(Context.of(seq))
        raw = (w[:, None] * by_item[items]).astype(np.float64).sum(axis=0)
        want = np.flatnonzero(raw)
        np.testing.assert_array_equal(np.sort(sess), want)
        expect = (raw[want].astype(np.float32) / np.sqrt(m.lengths[want] * np.float32(len(items)))).astype(np.float32)
        np.testing.assert_allclose(sim[np.argsort(sess)], expect, rtol=1e-6)
