"""Items with no events reach personal lists through their text (recommend/cold_items.py).

A store of four text clusters: ``a*`` (bags), ``b*`` (shoes), ``c*`` (lamps) have sales, ``d*``
(kettles) none; ``new-bag`` and ``new-kettle`` have no events. The shopper ``u`` bought bags. Other
shoppers bought bags with shoes, so every behaviour component scores ``b*`` items for ``u`` while
only text reaches ``new-bag``. Fit-time tuning: a store whose products go on sale over time
(``_arrivals``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import Context, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import TuneConfig
from shelfwise.recommend.cold_items import cold_reason
from shelfwise.recommend.factor import ALSConfig
from shelfwise.recommend.retune import SavedTuning, reuse_verdict

CLUSTERS = {"a": "leather bag", "b": "running shoe", "c": "desk lamp", "d": "electric kettle"}
IDS = [f"{c}{j}" for c in "abcd" for j in range(5)] + ["new-bag", "new-kettle"]
NO_TUNING = TuneConfig(enabled=False)
WEIGHTS = {"cooccurrence": 1.0, "als": 0.5, "content": 0.3, "popularity": 0.3}


def _catalog() -> tuple[Catalog, np.ndarray]:
    rng = np.random.default_rng(0)
    centre = {c: np.eye(8, dtype=np.float32)[k] for k, c in enumerate("abcd")}
    products, rows = [], []
    for pid in IDS:
        c = "a" if pid == "new-bag" else "d" if pid == "new-kettle" else pid[0]
        title = f"{CLUSTERS[c]} {pid}"
        products.append(Product(id=pid, title=title, category=(c,)))
        rows.append(centre[c] + 0.05 * rng.normal(size=8).astype(np.float32))
    v = np.stack(rows)
    return Catalog(products), (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _log(catalog: Catalog, kind: EventType = EventType.PURCHASE) -> EventLog:
    events, t = [], 0.0
    for s in range(30):  # others: a bag with a shoe (and a lamp now and then)
        for pid in (f"a{s % 5}", f"b{s % 5}", f"b{(s + 1) % 5}") + ((f"c{s % 5}",) if s % 3 == 0 else ()):
            t += 60.0
            events.append(Event(f"o{s}", kind, t, pid, session_id=f"s{s}"))
    for pid in ("a0", "a1", "a2"):
        t += 60.0
        events.append(Event("u", kind, t, pid, session_id="su"))
    return EventLog.from_events(events, catalog)


def _hybrid(weights: dict[str, float], kind: EventType = EventType.PURCHASE) -> tuple[HybridRecommender, Catalog]:
    catalog, vectors = _catalog()
    cfg = HybridConfig(tune=NO_TUNING, als=ALSConfig(factors=4, iterations=3, num_threads=1))
    cfg = cfg.with_weights(weights).with_weights(weights, new=True)
    rec = HybridRecommender(vectors, cfg)
    rec.fit(Interactions.from_log(_log(catalog, kind), catalog))
    return rec, catalog


def _listed(rec: HybridRecommender, catalog: Catalog, k: int = 5) -> dict[str, str]:
    out = rec.recommend("u", k)
    return {catalog.products[i].id: why for i, why in zip(out.ids.tolist(), out.reasons, strict=True)}


def test_a_cold_item_whose_text_matches_the_history_reaches_the_list_with_a_reason() -> None:
    rec, catalog = _hybrid({**WEIGHTS, "cold": 1.0})
    listed = _listed(rec, catalog)
    assert "new-bag" in listed
    source = listed["new-bag"].removeprefix("new, similar to ").removesuffix(" you bought")
    assert source in {f"leather bag a{j}" for j in range(3)}  # one of u's own bags, by title
    assert listed["new-bag"] == cold_reason(source, "bought")
    assert "new-kettle" not in listed
    assert all(not why.startswith("new, ") for pid, why in listed.items() if pid != "new-bag")


def test_without_the_cold_weight_behaviour_keeps_it_out() -> None:
    """The bias the component removes: the same weights, cold left out, and the cold bag's text
    term alone does not outrank items that behaviour components also score."""
    rec, catalog = _hybrid(WEIGHTS)
    assert "new-bag" not in _listed(rec, catalog)
    assert "new-bag" in _listed(rec, catalog, k=len(IDS))  # reachable by text, just ranked lower


def test_a_cold_item_unlike_the_history_never_reaches_it_whatever_the_weight() -> None:
    rec, catalog = _hybrid({**WEIGHTS, "cold": 5.0})
    assert "new-kettle" not in _listed(rec, catalog, k=len(IDS))  # no text link: no score, not a filler
    assert list(_listed(rec, catalog, k=1)) == ["new-bag"]


def test_the_reason_names_the_evidence_the_store_counts() -> None:
    rec, catalog = _hybrid({**WEIGHTS, "cold": 1.0}, kind=EventType.VIEW)
    assert _listed(rec, catalog)["new-bag"].endswith(" you viewed")


def test_a_cold_item_says_new_when_its_content_term_outweighs_the_cold_one() -> None:
    rec, catalog = _hybrid({**WEIGHTS, "content": 3.0, "cold": 0.1})
    listed = _listed(rec, catalog)
    assert listed["new-bag"].startswith("new, similar to leather bag a")
    assert any(why.startswith("similar text to leather bag a") for why in listed.values())  # warm bags: as before


def test_a_cold_item_says_new_in_a_fusion_that_weighs_the_cold_term_zero() -> None:
    """Between-sessions weights may keep content and set cold to 0 (H&M: content 0.25, cold 0.0 for
    new items): a cold item content lists is still new, and its reason says so."""
    rec, catalog = _hybrid({**WEIGHTS, "cold": 1.0})
    rec.config = rec.config.with_weights({**WEIGHTS, "content": 3.0, "cold": 0.0}, 0.0, new=True, between=True)
    out = rec.recommend(replace(rec.context("u"), live=False), 5)
    listed = {catalog.products[i].id: why for i, why in zip(out.ids.tolist(), out.reasons, strict=True)}
    assert listed["new-bag"].startswith("new, similar to leather bag a"), listed
    assert any(why.startswith("similar text to leather bag a") for why in listed.values())  # warm bags: as before


def test_related_items_of_a_cold_item_keep_the_text_reason() -> None:
    """Related items are no shopper's history: no "new, similar to X you bought" there."""
    rec, catalog = _hybrid({**WEIGHTS, "cold": 1.0})
    out = rec.similar(catalog.get_row("a0"), len(IDS))
    listed = {catalog.products[i].id: why for i, why in zip(out.ids.tolist(), out.reasons, strict=True)}
    assert "new-bag" in listed and not listed["new-bag"].startswith("new, "), listed


