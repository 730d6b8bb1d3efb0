"""A version-6 hybrid save written before TifuConfig and BasketConfig shared BasketDecay (session 19)
loads with its settings and scores, and saving it again writes the same ``hybrid.json`` config.

``data/hybrid_v6`` was written by commit 004bded's code (the configs not yet factored):
``HybridRecommender(np.zeros((10, 4), np.float32), CONFIG)`` fitted on
``basket_interactions(numbered_catalog(10), USERS)`` and saved; tifu and baskets weighted, off
their defaults, so a field read into the wrong place would show."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from session_logs import basket_interactions, numbered_catalog
from shelfwise.recommend import ALSConfig, Context, HybridConfig, HybridRecommender, TuneConfig
from shelfwise.recommend.baskets import BasketConfig
from shelfwise.recommend.hybrid import FORMAT_VERSION
from shelfwise.recommend.tifu import TifuConfig

V6 = Path(__file__).parent / "data" / "hybrid_v6"
TIFU = TifuConfig(group_size=2, basket_decay=0.8, group_decay=0.6, neighbours=4, alpha=0.6)
BASKETS = BasketConfig(group_size=4, basket_decay=0.85, group_decay=0.75, gap_minutes=45.0, offer=False, also_try=(5,))
CONFIG = HybridConfig(
    als=ALSConfig(factors=4, iterations=2, num_threads=1),
    weights=(*HybridConfig().weights, ("tifu", 1.0), ("baskets", 0.5)),
    tune=TuneConfig(enabled=False),
    tifu=TIFU,
    baskets=BASKETS,
)
USERS = {f"u{k}": [[k % 10, (k + 1) % 10], [(k + 3) % 10], [(k + 5) % 10, k % 10]] for k in range(12)}


def test_a_version_6_save_from_before_the_shared_decay_loads_and_saves_alike(tmp_path: Path) -> None:
    data = basket_interactions(numbered_catalog(10), USERS)
    vec = np.zeros((10, 4), dtype=np.float32)
    old = HybridRecommender.load(V6, data.catalog, vec)
    assert FORMAT_VERSION == 6 and json.loads((V6 / "hybrid.json").read_text())["format_version"] == 6
    assert old.config.tifu == TIFU and old.config.baskets == BASKETS
    assert old.tifu.config == TIFU and old.baskets.config == BASKETS
    fresh = HybridRecommender(vec, CONFIG)
    fresh.fit(data)
    for user in USERS:
        np.testing.assert_array_equal(old.tifu.score(Context.empty(user)), fresh.tifu.score(Context.empty(user)))
        np.testing.assert_array_equal(old.baskets.score(old.context(user)), fresh.baskets.score(fresh.context(user)))
        np.testing.assert_array_equal(old.tifu.score(old.context(user)), fresh.tifu.score(fresh.context(user)))
    old.save(tmp_path / "again")
    before = json.loads((V6 / "hybrid.json").read_text())["config"]
    after = json.loads((tmp_path / "again" / "hybrid.json").read_text())["config"]
    assert after == before
    for part in ("tifu", "baskets"):  # the same keys in the same order: the file reads as it did
        assert list(after[part]) == list(before[part])
