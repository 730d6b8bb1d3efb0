"""The hybrid's configuration names: opt-in components (``OPT_IN``) stay out of the defaults and
are fitted only when some fusion weights them."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import Context, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import TuneConfig
from shelfwise.recommend.hybrid_config import COMPONENTS, FUSION_SETS, OPT_IN
from shelfwise.recommend.sasrec import SASRecConfig

OFF = TuneConfig(enabled=False)
TINY = SASRecConfig(dim=8, blocks=1, max_len=6, dropout=0.0, epochs=2, batch_size=32, negatives=4, threads=1)


def _data(n_items: int = 12) -> Interactions:
    """Shoppers with two sessions each, walking a cycle of items."""
    cat = Catalog([Product(id=f"p{i}", title=f"item {i}") for i in range(n_items)])
    events = [
        Event(f"u{k}", EventType.PURCHASE, 86_400.0 * s + j, f"p{(k + s + j) % n_items}", session_id=f"u{k}-{s}")
        for k in range(20)
        for s in range(2)
        for j in range(3)
    ]
    return Interactions.from_log(EventLog.from_events(events, cat), cat)


def _fitted(weights: tuple[tuple[str, float], ...]) -> HybridRecommender:
    data = _data()
    rec = HybridRecommender(np.zeros((data.n_items, 4), dtype=np.float32), HybridConfig(weights, sasrec=TINY, tune=OFF))
    rec.fit(data)
    return rec


def test_opt_in_components_are_known_and_none_is_in_the_defaults() -> None:
    assert OPT_IN and set(OPT_IN) <= set(COMPONENTS)
    assert not [name for name in OPT_IN if HybridConfig().uses(name)]


@pytest.mark.parametrize("name", OPT_IN)
def test_an_opt_in_component_is_fitted_only_when_weighted(name: str) -> None:
    if name == "sasrec":
        pytest.importorskip("torch")
    off = _fitted(HybridConfig().weights)
    assert np.isneginf(off.components[name].score(off.context("u1"))).all()  # not weighted: scores nothing
    on = _fitted((*HybridConfig().weights, (name, 1.0)))
    assert np.isfinite(on.components[name].score(on.context("u1"))).any()


def test_a_component_outside_opt_in_is_fitted_at_weight_zero() -> None:
    weights = tuple((n, 0.0 if n == "sequence" else w) for n, w in HybridConfig().weights)
    rec = _fitted(weights)
    assert "sequence" not in OPT_IN and np.isfinite(rec.components["sequence"].score(Context.of([1, 2]))).any()


def test_fusion_sets_read_back_from_json_give_the_same_config() -> None:
    cfg = HybridConfig(
        weights=(("repeat", 1.0), ("walk", 0.3)),
        new_penalty=0.1,
        between_new_weights=(("popularity", 1.0),),
        similar_weights=(("content", 1.0),),
    )
    back = json.loads(json.dumps(cfg.fusion_sets()))
    assert HybridConfig().with_fusion_sets(back) == dataclasses.replace(
        HybridConfig(), **{n: getattr(cfg, n) for n in FUSION_SETS}
    )
    assert cfg.with_fusion_sets({}) == cfg  # a set it lacks keeps the config's own
