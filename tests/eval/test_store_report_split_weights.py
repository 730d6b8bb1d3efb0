"""The report's time split does not reuse weights the served fit searched on the held-out sessions:
its fit starts from what the store configured (opt-in components, its own between-sessions weights)
and searches those parts again; the report says which weights it evaluated."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import pytest

from shelfwise.catalog import Catalog
from shelfwise.eval import store_report
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend.hybrid import HybridRecommender, build_recommender
from shelfwise.recommend.hybrid_config import HybridConfig
from shelfwise.retrieve import HybridSearcher
from shelfwise.shelf import Shelf

TUNED = {"repeat": 0.0, "cooccurrence": 0.5, "als": 0.1, "content": 0.1, "popularity": 2.0}
# a store's own settings: the opt-in session-graph walk weighted, and between-sessions weights of its own
STORE = HybridConfig(
    weights=(*HybridConfig().weights, ("walk", 0.3)),
    between_weights=(("repeat", 1.0), ("popularity", 0.2)),
    between_penalty=0.1,
    basket_group_size=5,  # as if the store's own search had chosen it
)


def _shelf(
    catalog: Catalog, searcher: HybridSearcher, config: HybridConfig | None = None, **tuning: Any
) -> tuple[Shelf, HybridRecommender]:
    """A shelf whose recommender was fitted with ``config`` and then given weights as a search on
    this whole log leaves them; ``tuning``: its report's fields set after the fit."""
    taste = {"u1": ["p1", "p3", "p2", "p4"], "u2": ["p5", "p6", "p12", "p7"]}
    events = [
        Event(u, EventType.PURCHASE, float(10 * j), i, session_id=f"{u}-{j // 2}")
        for u, items in taste.items()
        for j, i in enumerate(items)
    ]
    log = EventLog.from_events(events, catalog)
    rec = build_recommender(catalog, log, searcher.item_vectors, config)
    rec.set_weights(TUNED, 0.25)
    rec.set_weights(TUNED, 0.1, new=True)
    rec.config = rec.config.with_weights({"popularity": 1.0}, 0.0, between=True)
    rec.tuning = dataclasses.replace(rec.tuning, **tuning)
    shelf = Shelf(catalog=catalog, searcher=searcher, events=log, recommender=rec, user_profiles=rec.profiles)
    return shelf, rec


def _split(shelf: Shelf, monkeypatch: pytest.MonkeyPatch) -> tuple[HybridConfig, dict[str, Any], list[str]]:
    """The config the time split's hybrid was fitted with, the section's figures and notes."""
    seen: list[HybridConfig] = []
    module = importlib.import_module("shelfwise.recommend.evaluate")  # the package exports a function of that name
    run = module.holdout_run

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[3])
        return run(*args, **kwargs)

    monkeypatch.setattr(module, "holdout_run", spy)
    section, figures, _ = store_report.recommendation_section(shelf, 5, 100, 0)
    assert len(seen) == 1 and set(figures["time_split"]) == {"popularity", "buy-again", "hybrid"}
    return seen[0], figures, list(section.notes)


def test_split_fit_starts_from_the_store_configured_weights(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    shelf, rec = _shelf(tiny_catalog, tiny_searcher, STORE, status="tuned")  # as a search that chose TUNED says
    assert rec.tuning.configured == STORE.fusion_sets()  # the fit recorded what the store configured
    config, figures, notes = _split(shelf, monkeypatch)
    assert config == STORE  # the walk and the store's between-sessions weights kept, every other setting too
    assert dict(rec.config.weights) == TUNED  # the served recommender itself is untouched
    said = figures["time_split_weights"]
    assert said["started_from"].startswith("the store's configured weights")
    # the split's own fit is too small to search: it evaluated the configured weights as they are
    assert said["search"] == "defaults"
    assert said["fusions"]["between sessions"] == {"weights": {"repeat": 1.0, "popularity": 0.2}, "penalty": 0.1}
    assert said["fusions"]["in session"]["weights"]["walk"] == 0.3
    assert said["basket_group_size"] == 5  # the store's, not the whole-log search's: what its lists read
    (note,) = [n for n in notes if n.startswith("Hybrid weights evaluated")]
    assert "between-sessions weights: repeat 1, popularity 0.2 (tail penalty 0.1)" in note and "walk 0.3" in note


def test_split_of_a_recommender_saved_without_its_configured_weights_says_it_starts_from_the_defaults(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    shelf, rec = _shelf(tiny_catalog, tiny_searcher, STORE, status="tuned", configured={})  # an older save
    config, figures, _ = _split(shelf, monkeypatch)
    d = HybridConfig()
    assert (config.weights, config.new_weights, config.between_weights) == (d.weights, None, None)
    assert config.als == rec.config.als and config.tune == rec.config.tune  # every other setting kept
    assert "saved before shelfwise recorded the configured ones" in figures["time_split_weights"]["started_from"]


def test_split_fit_keeps_weights_no_search_chose(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    shelf, rec = _shelf(tiny_catalog, tiny_searcher)
    assert rec.tuning.status == "defaults"  # the tiny log is too small to search
    config, figures, _ = _split(shelf, monkeypatch)
    assert config == rec.config and dict(config.weights) == TUNED and config.popularity_penalty == 0.25
    assert figures["time_split_weights"]["started_from"].startswith("the served weights")
