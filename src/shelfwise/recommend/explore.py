"""Exploration slots on recommendation lists: a bandit gives new and long-tail items exposure.

Wraps :class:`shelfwise.bandit.SlotExplorer` (Thompson sampling by default; Chapelle & Li,
2011, "An Empirical Evaluation of Thompson Sampling") so explored items carry their own reason.
"""

from __future__ import annotations

import time

import numpy as np

from shelfwise.bandit.slots import SlotExplorer
from shelfwise.catalog.schema import Filters
from shelfwise.recommend.base import Recommendation
from shelfwise.recommend.hybrid import HybridRecommender

EXPLORE_REASON = "new or less-known item, shown to learn whether you like it"


def recommend_with_exploration(
    rec: HybridRecommender,
    explorer: SlotExplorer,
    user: str,
    k: int = 10,
    filters: Filters | None = None,
    *,
    exclude_seen: bool = True,
    now: float | None = None,
) -> Recommendation:
    """The hybrid's top-``k`` with ``explorer.config.explore_share`` of slots (never the first
    ``first_slot`` ones) filled by long-tail items the user may see, outside the popularity head.
    Outcomes are learned when later events arrive (the explorer is an ``Updatable``)."""
    base = rec.recommend(user, k, filters, exclude_seen=exclude_seen)
    allowed = rec.allowed(filters, rec.context(user), exclude_seen)
    ranked, slots = explorer.rank(
        base.results,
        k,
        user=user,
        now=time.time() if now is None else now,
        popularity=rec.counts.astype(np.float64) if len(rec.counts) else None,
        allowed=allowed,
    )
    reasons = dict(zip(base.ids.tolist(), base.reasons, strict=True))
    explored = {int(ranked.ids[s]) for s in slots if s < len(ranked)}
    out = tuple(EXPLORE_REASON if i in explored else reasons.get(i, "") for i in ranked.ids.tolist())
    return Recommendation(ranked.ids, ranked.scores, out)
