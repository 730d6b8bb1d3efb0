"""Exploration slots on recommendation lists: a bandit gives new and long-tail items exposure.

Wraps :class:`shelfwise.bandit.SlotExplorer` (Thompson sampling by default; Chapelle & Li,
2011, "An Empirical Evaluation of Thompson Sampling") so explored items carry their own reason.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from shelfwise.bandit.slots import SlotExplorer
from shelfwise.catalog.schema import Filters
from shelfwise.recommend.base import Recommendation
from shelfwise.recommend.between import session_live
from shelfwise.recommend.hybrid import HybridRecommender
from shelfwise.results import FloatArray, IntArray

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
    live: bool | None = None,
) -> Recommendation:
    """The hybrid's top-``k`` with ``explorer.config.explore_share`` of slots (never the first
    ``first_slot`` ones) filled by long-tail items the user may see, outside the popularity head.
    Outcomes are learned when later events arrive (the explorer is an ``Updatable``). An explored
    item scores its own fused score (:func:`own_scores`, read from the pass that ranked the list),
    not its slot's neighbour's. ``live``: whether a session is under way, as the caller says it
    (None: :func:`~shelfwise.recommend.between.session_live` decides), for the list and its explored
    slots alike."""
    first = rec.context(user)
    said = session_live(rec, user, first) if live is None else live
    ctx = replace(first, live=said)  # one verdict for the list and its explored slots
    base, fused = rec.recommend_scored(ctx, k, filters, exclude_seen=exclude_seen)
    allowed = rec.allowed(filters, ctx, exclude_seen)
    ranked, slots = explorer.rank(
        base.results,
        k,
        user=user,
        now=time.time() if now is None else now,
        popularity=rec.counts.astype(np.float64) if len(rec.counts) else None,
        allowed=allowed,
    )
    reasons = dict(zip(base.ids.tolist(), base.reasons, strict=True))
    slots = [s for s in slots if s < len(ranked)]
    explored = {int(ranked.ids[s]) for s in slots}
    out = tuple(EXPLORE_REASON if i in explored else reasons.get(i, "") for i in ranked.ids.tolist())
    scores = ranked.scores.copy()
    if slots:
        scores[slots] = own_scores(fused, ranked.ids[slots])
    return Recommendation(ranked.ids, scores, out)


def own_scores(fused: FloatArray, rows: IntArray) -> FloatArray:
    """``rows``' scores in ``fused``, the fused scores a list was ranked by
    (:meth:`HybridRecommender.recommend_scored`: the fusion of
    :func:`~shelfwise.recommend.between.list_fusion`, its weights for ``exclude_seen``, between
    sessions when no session is live, popularity alone for an empty context), 0 where no component
    has evidence: an explored item's honest score, which sorts it among the model's items by what
    the model thinks of it (below them, as a rule: it was outside their top k), where the slot it
    fills would repeat its neighbour's. The list's own pass: the catalog is not scored again."""
    return np.maximum(fused[rows], 0.0).astype(np.float32)
