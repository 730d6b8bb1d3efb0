"""Building a shelf says the hybrid weights its recommender's fit tuned (the lists are fused with them)."""

from __future__ import annotations

from typing import Any

import pytest

from shelfwise.catalog import Catalog
from shelfwise.events import EventLog
from shelfwise.snapshot import ShelfConfig
from shelfwise.snapshot.build import build_shelf


def test_build_names_the_weights_a_fit_tuned(
    tiny_catalog: Catalog, tiny_log: EventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shelfwise.recommend import hybrid
    from shelfwise.recommend.autotune import TuningReport

    real = hybrid.build_recommender

    def tuned(*args: Any, **kwargs: Any) -> hybrid.HybridRecommender:
        rec = real(*args, **kwargs)
        rec.set_weights({"cooccurrence": 0.5, "popularity": 1.0, "als": 0.0})
        rec.tuning = TuningReport(status="tuned", reason="tuned on 2873 prefixes of the 285 latest sessions")
        return rec

    monkeypatch.setattr(hybrid, "build_recommender", tuned)
    said: list[str] = []
    build_shelf(tiny_catalog, tiny_log, ShelfConfig(encoder="hashing", progress=False), said.append)
    want = "hybrid weights (tuned on 2873 prefixes of the 285 latest sessions): cooccurrence 0.5, popularity 1"
    assert want in said
    untuned: list[str] = []
    monkeypatch.setattr(hybrid, "build_recommender", real)  # too few sessions to tune: nothing said about weights
    build_shelf(tiny_catalog, tiny_log, ShelfConfig(encoder="hashing", progress=False), untuned.append)
    assert not [s for s in untuned if s.startswith("hybrid weights")]