def test_an_item_stops_being_cold_with_its_first_event() -> None:
    rec, catalog = _hybrid({**WEIGHTS, "cold": 1.0})
    row = catalog.get_row("new-bag")
    ctx = rec.context("u")
    assert np.isfinite(rec.cold.score(ctx)[row])
    rec.update([Event("o99", EventType.PURCHASE, 1e6, "new-bag", session_id="s99")])
    assert rec.cold.score(ctx)[row] == -np.inf
    assert not rec.cold.score_many([ctx])[0, row] > -np.inf


def test_a_saved_model_lists_and_explains_cold_items_alike(tmp_path: Path) -> None:
    rec, catalog = _hybrid({**WEIGHTS, "cold": 1.0})
    rec.save(tmp_path)
    loaded = HybridRecommender.load(tmp_path, catalog, rec.vectors)
    assert _listed(loaded, catalog) == _listed(rec, catalog)


def _arrivals() -> tuple[Catalog, np.ndarray, Interactions, HybridConfig]:
    """A store whose products go on sale over time and whose shoppers buy the newest of a kind:
    model j of each of 6 kinds goes on sale at session 20 j; 32 a kind, 30 on sale by the end."""
    rng = np.random.default_rng(1)
    per, kinds, dim = 32, 6, 16
    products, rows = [], []
    for c in range(kinds):
        for j in range(per):
            products.append(Product(id=f"k{c}-{j}", title=f"kind {c} model {j}", category=(f"k{c}",)))
            rows.append(np.eye(dim, dtype=np.float32)[c] + 0.3 * rng.normal(size=dim).astype(np.float32))
    catalog = Catalog(products)
    vectors = np.stack(rows)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    events, t = [], 0.0
    for s in range(600):
        c, on_sale = int(rng.integers(kinds)), s // 20 + 1
        for _ in range(3):
            newest = rng.random() < 0.6
            j = on_sale - 1 - int(rng.integers(min(2, on_sale))) if newest else int(rng.integers(on_sale))
            t += 60.0
            events.append(Event(f"u{s % 40}", EventType.PURCHASE, t, f"k{c}-{j}", session_id=f"s{s}"))
    data = Interactions.from_log(EventLog.from_events(events, catalog), catalog)
    cfg = HybridConfig(als=ALSConfig(factors=4, iterations=3, num_threads=1), tune=TuneConfig(fraction=0.2))
    return catalog, vectors.astype(np.float32), data, cfg


