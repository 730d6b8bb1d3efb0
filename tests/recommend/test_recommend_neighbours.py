"""Item requests read the fit-time text-neighbour graph: same top as scoring the whole catalog.

A small made-up store: 400 items with random unit vectors (no model), random baskets.
"""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    ALSConfig,
    ContentConfig,
    ContentRecommender,
    Context,
    HybridConfig,
    HybridRecommender,
    Interactions,
    PopularityRecommender,
)
from shelfwise.recommend.autotune import TuneConfig, validation_split
from shelfwise.recommend.base import minmax
from shelfwise.recommend.cross import CrossCategoryRecommender, CrossConfig
from shelfwise.results import Results

N, DIM = 400, 16


@pytest.fixture(scope="module")
def store() -> tuple[Catalog, Interactions, np.ndarray]:
    rng = np.random.default_rng(0)
    catalog = Catalog([Product(id=f"i{i}", title=f"product {i}", category=(f"dept {i % 5}",)) for i in range(N)])
    vec = rng.normal(size=(N, DIM)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    n = 3000
    session = np.sort(rng.integers(0, 600, n))
    log = EventLog(
        user=(session % 150).astype(np.int64),
        item=rng.integers(0, N, n).astype(np.int64),
        type=np.full(n, int(EventType.VIEW), dtype=np.int8),
        timestamp=np.arange(n, dtype=np.float64) * 60.0,
        session=session.astype(np.int64),
        queries=("",) * n,
        users=tuple(f"u{i}" for i in range(150)),
    )
    return catalog, Interactions.from_log(log, catalog), vec


def exact_top(vec: np.ndarray, item: int, k: int) -> list[int]:
    s = vec @ vec[item]
    s[item] = -np.inf
    return Results.from_scores(s, k).ids.tolist()


@pytest.mark.parametrize("k", [1, 5, 20])
def test_content_neighbour_topk_equals_exact_topk(store: tuple[Catalog, Interactions, np.ndarray], k: int) -> None:
    _, data, vec = store
    content = ContentRecommender(vec, ContentConfig(neighbours=30, min_similarity=-1.0))
    content.fit(data)
    for item in range(0, N, 7):
        got = content.similar(item, k)
        assert got.ids.tolist() == exact_top(vec, item, k)
        np.testing.assert_allclose(got.scores, (vec[got.ids] @ vec[item]), rtol=1e-5, atol=1e-6)
        assert int(np.isfinite(content.score_item(item)).sum()) == 30  # only the neighbours are scored


def test_neighbour_graph_keeps_the_similarity_floor(store: tuple[Catalog, Interactions, np.ndarray]) -> None:
    _, data, vec = store
    content = ContentRecommender(vec, ContentConfig(neighbours=50, min_similarity=0.4))
    content.fit(data)
    for item in range(0, N, 13):
        exact = vec @ vec[item]
        exact[item] = -np.inf
        want = [r for r in exact_top(vec, item, 50) if exact[r] >= 0.4]
        assert content.similar(item, 50).ids.tolist() == want


def test_hybrid_similar_on_content_alone_is_the_exact_top(store: tuple[Catalog, Interactions, np.ndarray]) -> None:
    _, data, vec = store
    cfg = HybridConfig(
        similar_weights=(("content", 1.0),),
        als=ALSConfig(factors=4, iterations=2),
        tune=TuneConfig(enabled=False),
        content=ContentConfig(neighbours=40, min_similarity=-1.0),
        collapse_variants=False,
    )
    h = HybridRecommender(vec, cfg)
    h.fit(data)
    for item in (0, 11, 123, 399):
        assert h.similar(item, 10).ids.tolist() == exact_top(vec, item, 10)


def test_cross_category_matches_a_whole_catalog_reference(store: tuple[Catalog, Interactions, np.ndarray]) -> None:
    catalog, data, vec = store
    h = HybridRecommender(vec, HybridConfig(als=ALSConfig(factors=4, iterations=2), tune=TuneConfig(enabled=False)))
    h.fit(data)
    cross: CrossCategoryRecommender = h.cross_model
    cold = int(np.flatnonzero(data.item_counts() == 0)[0]) if (data.item_counts() == 0).any() else None
    pairs, baskets = h.cooccurrence.pairs.toarray(), h.cooccurrence.baskets
    for prior in (None, 5.0):  # the seed's partners alone (as before), or shrunk towards its category's
        cross.config = CrossConfig(prior_baskets=prior)
        for item in [0, 5, 77, 250, *([cold] if cold is not None else [])]:
            got, _ = cross.scores(item)
            # reference: the text penalty over every item, as before candidates were used
            direct = h.cooccurrence.score_item(item)
            if prior is not None and baskets[item] > 0:  # the rest of its category: every other item of its path
                rest = catalog.category_mask(catalog.top_category(item, None)) & (baskets > 0)
                rest[item] = False
                q = pairs[rest].sum(axis=0) / max(float(baskets[rest].sum()), 1.0)
                s = (pairs[item] + prior * q) / (baskets[item] + prior)
            else:
                s = minmax(h.cooccurrence.score(cross.scores(item)[1]) if not np.isfinite(direct).any() else direct)
            cos = np.maximum(vec @ vec[item], 0.0)
            cos[item] = 1.0
            s = s * (1.0 - cross.config.text_penalty * cos)
            leaf = catalog.products[item].category[-1:]  # nor the seed's product type in another department
            other = ~catalog.category_mask(catalog.top_category(item)) & ~np.array(
                [p.category[-1:] == leaf for p in catalog.products]
            )
            want = np.where(other & (s > 0), s, -np.inf)
            np.testing.assert_allclose(got, want, rtol=1e-5)


def test_cross_proxies_equal_the_whole_catalog_search(store: tuple[Catalog, Interactions, np.ndarray]) -> None:
    catalog, data, vec = store
    h = HybridRecommender(
        vec,
        HybridConfig(
            als=ALSConfig(factors=4, iterations=2),
            tune=TuneConfig(enabled=False),
            content=ContentConfig(neighbours=30, min_similarity=-1.0),
        ),
    )
    h.fit(data)
    cross = h.cross_model
    has = np.diff(h.cooccurrence.pairs.indptr) > 0
    own_used = 0
    for item in range(0, N, 17):
        own = catalog.category_mask(catalog.top_category(item, None))
        for floor in (-1.0, 0.3, 0.7):  # many, some and (mostly) too few neighbours qualify: both paths
            cross.config = type(cross.config)(min_proxy_similarity=floor)
            s = vec @ vec[item]
            s[item] = -np.inf
            s = np.where(has & (s >= floor), s, -np.inf)
            # the seed's own category first (its substitutes); any category when none of it qualifies
            mine = np.where(own, s, -np.inf)
            use_own = bool(np.isfinite(mine).any())
            own_used += use_own
            want = Results.from_scores(mine if use_own else s, cross.config.proxies)
            ids, sims = cross._proxies(item)
            assert ids.tolist() == want.ids.tolist()
            np.testing.assert_allclose(sims, want.scores, rtol=1e-5, atol=1e-6)
            if use_own:
                assert own[ids].all()
    assert own_used > 0  # the own-category path was exercised


def test_popularity_scores_are_cached_until_counts_change(store: tuple[Catalog, Interactions, np.ndarray]) -> None:
    _, data, _ = store
    pop = PopularityRecommender()
    pop.fit(data)
    a = pop.score(Context.empty())
    a[:] = 0.0  # a caller's copy: the cache is not touched
    b = pop.score(Context.empty())
    assert np.array_equal(b, np.where(pop.counts > 0, np.log1p(pop.counts), -np.inf).astype(np.float32))
    before = float(pop.counts[0])
    pop.update([Event(user_id="u1", item_id="i0", type=EventType.PURCHASE, timestamp=float(data.timestamp.max()))])
    assert pop.counts[0] > before
    assert pop.score(Context.empty())[0] == pytest.approx(np.log1p(pop.counts[0]))


def test_interactions_take_keeps_columns_aligned(store: tuple[Catalog, Interactions, np.ndarray]) -> None:
    _, data, _ = store
    mask = data.item % 3 == 0
    sub = data.take(mask)
    assert len(sub) == int(mask.sum()) and sub.users == data.users and sub.catalog is data.catalog
    assert np.array_equal(sub.item, data.item[mask]) and np.array_equal(sub.session, data.session[mask])
    rows = np.flatnonzero(mask)
    assert np.array_equal(data.take(rows).timestamp, sub.timestamp)
    train, held = validation_split(data, 0.2, 1000)
    assert len(train) + len(held) <= len(data) and train.timestamp.max() < held.timestamp.min()
