"""Cross-category complements of seeds with little evidence (made-up grocery, not real data): a
sausage bought once, beside pads, is given what its category is bought with (buns), while a
well-bought seed keeps its own partners; each reason names where its evidence came from."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import ContentRecommender, CooccurrenceRecommender, Interactions
from shelfwise.recommend.cross import CrossCategoryRecommender, CrossConfig

_ITEMS = [
    ("sausage", "Chicken apple sausage", ("Meat", "Sausages")),
    ("brat", "Bratwurst", ("Meat", "Sausages")),
    ("buns", "Hot dog buns", ("Bakery", "Buns")),
    ("mustard", "Dijon mustard", ("Pantry", "Condiments")),
    ("pads", "Ultra thin pads", ("Personal care", "Feminine care")),
    ("milk", "Whole milk", ("Dairy", "Milk")),
    ("skim", "Skim milk", ("Dairy", "Milk")),
    ("cereal", "Oat cereal", ("Pantry", "Cereal")),
    ("links", "Chicken apple sausage links", ("Meat", "Sausages")),
]


def _baskets() -> list[list[str]]:
    out = [["sausage", "pads"]]  # the sausage's only basket: one chance companion
    out += [["brat", "buns", "mustard"] for _ in range(8)]  # its category goes with buns and mustard
    out += [["milk", "cereal"] for _ in range(20)]  # a well-bought seed and its own partner
    out += [["milk", "buns"]] + [["skim", "buns"] for _ in range(15)]  # its category goes with buns
    out += [["links"]]  # bought, but only ever alone: no partner of its own
    return out


def _fit(baskets: list[list[str]], config: CrossConfig | None = None) -> tuple[Catalog, CrossCategoryRecommender]:
    catalog = Catalog([Product(id=i, title=t, category=c) for i, t, c in _ITEMS])
    events = [
        Event(f"u{n}", EventType.PURCHASE, float(100 * n + j), item, session_id=f"b{n}")
        for n, b in enumerate(baskets)
        for j, item in enumerate(b)
    ]
    data = Interactions.from_log(EventLog.from_events(events, catalog), catalog)
    co = CooccurrenceRecommender()
    co.fit(data)
    content = ContentRecommender(HashingEncoder(dim=64).encode(catalog.texts()))
    content.fit(data)
    return catalog, CrossCategoryRecommender(co, content, config)


@pytest.fixture(scope="module")
def store() -> tuple[Catalog, CrossCategoryRecommender]:
    return _fit(_baskets())


def _ranked(catalog: Catalog, cross: CrossCategoryRecommender, seed: str) -> dict[str, str]:
    got = cross.recommend_for(catalog.row(seed), k=5)
    return {catalog.ids[int(r)]: why for r, why in zip(got.ids, got.reasons, strict=True)}


def test_a_one_basket_seed_gets_its_categorys_complements_first(
    store: tuple[Catalog, CrossCategoryRecommender],
) -> None:
    catalog, cross = store
    got = _ranked(catalog, cross, "sausage")
    assert list(got)[:2] in (["buns", "mustard"], ["mustard", "buns"])
    assert "pads" in got and list(got).index("pads") >= 2  # its own chance companion is not first
    assert got["buns"] == "bought together with items in Sausages (e.g. Bratwurst)"
    assert got["pads"] == "bought together with Chicken apple sausage (once)"  # its own basket: named as such


def test_before_the_prior_the_chance_companion_led() -> None:
    catalog, cross = _fit(_baskets(), CrossConfig(prior_baskets=None))
    got = _ranked(catalog, cross, "sausage")
    assert list(got) == ["pads"]  # one basket, one partner: the rail the shoppers saw
    assert got["pads"] == "bought together with Chicken apple sausage (once)"


def test_a_well_bought_seed_keeps_its_own_partner_first(store: tuple[Catalog, CrossCategoryRecommender]) -> None:
    catalog, cross = store
    got = _ranked(catalog, cross, "milk")
    assert list(got)[:2] == ["cereal", "buns"]  # 20 of its 21 baskets outweigh its category's buns
    assert got["cereal"] == "bought together with Whole milk (20 times)"
    assert got["buns"] == "bought together with items in Milk (e.g. Skim milk)"  # 1 basket of its own: mostly lent


def test_a_seed_only_bought_alone_borrows_its_look_alikes_partners(
    store: tuple[Catalog, CrossCategoryRecommender],
) -> None:
    catalog, cross = store
    assert cross.cooccurrence.baskets[catalog.row("links")] == 1.0
    got = _ranked(catalog, cross, "links")
    assert got["pads"] == "bought together with items like Chicken apple sausage links (e.g. Chicken apple sausage)"


def test_scores_are_the_shrunk_basket_rate() -> None:
    catalog, cross = _fit(_baskets(), CrossConfig(prior_baskets=4.0, text_penalty=0.0))
    s, ctx = cross.scores(catalog.row("sausage"))
    assert ctx.items.tolist() == [catalog.row("sausage")]
    # the seed: 1 basket (with pads); the rest of its category (Sausages): 9 baskets, 8 of them with buns
    assert s[catalog.row("buns")] == pytest.approx((0 + 4 * 8 / 9) / (1 + 4))
    assert s[catalog.row("pads")] == pytest.approx((1 + 4 * 0 / 9) / (1 + 4))
    assert np.isneginf(s[catalog.row("milk")])  # never bought with the seed nor its category
    assert np.isneginf(s[catalog.row("brat")])  # its own category: not a complement


def test_category_rates_follow_live_baskets() -> None:
    catalog, cross = _fit(_baskets())
    seed = catalog.row("sausage")
    shared, baskets, _ = cross.category_rates(seed)
    assert (shared[catalog.row("milk")], shared[catalog.row("buns")], baskets) == (0.0, 8.0, 10.0)
    cross.cooccurrence.update(
        [Event("v", EventType.PURCHASE, 1e6 + j, i, session_id="live") for j, i in enumerate(("brat", "milk"))]
    )
    shared, baskets, rows = cross.category_rates(seed)
    assert (shared[catalog.row("milk")], shared[catalog.row("buns")], baskets) == (1.0, 8.0, 11.0)
    assert sorted(catalog.ids[int(r)] for r in rows) == ["brat", "links", "sausage"]
    s, _ = cross.scores(seed)
    assert np.isfinite(s[catalog.row("milk")])  # the live basket lends milk to the sausage


def test_prior_baskets_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="prior_baskets"):
        CrossConfig(prior_baskets=-1.0)
    assert CrossConfig(prior_baskets=0.0).prior_baskets == 0.0


def test_prior_baskets_survive_a_saved_config() -> None:
    from shelfwise.recommend.persist import config_from_json, config_to_json

    for cfg in (CrossConfig(), CrossConfig(prior_baskets=None), CrossConfig(prior_baskets=12.5)):
        assert config_from_json(CrossConfig, config_to_json(cfg)) == cfg
    assert config_from_json(CrossConfig, {"proxies": 3}).prior_baskets == CrossConfig().prior_baskets  # saved before it
    with pytest.raises(ValueError, match="prior_baskets"):
        config_from_json(CrossConfig, {"prior_baskets": -2})
