"""The report's time split does not reuse weights the served fit tuned on the held-out sessions."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from shelfwise.catalog import Catalog
from shelfwise.eval import store_report
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend.autotune import TuningReport
from shelfwise.recommend.hybrid import build_recommender
from shelfwise.recommend.hybrid_config import HybridConfig
from shelfwise.retrieve import HybridSearcher
from shelfwise.shelf import Shelf

TUNED = {"repeat": 0.0, "cooccurrence": 0.5, "als": 0.1, "content": 0.1, "popularity": 2.0}


def _shelf(catalog: Catalog, searcher: HybridSearcher) -> Shelf:
    taste = {"u1": ["p1", "p3", "p2", "p4"], "u2": ["p5", "p6", "p12", "p7"]}
    events = [
        Event(u, EventType.PURCHASE, float(10 * j), i, session_id=f"{u}-{j // 2}")
        for u, items in taste.items()
        for j, i in enumerate(items)
    ]
    log = EventLog.from_events(events, catalog)
    rec = build_recommender(catalog, log, searcher.item_vectors)
    return Shelf(catalog=catalog, searcher=searcher, events=log, recommender=rec, user_profiles=rec.profiles)


@pytest.mark.parametrize("status", ["tuned", "defaults"])
def test_split_fit_starts_from_default_weights_only_when_the_served_ones_were_tuned(
    status: str, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    shelf = _shelf(tiny_catalog, tiny_searcher)
    rec = shelf.recommender
    assert rec is not None
    rec.set_weights(TUNED, 0.25)  # as a fit that tuned leaves them
    rec.set_weights(TUNED, 0.1, new=True)
    rec.tuning = TuningReport(status=status, weights=TUNED)
    seen: list[HybridConfig] = []
    module = importlib.import_module("shelfwise.recommend.evaluate")  # the package exports a function of that name
    holdout = module.holdout_report

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(args[3])
        return holdout(*args, **kwargs)

    monkeypatch.setattr(module, "holdout_report", spy)
    _, figures, _ = store_report.recommendation_section(shelf, 5, 100, 0)
    assert len(seen) == 1 and set(figures["time_split"]) == {"popularity", "buy-again", "hybrid"}
    d = HybridConfig()
    if status == "tuned":
        assert seen[0].weights == d.weights and seen[0].new_weights == d.new_weights
        assert seen[0].popularity_penalty == d.popularity_penalty and seen[0].new_penalty == d.new_penalty
    else:
        assert dict(seen[0].weights) == TUNED and seen[0].popularity_penalty == 0.25
    assert seen[0].als == rec.config.als and seen[0].tune == rec.config.tune  # every other setting kept
    assert dict(rec.config.weights) == TUNED  # the served recommender itself is untouched