def test_fit_time_tuning_weighs_cold_items_where_shoppers_buy_new_ones() -> None:
    """In the latest sessions the items on sale since the validation cut are bought: the search
    gives text on cold items a weight of its own, and a shopper of a kind then gets the models of
    that kind not sold yet, none of another kind."""
    catalog, vectors, data, cfg = _arrivals()
    rec = HybridRecommender(vectors, cfg)
    rec.fit(data)
    assert rec.tuning.status == "tuned", rec.tuning.reason
    assert rec.tuning.new_weights.get("cold", 0.0) > 0, rec.tuning.new_weights
    out = rec.recommend(Context.of([catalog.get_row("k0-20"), catalog.get_row("k0-21")]), 5)
    listed = {catalog.products[i].id: why for i, why in zip(out.ids.tolist(), out.reasons, strict=True)}
    unsold = {pid for pid in listed if pid.endswith(("-30", "-31"))}
    assert unsold and unsold <= {"k0-30", "k0-31"}, listed
    assert all(listed[pid].startswith("new, similar to kind 0 model 2") for pid in unsold), listed


def test_a_model_fitted_without_the_component_is_searched_again_at_its_refit() -> None:
    """A refit handed a model whose search started without "cold" does not keep its weights (which
    would leave cold items out until the next scheduled search): its starting weights differ."""
    _, vectors, data, cfg = _arrivals()
    before = cfg.with_weights({n: w for n, w in cfg.weights if n != "cold"})
    old = HybridRecommender(vectors, before)
    old.fit(data)
    assert old.tuning.status == "tuned" and "cold" not in old.tuning.new_weights
    saved, n, now = SavedTuning.of(old), len(data.item), old.tuning.tuned_at or 0.0
    assert reuse_verdict(saved, cfg, n, now) == "the recommender's settings changed since that search"
    assert reuse_verdict(saved, before, n, now) is None  # its own settings would keep them


def test_the_tuning_pool_takes_the_cold_scores_from_the_content_ones_it_scores_once() -> None:
    rec, _ = _hybrid({**WEIGHTS, "cold": 1.0})
    contexts = [rec.context("u"), Context.of([0, 5]), Context.of([21]), Context.empty()]
    calls = []
    content = rec.content.score_many
    rec.content.score_many = lambda ctxs: calls.append(len(ctxs)) or content(ctxs)  # type: ignore[method-assign]
    got = rec.raw_scores_many(contexts, ["content", "cold", "als"])
    assert calls == [4]  # content's text-graph product once, for both
    for name in ("content", "cold", "als"):  # bit for bit what each component scores alone
        want = rec.components[name].score_many(contexts)
        assert got[name].dtype == want.dtype and np.array_equal(got[name].view(np.uint32), want.view(np.uint32))
    assert np.isfinite(got["cold"][0]).any() and not np.isfinite(got["cold"][:, rec.counts > 0]).any()
    assert list(rec.raw_scores_many(contexts, ["cold"])) == ["cold"]  # alone: no content scores handed back
