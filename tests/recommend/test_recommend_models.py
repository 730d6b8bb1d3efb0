"""Recommenders on the tiny made-up fixtures (HashingEncoder vectors, no model download)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Filters
from shelfwise.encode import HashingEncoder
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    ALSConfig,
    ALSRecommender,
    ContentRecommender,
    Context,
    CooccurrenceRecommender,
    CrossConfig,
    HybridConfig,
    HybridRecommender,
    Interactions,
    PopularityConfig,
    PopularityRecommender,
    Recommender,
    UserProfiles,
    build_recommender,
)


@pytest.fixture
def vectors(tiny_catalog: Catalog) -> np.ndarray:
    return HashingEncoder(dim=128).encode(tiny_catalog.texts())


@pytest.fixture
def data(tiny_log: EventLog, tiny_catalog: Catalog) -> Interactions:
    return Interactions.from_log(tiny_log, tiny_catalog)


@pytest.fixture
def hybrid(tiny_catalog: Catalog, tiny_log: EventLog, vectors: np.ndarray) -> HybridRecommender:
    cfg = HybridConfig(als=ALSConfig(factors=4, iterations=3))
    return build_recommender(tiny_catalog, tiny_log, vectors, cfg, encoder=HashingEncoder(dim=128))


def ids(catalog: Catalog, rows: np.ndarray) -> list[str]:
    return [catalog.ids[int(r)] for r in rows]


def test_interactions_drop_queries_and_weight_types(data: Interactions) -> None:
    assert len(data) == 12
    m = data.user_item()
    u1 = data.users.index("u1")
    p1 = data.catalog.row("p1")
    assert m[u1, p1] == pytest.approx(1.0 + 8.0)  # view + purchase


def test_popularity_ranks_and_decays(tiny_catalog: Catalog, data: Interactions) -> None:
    pop = PopularityRecommender(PopularityConfig(half_life_days=None))
    pop.fit(data)
    rec = pop.recommend("nobody", k=3)
    assert ids(tiny_catalog, rec.ids)[:2] == ["p1", "p3"]  # 2 purchases each + a view on p1
    assert rec.reasons[0] == "popular in Men"
    assert isinstance(pop, Recommender)
    before = pop.counts[tiny_catalog.row("p7")]
    pop.update([Event("u9", EventType.PURCHASE, 20.0, "p7")] * 3)
    assert pop.counts[tiny_catalog.row("p7")] == before + 24.0


def test_cooccurrence_bought_together_and_update(tiny_catalog: Catalog, data: Interactions) -> None:
    co = CooccurrenceRecommender()
    co.fit(data)
    rel = co.similar(tiny_catalog.row("p1"), k=3)
    assert ids(tiny_catalog, rel.ids)[0] == "p3"
    assert rel.reasons[0] == "bought together with Black slim trousers (2 times)"
    assert co.similar(tiny_catalog.row("p7"), k=3).ids.size == 0  # no baskets: no evidence
    co.update(
        [
            Event("u9", EventType.PURCHASE, 20.0, "p7", session_id="new"),
            Event("u9", EventType.PURCHASE, 21.0, "p8", session_id="new"),
        ]
    )
    assert ids(tiny_catalog, co.similar(tiny_catalog.row("p7"), k=3).ids) == ["p8"]


def test_als_scores_known_items_only(tiny_catalog: Catalog, data: Interactions) -> None:
    als = ALSRecommender(ALSConfig(factors=4, iterations=5))
    als.fit(data)
    s = als.score(Context.of([tiny_catalog.row("p1")]))
    assert not np.isfinite(s[tiny_catalog.row("p7")])  # never interacted: ALS cannot score it
    assert np.isfinite(s[tiny_catalog.row("p3")])
    rec = als.recommend("u1", k=5)
    assert tiny_catalog.row("p1") not in rec.ids.tolist()  # exclude seen by default


def test_content_reaches_cold_items(tiny_catalog: Catalog, data: Interactions, vectors: np.ndarray) -> None:
    content = ContentRecommender(vectors)
    content.fit(data)
    rec = content.recommend(Context.of([tiny_catalog.row("p5")]), k=12)
    cold = np.flatnonzero(data.item_counts() == 0)
    assert set(rec.ids.tolist()) & set(cold.tolist())  # items nobody touched are still recommended
    top = ids(tiny_catalog, content.similar(tiny_catalog.row("p6"), k=1).ids)
    assert top == ["p5"]  # "Black evening dress" -> "Red summer dress"
    assert content.similar(tiny_catalog.row("p6"), k=1).reasons[0] == "similar text to Black evening dress"


def test_hybrid_recommend_reasons_filters_and_exclude_seen(hybrid: HybridRecommender, tiny_catalog: Catalog) -> None:
    rec = hybrid.recommend("u2", k=5)
    assert len(rec) == 5 and len(rec.reasons) == 5 and all(rec.reasons)
    seen = hybrid.profiles.seen("u2") if hybrid.profiles else set()
    assert not seen & set(rec.ids.tolist())
    again = hybrid.recommend("u2", k=5, exclude_seen=False)
    assert set(again.ids.tolist()) & seen
    men = hybrid.recommend("u2", k=10, filters=Filters(category=("Men",)))
    assert men.ids.size and all(tiny_catalog.products[int(r)].category[0] == "Men" for r in men.ids)


def test_hybrid_cold_user_falls_back_to_popularity_and_query(hybrid: HybridRecommender, tiny_catalog: Catalog) -> None:
    rec = hybrid.recommend("stranger", k=2)
    assert ids(tiny_catalog, rec.ids) == ["p1", "p3"]
    assert rec.reasons[0].startswith("popular in")
    q = hybrid.recommend_session([], k=3, query="yoga exercise mat")
    assert "p10" in ids(tiny_catalog, q.ids)
    sess = hybrid.recommend_session([tiny_catalog.row("p9")], k=3)
    assert ids(tiny_catalog, sess.ids)[0] == "p10"


def test_hybrid_update_changes_results_in_real_time(hybrid: HybridRecommender, tiny_catalog: Catalog) -> None:
    before = hybrid.recommend("u3", k=3, exclude_seen=False)
    hybrid.update([Event("u3", EventType.PURCHASE, 50.0 + i, "p7", session_id="s-new") for i in range(5)])
    hybrid.update([Event("u3", EventType.PURCHASE, 50.0, "p7", session_id="s-new")])  # replay: ignored
    after = hybrid.recommend("u3", k=3, exclude_seen=False)
    assert tiny_catalog.row("p7") in after.ids.tolist()
    assert not np.array_equal(before.ids, after.ids)
    assert hybrid.profiles is not None and tiny_catalog.row("p7") in hybrid.profiles.seen("u3")


def test_hybrid_similar_and_cross_category(hybrid: HybridRecommender, tiny_catalog: Catalog) -> None:
    rel = hybrid.similar(tiny_catalog.row("p1"), k=3)
    assert ids(tiny_catalog, rel.ids)[0] == "p3"
    assert rel.reasons[0] == "bought together with Black slim trousers (2 times)"
    # running shoes: their one partner, the yoga mat, is another category (Sport > Equipment)
    cross = hybrid.cross(tiny_catalog.row("p9"), k=3)
    assert ids(tiny_catalog, cross.ids) == ["p10"]
    assert cross.reasons[0] == "bought together with Running shoes (once)"
    # trousers: the belt bought with them (Men > Accessories) completes the look; no other trousers
    cross_belt = hybrid.cross(tiny_catalog.row("p1"), k=3, filters=Filters(in_stock=True))
    assert ids(tiny_catalog, cross_belt.ids)[0] == "p3"
    assert all(tiny_catalog.products[int(r)].category != ("Men", "Trousers") for r in cross_belt.ids)
    # the wider setting: another department only (the belt is Men's too)
    hybrid.cross_model.config = CrossConfig(category_depth=1)
    try:
        wide = hybrid.cross(tiny_catalog.row("p1"), k=3)
        assert all(tiny_catalog.products[int(r)].category[:1] != ("Men",) for r in wide.ids)
    finally:
        hybrid.cross_model.config = CrossConfig()


def test_profiles_vector_seen_and_save_load(hybrid: HybridRecommender, tiny_catalog: Catalog, tmp_path) -> None:
    prof = hybrid.profiles
    assert isinstance(prof, UserProfiles)
    v = prof.vector("u1")
    assert v is not None and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert prof.vector("nobody") is None
    assert prof.seen("u1") == {tiny_catalog.row(i) for i in ("p1", "p2", "p3")}
    prof.save(tmp_path / "prof")
    back = UserProfiles.load(tmp_path / "prof", tiny_catalog, prof.item_vectors)
    assert back.seen("u1") == prof.seen("u1")
    np.testing.assert_allclose(back.vector("u1"), v, rtol=1e-6)


def test_configs_validate() -> None:
    with pytest.raises(ValueError, match="unknown component"):
        HybridConfig(weights=(("magic", 1.0),))
    with pytest.raises(ValueError):
        ALSConfig(factors=0)
    with pytest.raises(ValueError):
        PopularityConfig(half_life_days=-1)


def test_colour_variants_collapse_to_one_item() -> None:
    from shelfwise.catalog import Catalog, Product
    from shelfwise.encode import HashingEncoder
    from shelfwise.events import Event, EventLog, EventType
    from shelfwise.recommend import build_recommender
    from shelfwise.recommend.hybrid import HybridConfig

    products = [Product(id=f"v{i}", title="Strap top", attributes={"colour": c}) for i, c in enumerate("ABC")]
    products += [Product(id="b", title="Belt"), Product(id="s", title="Scarf")]
    catalog = Catalog(products)
    events = [Event(f"u{n}", EventType.PURCHASE, float(n), f"v{n % 3}") for n in range(9)]
    events += [Event("u0", EventType.PURCHASE, 20.0, "b"), Event("u1", EventType.PURCHASE, 21.0, "s")]
    log = EventLog.from_events(events, catalog)
    vectors = HashingEncoder(32).encode(catalog.texts())
    rec = build_recommender(catalog, log, vectors)
    titles = [catalog.products[i].title for i in rec.recommend("newcomer", 5).ids]
    assert titles.count("Strap top") == 1 and len(titles) == 3
    plain = build_recommender(catalog, log, vectors, HybridConfig(collapse_variants=False))
    assert [catalog.products[i].title for i in plain.recommend("newcomer", 5).ids].count("Strap top") == 3


def test_session_query_text_goes_through_the_encoders_query_side(hybrid: HybridRecommender) -> None:
    """An asymmetric encoder (E5 prefixes, a student shelf's teacher) embeds the typed query with
    its query side, not with what embedded the products."""
    seen: list[str] = []

    class QuerySide:
        name, dim = "query-side", 128

        def encode(self, texts: list[str], **_: object) -> np.ndarray:
            seen.extend(texts)
            return HashingEncoder(dim=128).encode(texts)

    class ProductSide(QuerySide):
        name = "product-side"

        def encode(self, texts: list[str], **_: object) -> np.ndarray:
            raise AssertionError("the product side must not embed a shopper's query")

        def for_queries(self) -> QuerySide:
            return QuerySide()

    assert hybrid.encoder is not None and hybrid.encoder.dim == 128
    hybrid.encoder = ProductSide()  # type: ignore[assignment]
    hybrid.recommend_session([], k=3, query="yoga exercise mat")
    assert seen == ["yoga exercise mat"]


def test_build_recommender_says_the_tuning_verdict_once(
    tiny_catalog: Catalog, tiny_log: EventLog, vectors: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    """The fit keeps the verdict in ``tuning``; build_recommender logs it once (a WARNING: defaults)."""
    caplog.set_level(logging.INFO, logger="shelfwise.recommend")
    rec = build_recommender(tiny_catalog, tiny_log, vectors)
    said = [r for r in caplog.records if r.getMessage().startswith("hybrid weights:")]
    assert rec.tuning.status == "defaults" and [r.levelno for r in said] == [logging.WARNING]
    assert said[0].getMessage() == f"hybrid weights: defaults ({rec.tuning.reason})"
    caplog.clear()
    HybridRecommender(vectors).fit(Interactions.from_log(tiny_log, tiny_catalog))  # a bare fit says nothing
    assert not [r for r in caplog.records if r.getMessage().startswith("hybrid weights:")]
