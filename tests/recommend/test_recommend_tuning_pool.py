"""Fit-time tuning details: held-out sessions meet their own shopper's history, tied scores are
ordered at random, new-items lists scale components over the items they may show, and earlier
validation slices add prefixes on small stores.

A made-up store: 120 items, sessions drifting along a cycle of items, 40 returning shoppers.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import ALSConfig, Context, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import Case, TuneConfig, prefix_cases, validation_folds, validation_split
from shelfwise.recommend.tuning_pool import _cache, _caches, _concat, _Pool

N_ITEMS = 120
NAMES = ["cooccurrence", "als", "popularity", "recent", "sequence", "sknn"]


def _catalog() -> Catalog:
    return Catalog([Product(id=f"p{i}", title=f"item {i}") for i in range(N_ITEMS)])


def _events(cat: Catalog) -> list[Event]:
    """300 sessions of 2-7 views by 40 shoppers, each view 1-3 items on along the cycle."""
    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 8, size=300)
    first = rng.integers(0, N_ITEMS, size=300)
    steps = rng.integers(1, 4, size=(300, 8))
    items = (first[:, None] + np.cumsum(steps, axis=1) - steps[:, :1]) % N_ITEMS
    return [
        Event(f"u{k % 40}", EventType.VIEW, 1000.0 * k + j, cat.products[int(items[k, j])].id, session_id=f"s{k}")
        for k in range(300)
        for j in range(int(lengths[k]))
    ]


@pytest.fixture(scope="module")
def fitted() -> tuple[HybridRecommender, list[Case]]:
    cat = _catalog()
    data = Interactions.from_log(EventLog.from_events(_events(cat), cat), cat)
    train, held = validation_split(data, 0.2, 1000)
    vec = np.random.default_rng(2).normal(size=(N_ITEMS, 12)).astype(np.float32)
    hybrid = HybridRecommender(vec, HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1)))
    hybrid.attach(train.catalog, train.profiles)
    hybrid._fit_components(train)
    return hybrid, prefix_cases(train, held)


def test_prefix_cases_match_history_by_user_id_across_logs() -> None:
    cat = _catalog()
    ev = [
        Event("alice", EventType.VIEW, 1.0, "p1", session_id="a1"),
        Event("alice", EventType.VIEW, 2.0, "p2", session_id="a1"),
        Event("bob", EventType.VIEW, 3.0, "p7", session_id="b1"),
        Event("bob", EventType.VIEW, 4.0, "p8", session_id="b1"),
    ]
    test = [  # only bob returns: in the test log he is user 0, in the training log user 1
        Event("bob", EventType.VIEW, 10.0, "p30", session_id="b2"),
        Event("bob", EventType.VIEW, 11.0, "p31", session_id="b2"),
        Event("carol", EventType.VIEW, 12.0, "p50", session_id="c1"),
        Event("carol", EventType.VIEW, 13.0, "p51", session_id="c1"),
    ]
    train = Interactions.from_log(EventLog.from_events(ev, cat), cat)
    held = Interactions.from_log(EventLog.from_events(test, cat), cat)
    assert train.users.index("bob") != held.users.index("bob")  # the trap: indices differ
    cases = {c.ctx.user: c for c in prefix_cases(train, held)}
    assert cases["bob"].ctx.ordered.tolist() == [7, 8, 30]  # his own history, then the prefix
    assert cases["carol"].ctx.ordered.tolist() == [50]  # a new shopper: the prefix only


def _one(scores: list[float], truth: int, seen: list[bool] | None = None) -> _Pool:
    n = len(scores)
    return _Pool(
        np.array([scores], dtype=np.float32),
        np.zeros(n, np.float32),
        np.array(seen or [False] * n),
        np.array([0, n], dtype=np.int64),
        np.array([truth], dtype=np.int64),
        np.zeros(n, np.int64),
        np.arange(n, dtype=np.int64),
    )


def test_pool_ndcg_averages_over_places_among_ties() -> None:
    w = np.ones(1, np.float32)
    g = 1.0 / np.log2(np.arange(5) + 2.0)
    assert _one([1.0, 1.0, 1.0], 0).ndcg(w, 0.0, 20, False)[0] == pytest.approx(g[:3].mean())
    assert _one([2.0, 1.0, 1.0], 1).ndcg(w, 0.0, 20, False)[0] == pytest.approx(g[1:3].mean())
    assert _one([1.0, 1.0, 1.0], 0).ndcg(w, 0.0, 2, False)[0] == pytest.approx(g[:2].sum() / 3)  # past k: 0
    assert _one([2.0, 1.0, 0.5], 1).ndcg(w, 0.0, 20, False)[0] == pytest.approx(g[1])  # no tie: its rank
    assert _one([1.0, 1.0, 1.0], 0, [False, True, False]).ndcg(w, 0.0, 20, True)[0] == pytest.approx(g[:2].mean())
    assert _one([0.0, 0.0], 0).ndcg(w, 0.0, 20, False)[0] == 0.0  # no evidence for the truth


def test_concat_of_parts_is_the_pool_of_all(fitted: tuple[HybridRecommender, list[Case]]) -> None:
    hybrid, cases = fitted
    whole = _cache(hybrid, cases, NAMES, 10)
    joined = _concat([_cache(hybrid, cases[:17], NAMES, 10), _cache(hybrid, cases[17:], NAMES, 10)])
    for field in ("scores", "log_counts", "seen", "start", "truth", "owner", "item"):
        np.testing.assert_array_equal(getattr(joined, field), getattr(whole, field))
    w = np.ones(len(NAMES), np.float32)
    np.testing.assert_array_equal(joined.ndcg(w, 0.1, 20, False), whole.ndcg(w, 0.1, 20, False))


def test_pool_blocks_scored_in_threads_are_the_one_thread_pool(fitted: tuple[HybridRecommender, list[Case]]) -> None:
    hybrid, cases = fitted
    one = _caches(hybrid, cases, NAMES, 10, cells=7 * N_ITEMS, unseen=True, threads=1)  # blocks of 7 prefixes
    many = _caches(hybrid, cases, NAMES, 10, cells=7 * N_ITEMS, unseen=True, threads=3)
    assert one[1] is not None and many[1] is not None
    for a, b in ((one[0], many[0]), (one[1], many[1])):
        for field in ("scores", "log_counts", "seen", "start", "truth", "owner", "item"):
            np.testing.assert_array_equal(getattr(b, field), getattr(a, field), err_msg=field)


def test_weight_of_a_component_scoring_nothing_leaves_pool_ndcg_bit_for_bit(
    fitted: tuple[HybridRecommender, list[Case]],
) -> None:
    """What lets the ascent score such weights once: repeats score 0 on every new-items entry."""
    hybrid, cases = fitted
    names = ["repeat", *NAMES]
    _, unseen = _caches(hybrid, cases, names, 10, unseen=True)
    assert unseen is not None and not unseen.scores[0].any() and unseen.scores[1:].any()
    w = np.array([0.0, 0.5, 0.1, 0.25, 1.0, 0.5, 2.0], dtype=np.float32)
    for penalty in (0.0, 0.1):
        want = unseen.ndcg(w, penalty, 20, exclude_seen=True)
        for v in (0.1, 2.0):
            w[0] = v
            np.testing.assert_array_equal(unseen.ndcg(w, penalty, 20, exclude_seen=True), want)
        w[0] = 0.0


def test_unseen_pool_scales_over_unseen_items(fitted: tuple[HybridRecommender, list[Case]]) -> None:
    hybrid, cases = fitted
    pool, unseen = _caches(hybrid, cases, NAMES, 10, cells=7 * N_ITEMS, unseen=True)
    new = [c for c in cases if c.new]
    assert unseen is not None and len(unseen.start) == len(new) + 1 and len(pool.start) == len(cases) + 1
    assert not unseen.seen.any()
    weights = dict.fromkeys(NAMES, 1.0)
    differs = False
    for j, c in enumerate(new):
        a, b = int(unseen.start[j]), int(unseen.start[j + 1])
        items = unseen.item[a:b]
        assert items[int(unseen.truth[j]) - a] == c.truth
        assert not np.isin(items, c.ctx.items).any()
        scaled = hybrid.component_scores(c.ctx, weights, exclude_seen=True)
        want = np.stack([scaled[n][items] for n in NAMES])
        np.testing.assert_allclose(unseen.scores[:, a:b], want, rtol=1e-5, atol=1e-6)
        assert all(float(scaled[n][c.ctx.items].max()) == 0.0 for n in NAMES)
        # candidates: each component's top 10 among the items the list may show (ties kept), and the truth
        tops = [np.flatnonzero(scaled[n] >= np.sort(scaled[n])[::-1][9]) for n in NAMES]
        want_items = set().union(*(t[scaled[n][t] > 0].tolist() for n, t in zip(NAMES, tops, strict=True)))
        assert set(items.tolist()) == want_items | {c.truth}
        plain = hybrid.component_scores(c.ctx, weights)
        differs |= any(not np.allclose(plain[n][items], scaled[n][items]) for n in NAMES)
    assert differs  # seen items set some component's maximum somewhere


def test_scale_unseen_off_keeps_the_shared_scaling(fitted: tuple[HybridRecommender, list[Case]]) -> None:
    hybrid, cases = fitted
    ctx = next(c.ctx for c in cases if c.new and len(c.ctx) > 1)
    weights = dict.fromkeys(NAMES, 1.0)
    on = hybrid.component_scores(ctx, weights, exclude_seen=True)
    hybrid.config = HybridConfig(als=hybrid.config.als, scale_unseen=False)
    try:
        off = hybrid.component_scores(ctx, weights, exclude_seen=True)
        plain = hybrid.component_scores(ctx, weights)
        for n in NAMES:
            np.testing.assert_array_equal(off[n], plain[n])
        assert any(not np.array_equal(on[n], off[n]) for n in NAMES)
        fused = hybrid.score(Context(ctx.items, ctx.weights, ctx.user, sequence=ctx.ordered), exclude_seen=True)
        assert np.isfinite(fused).any()
    finally:
        hybrid.config = HybridConfig(als=hybrid.config.als)


def test_validation_folds_add_earlier_slices_on_small_stores() -> None:
    cat = _catalog()
    data = Interactions.from_log(EventLog.from_events(_events(cat), cat), cat)
    one = validation_folds(data, TuneConfig())
    assert len(one) == 1
    folds = validation_folds(data, TuneConfig(folds=3, min_new_cases=10**6))
    assert len(folds) == 3
    assert sum(c.new for c in folds[0][1]) == sum(c.new for c in one[0][1])  # the latest slice first
    for (train, _), (earlier, _) in itertools.pairwise(folds):
        assert len(earlier) < len(train) and earlier.timestamp.max() < train.timestamp.max()
    enough = validation_folds(data, TuneConfig(folds=3, min_new_cases=1))
    assert len(enough) == 1
    with pytest.raises(ValueError):
        TuneConfig(folds=0)


def test_fit_with_folds_tunes_on_every_slice() -> None:
    cat = _catalog()
    data = Interactions.from_log(EventLog.from_events(_events(cat), cat), cat)
    vec = np.random.default_rng(2).normal(size=(N_ITEMS, 12)).astype(np.float32)
    als = ALSConfig(factors=8, iterations=3, num_threads=1)
    single = HybridRecommender(vec, HybridConfig(als=als, tune=TuneConfig(min_cases=10)))
    single.fit(data)
    multi = HybridRecommender(vec, HybridConfig(als=als, tune=TuneConfig(min_cases=10, folds=3, min_new_cases=10**6)))
    multi.fit(data)
    assert single.tuning.status == multi.tuning.status == "tuned"
    assert multi.tuning.repeat_cases > single.tuning.repeat_cases
    assert multi.tuning.sessions > single.tuning.sessions
    np.testing.assert_array_equal(multi.counts, data.item_counts())  # the final fit is on every row
