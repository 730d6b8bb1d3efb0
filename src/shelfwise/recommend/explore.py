"""Exploration slots on recommendation lists: a bandit gives new and long-tail items exposure.

Wraps :class:`shelfwise.bandit.SlotExplorer` (Thompson sampling by default; Chapelle & Li,
2011, "An Empirical Evaluation of Thompson Sampling") so explored items carry their own reason.
With a relevance gate (``SlotConfig.candidates``), the bandit chooses among the tail items this
list's own fusion scores highest for the shopper, and an explored item with evidence says which
(:func:`explored_reason`: "..., shown to learn whether you like it (bought together with X)").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from shelfwise.bandit.slots import SlotExplorer
from shelfwise.catalog.schema import Filters
from shelfwise.recommend.base import Context, Recommendation
from shelfwise.recommend.between import list_fusion, session_live
from shelfwise.recommend.hybrid import HybridRecommender
from shelfwise.recommend.reasons import pick_reasons
from shelfwise.results import FloatArray, IntArray

EXPLORE_REASON = "new or less-known item, shown to learn whether you like it"


def explored_reason(why: str = "") -> str:
    """An explored item's reason: :data:`EXPLORE_REASON`, then the evidence that gated it in, if any."""
    return f"{EXPLORE_REASON} ({why})" if why else EXPLORE_REASON


def is_explored(reason: str) -> bool:
    """Whether ``reason`` is an explored item's (:func:`explored_reason`)."""
    return reason == EXPLORE_REASON or reason.startswith(EXPLORE_REASON + " (")


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
    ``first_slot`` ones) filled by long-tail items the user may see, outside the popularity head
    (with ``explorer.config.candidates``, those this list's fusion scores highest: :func:`gated`).
    Outcomes are learned when later events arrive (the explorer is an ``Updatable``). An explored
    item scores its own fused score (:func:`own_scores`), not its slot's neighbour's."""
    first = rec.context(user)
    ctx = replace(first, live=session_live(rec, user, first))  # one verdict for the list and its explored slots
    base = rec.recommend(ctx, k, filters, exclude_seen=exclude_seen)
    gate = gated(rec, ctx, exclude_seen) if explorer.config.candidates else None
    explored = explorer.explore(
        base.results,
        k,
        user=user,
        now=time.time() if now is None else now,
        popularity=rec.counts.astype(np.float64) if len(rec.counts) else None,
        allowed=rec.allowed(filters, ctx, exclude_seen),
        relevance=None if gate is None else gate.fused,
    )
    ranked = explored.results
    slots = [s for s in explored.slots if s < len(ranked)]
    rows = ranked.ids[slots]
    why = dict(zip(base.ids.tolist(), base.reasons, strict=True))
    why.update(dict.fromkeys(rows.tolist(), EXPLORE_REASON) if gate is None else gate.reasons(rec, ctx, rows))
    out = tuple(why.get(i, "") for i in ranked.ids.tolist())
    scores = ranked.scores.copy()
    if slots:
        scores[slots] = own_scores(rec, ctx, rows, exclude_seen) if gate is None else gate.fused[rows]
    return Recommendation(ranked.ids, scores, out)


@dataclass(frozen=True)
class Gate:
    """A list's fusion, kept for its relevance-gated exploration: the scaled component ``parts``,
    their ``weights`` and the ``fused`` score of every item (0 where no component has evidence)."""

    parts: dict[str, FloatArray]
    weights: dict[str, float]
    fused: FloatArray

    def reasons(self, rec: HybridRecommender, ctx: Context, rows: IntArray) -> dict[int, str]:
        """Each explored row's reason: the component that scored it most (as the list's own items
        say), after :data:`EXPLORE_REASON`; that alone for a row with no evidence."""
        said = pick_reasons(rec.components, ctx, rows.tolist(), self.parts, self.weights)
        return {r: explored_reason(w if self.fused[r] > 0 else "") for r, w in zip(rows.tolist(), said, strict=True)}


def gated(rec: HybridRecommender, ctx: Context, exclude_seen: bool) -> Gate:
    """The fusion :meth:`HybridRecommender.recommend` ranks ``ctx`` by
    (:func:`~shelfwise.recommend.between.list_fusion`), with its parts: the gate's relevance and
    the explored items' reasons and scores, one fusion for all three."""
    weights, penalty = list_fusion(rec, ctx, ctx, exclude_seen)
    parts = rec.component_scores(ctx, weights, exclude_seen)
    fused = np.maximum(rec.fuse(parts, weights, penalty), 0.0).astype(np.float32)
    return Gate(parts, weights, fused)


def own_scores(rec: HybridRecommender, user: str | Context, rows: IntArray, exclude_seen: bool) -> FloatArray:
    """``rows``' fused scores in the fusion :meth:`HybridRecommender.recommend` ranks ``user``'s list
    by (:func:`~shelfwise.recommend.between.list_fusion`: its weights for ``exclude_seen``, between
    sessions when no session is live, popularity alone for an empty context), 0 where no
    component has evidence: an explored item's honest score, which sorts it among the model's
    items by what the model thinks of it (below them, as a rule: it was outside their top k),
    where the slot it fills would repeat its neighbour's."""
    ctx = rec.context(user)
    live = session_live(rec, user, ctx)  # a shopper id: the clock decides, as recommend() asks
    return np.maximum(rec.score(replace(ctx, live=live), exclude_seen)[rows], 0.0).astype(np.float32)
