"""'Complete the look' (cross-category complements) on a made-up store (not real data): a dress
bought with dresses from another department, shoes and a bag."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    ALSConfig,
    CrossCategoryRecommender,
    CrossConfig,
    HybridConfig,
    HybridRecommender,
    build_recommender,
)

_ITEMS = [
    ("seed", "Valentina", ("Ladieswear", "Garment Full body", "Dress")),
    ("d1", "Briony", ("Divided", "Garment Full body", "Dress")),
    ("d2", "Sid", ("Divided", "Garment Full body", "dress ")),  # the leaf compared case- and space-blind
    ("pump", "Washington pump", ("Ladieswear", "Shoes", "Pumps")),
    ("bag", "Evening clutch", ("Accessories", "Bags", "Clutch")),
    ("skirt", "Barton", ("Divided", "Garment Lower body", "Skirt")),
    ("nocat", "Gift card", ()),
]


def _store(types: tuple[EventType, ...] = (EventType.PURCHASE,)) -> tuple[Catalog, HybridRecommender]:
    catalog = Catalog([Product(id=i, title=t, category=c) for i, t, c in _ITEMS])
    events = []
    for n in range(6):  # the dress goes with every other item, in many baskets
        for j, (item, _, _) in enumerate(_ITEMS):
            kind = types[(n + j) % len(types)]
            events.append(Event(f"u{n}", kind, float(10 * n + j), item, session_id=f"s{n}"))
    vec = HashingEncoder(dim=64).encode(catalog.texts())
    rec = build_recommender(
        catalog, EventLog.from_events(events, catalog), vec, HybridConfig(als=ALSConfig(factors=4, iterations=2))
    )
    return catalog, rec


@pytest.fixture(scope="module")
def store() -> tuple[Catalog, HybridRecommender]:
    return _store()


def test_complete_the_look_leaves_out_the_seeds_product_type_in_every_department(
    store: tuple[Catalog, HybridRecommender],
) -> None:
    catalog, rec = store
    out = rec.cross(catalog.row("seed"), k=10)
    got = {catalog.ids[int(r)] for r in out.ids}
    assert got == {"pump", "bag", "skirt", "nocat"}  # no dress, whichever department sells it
    assert rec.cross_model.same_type(catalog.row("seed")).tolist() == [True, True, True, False, False, False, False]
    assert not rec.cross_model.same_type(catalog.row("nocat")).any()  # no category: no type to leave out


def test_exclude_same_type_off_keeps_other_departments_dresses(store: tuple[Catalog, HybridRecommender]) -> None:
    catalog, rec = store
    rec.cross_model.config = CrossConfig(exclude_same_type=False)
    try:
        got = {catalog.ids[int(r)] for r in rec.cross(catalog.row("seed"), k=10).ids}
    finally:
        rec.cross_model.config = CrossConfig()
    assert {"d1", "d2"} <= got


def test_cross_scores_are_minus_inf_on_the_seeds_type(store: tuple[Catalog, HybridRecommender]) -> None:
    catalog, rec = store
    s, _ = rec.cross_model.scores(catalog.row("seed"))
    assert np.isneginf(s[[catalog.row("seed"), catalog.row("d1"), catalog.row("d2")]]).all()
    assert np.isfinite(s[catalog.row("pump")])


def test_product_type_codes_follow_an_updated_catalog_and_do_not_keep_the_old_one() -> None:
    import gc
    import weakref
    from types import SimpleNamespace
    from typing import Any

    def catalog(d1_type: str) -> Catalog:
        return Catalog([Product(id=i, title=t, category=(*c[:-1], d1_type) if i == "d1" else c) for i, t, c in _ITEMS])

    old = catalog("Dress")
    co: Any = SimpleNamespace(catalog=old)  # same_type reads only the co-occurrence model's catalog
    cross = CrossCategoryRecommender(co, co)
    assert cross.same_type(0).tolist() == [True, True, True, False, False, False, False]
    gone = weakref.ref(old)
    co.catalog = catalog("Gown")  # the store updated its catalog: d1 is a gown now
    del old
    gc.collect()
    assert gone() is None  # the codes kept no strong reference to it
    assert cross.same_type(0).tolist() == [True, False, True, False, False, False, False]


def test_related_and_complete_the_look_word_a_pair_alike_after_a_live_event_of_another_kind() -> None:
    catalog, rec = _store()  # purchases only: every pair with the dress was bought together
    seed = catalog.row("seed")

    def reasons() -> tuple[dict[str, str], dict[str, str]]:
        related, cross = rec.similar(seed, k=10), rec.cross(seed, k=10)
        return (
            {catalog.ids[int(r)]: why for r, why in zip(related.ids, related.reasons, strict=True)},
            {catalog.ids[int(r)]: why for r, why in zip(cross.ids, cross.reasons, strict=True)},
        )

    def agree(related: dict[str, str], cross: dict[str, str]) -> None:
        shared = set(related) & set(cross)
        assert shared == set(cross) == {"pump", "bag", "skirt", "nocat"}
        assert {i: related[i] for i in shared} == cross

    before = reasons()
    agree(*before)
    assert set(before[1].values()) == {"bought together with Valentina (6 times)"}
    rec.update([Event("v", EventType.VIEW, 100.0, "pump", session_id="live")])  # a click on the live path
    assert rec.cooccurrence.wording.together == "often chosen together"  # the store's evidence is a mix now
    assert reasons() == before  # each pair's is not: still bought together, on both rails
    rec.update([Event("v", EventType.VIEW, 101.0, i, session_id="live2") for i in ("seed", "bag")])
    related, cross = reasons()
    agree(related, cross)
    assert cross["bag"] == "chosen together with Valentina (7 times)"  # 6 baskets bought, 1 only viewed
    assert cross["pump"] == "bought together with Valentina (6 times)"


def test_a_cold_seeds_reason_does_not_name_its_namesake_as_an_example() -> None:
    """A cold article borrows the basket partners of a similar one; when that is its namesake (H&M has a
    "Nevada" dress in several colours) the reason read "bought together with items like Nevada (e.g. Nevada)"
    on the demo's product page."""
    items = [
        ("cold", "Nevada", ("Ladieswear", "Garment Full body", "Dress")),
        ("warm", "Nevada", ("Ladieswear", "Garment Full body", "Dress")),
        ("other", "Briony", ("Ladieswear", "Garment Full body", "Dress")),
        ("pump", "Washington pump", ("Shoes", "Heels", "Pumps")),
        ("bag", "Evening clutch", ("Accessories", "Bags", "Clutch")),
    ]
    catalog = Catalog([Product(id=i, title=t, category=c) for i, t, c in items])
    events = [
        Event(f"u{n}", EventType.PURCHASE, float(10 * n + j), item, session_id=f"s{n}")
        for n in range(4)
        for j, item in enumerate(("warm", "pump", "bag") if n % 2 else ("other", "bag"))
    ]
    vec = HashingEncoder(dim=64).encode(catalog.texts())
    rec = build_recommender(
        catalog, EventLog.from_events(events, catalog), vec, HybridConfig(als=ALSConfig(factors=4, iterations=2))
    )
    got = rec.cross(catalog.row("cold"), k=5)
    reasons = {catalog.ids[int(r)]: why for r, why in zip(got.ids, got.reasons, strict=True)}
    assert reasons["pump"] == "bought together with items like Nevada (e.g. another Nevada)"
    assert reasons["bag"] in {
        f"bought together with items like Nevada (e.g. {t})" for t in ("another Nevada", "Briony")
    }
