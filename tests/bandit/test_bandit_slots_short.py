"""Exploration slots on a list shorter than k: the positions returned are where the explored items are."""

from __future__ import annotations

import numpy as np

from shelfwise.bandit import SlotConfig, SlotExplorer
from shelfwise.catalog import Catalog
from shelfwise.catalog.schema import Filters
from shelfwise.recommend import HybridConfig
from shelfwise.recommend.base import Context, Recommendation
from shelfwise.recommend.explore import EXPLORE_REASON, recommend_with_exploration
from shelfwise.recommend.listing import ScoredList
from shelfwise.results import Results


def test_slots_past_a_short_list_end_name_the_explored_positions(tiny_catalog: Catalog) -> None:
    ex = SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.25, first_slot=2, head_fraction=0.0))
    ranked = Results(np.array([0, 1, 2], dtype=np.int64), np.array([1.0, 0.8, 0.6], dtype=np.float32))
    e = ex.explore(ranked, 8, user="u", now=0.0)
    out, slots = e.results, e.slots  # 2 slots asked at positions 2 and 7 of 8
    assert len(out) == 5
    assert slots == [2, 4]  # the second landed at the end of the 5-item list, not at 7
    ids = out.ids.tolist()
    assert [ids[i] for i in (0, 1, 3)] == [0, 1, 2]
    assert {ids[2], ids[4]}.isdisjoint({0, 1, 2}) and ids[2] != ids[4]
    # the policy ranks nothing: explored items score 0, not the score of the item after them
    np.testing.assert_array_equal(out.scores, np.array([1.0, 0.8, 0.0, 0.6, 0.0], dtype=np.float32))


class _Short:
    """A stand-in hybrid whose list is three items long (as after a few live events)."""

    def __init__(self, catalog: Catalog) -> None:
        self.counts = np.zeros(len(catalog), dtype=np.float32)
        self.config = HybridConfig()
        self.profiles = None  # no histories: every list counts as a live session

    def recommend_scored(
        self, user: str | Context, k: int, filters: Filters | None = None, *, exclude_seen: bool = True
    ) -> ScoredList:
        listed = Recommendation(np.array([0, 1, 2], dtype=np.int64), np.ones(3, dtype=np.float32), ("a", "b", "c"))
        no_evidence = np.full(len(self.counts), -np.inf, dtype=np.float32)  # for any other item
        return ScoredList(listed, no_evidence, np.ones(len(self.counts), dtype=bool))  # every item allowed

    def context(self, user: str | Context) -> Context:
        return user if isinstance(user, Context) else Context.empty(user)


def test_every_explored_item_of_a_short_list_says_why(tiny_catalog: Catalog) -> None:
    ex = SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.25, first_slot=2, head_fraction=0.0))
    rec = _Short(tiny_catalog)
    out = recommend_with_exploration(rec, ex, "u", 8, now=0.0)  # type: ignore[arg-type]
    assert len(out.ids) == 5
    assert "" not in out.reasons
    assert [out.reasons[i] for i in (0, 1, 3)] == ["a", "b", "c"]
    assert out.reasons[2] == out.reasons[4] == EXPLORE_REASON
    assert out.scores.tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]  # no evidence for the explored items: 0
