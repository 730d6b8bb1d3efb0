"""Exploration slots on recommendation lists: a bandit gives new and long-tail items exposure.

Wraps :class:`shelfwise.bandit.SlotExplorer` (Thompson sampling by default; Chapelle & Li,
2011, "An Empirical Evaluation of Thompson Sampling") so explored items carry their own reason.
With a relevance gate (``SlotConfig.candidates``), the bandit chooses among the tail items this
list's own fusion scores highest for the shopper, and an explored item with evidence says which
(:func:`explored_reason`: "..., shown to learn whether you like it (bought together with X)").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from shelfwise.bandit.slots import Exploration, SlotExplorer, top_rows
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


@dataclass(frozen=True)
class ExploredList(Recommendation):
    """A served list with exploration slots, and what off-policy evaluation needs of it:
    ``exploration`` (the draws, their pools and the posterior they saw), ``model`` (the
    deterministic list: the hybrid's own top ``k`` rows, which exploration displaced),
    ``slots`` (the explored positions, in pick order), ``greedy`` (per pick, the row the list's own
    scores rank at that pick's rank in its draw's pool: what the model would have put in the slot
    from the same pool; empty unless asked for), ``now``, the time it was served at, and ``log_s``,
    the seconds logging it cost the request (the posterior copy and the greedy picks)."""

    exploration: Exploration | None = None
    model: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    slots: tuple[int, ...] = ()
    greedy: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    now: float = 0.0
    log_s: float = 0.0


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
    greedy: bool = False,
) -> ExploredList:
    """The hybrid's top-``k`` with ``explorer.config.explore_share`` of slots (never the first
    ``first_slot`` ones) filled by long-tail items the user may see, outside the popularity head and,
    under ``collapse_variants``, sharing no title with an item the list shows (with
    ``explorer.config.candidates``, those this list's fusion scores highest, each saying why:
    :func:`gated_reasons`).
    Outcomes are learned when later events arrive (the explorer is an ``Updatable``). An explored
    item scores its own fused score (:func:`own_scores`, read from the pass that ranked the list),
    not its slot's neighbour's. ``live``: whether a session is under way, as the caller says it
    (None: :func:`~shelfwise.recommend.between.session_live` decides at ``now``, the clock's time when
    None), for the list and its explored slots alike. ``greedy``: the list is logged: also each pick's
    greedy counterpart (:attr:`ExploredList.greedy`) and the posterior snapshot its draws saw."""
    first = rec.context(user)
    clock = time.time() if now is None else now  # one clock for the session verdict and the showing
    said = session_live(rec, user, first, clock) if live is None else live
    ctx = replace(first, live=said)  # one verdict for the list and its explored slots
    base, fused, allowed = rec.recommend_scored(ctx, k, filters, exclude_seen=exclude_seen)  # allowed: ours
    gate = explorer.config.candidates > 0  # the gate reads ``fused`` itself: positive, or -inf (no evidence)
    if rec.config.collapse_variants:  # one item per title: no colour of a product the list shows
        allowed[[v for r in base.ids.tolist() for v in explorer.catalog.variant_rows(r)]] = False
    explored = explorer.explore(
        base.results,
        k,
        user=user,
        now=clock,
        popularity=rec.counts.astype(np.float64) if len(rec.counts) else None,
        allowed=allowed,
        relevance=fused if gate else None,
        distinct=rec.config.collapse_variants,
        snapshot=greedy,
    )
    ranked = explored.results
    slots = [s for s in explored.slots if s < len(ranked)]
    rows = ranked.ids[slots]
    why = dict(zip(base.ids.tolist(), base.reasons, strict=True))
    why.update(
        gated_reasons(rec, ctx, rows, fused, exclude_seen) if gate else dict.fromkeys(rows.tolist(), EXPLORE_REASON)
    )
    out = tuple(why.get(i, "") for i in ranked.ids.tolist())
    scores = ranked.scores.copy()
    if slots:
        scores[slots] = own_scores(fused, rows)
    t = time.perf_counter()
    model = [top_rows(d.pool, fused, len(d.picks)) for d in explored.draws] if greedy else []
    picks = np.concatenate(model) if model else np.zeros(0, dtype=np.int64)
    spent = explored.snapshot_s + (time.perf_counter() - t if greedy else 0.0)
    return ExploredList(ranked.ids, scores, out, explored, base.ids, tuple(explored.slots), picks, clock, spent)


def own_scores(fused: FloatArray, rows: IntArray) -> FloatArray:
    """``rows``' scores in ``fused``, the fused scores a list was ranked by
    (:meth:`HybridRecommender.recommend_scored`: the fusion of
    :func:`~shelfwise.recommend.between.list_fusion`, its weights for ``exclude_seen``, between
    sessions when no session is live, popularity alone for an empty context), 0 where no component
    has evidence: an explored item's honest score, which sorts it among the model's items by what
    the model thinks of it (below them, as a rule: it was outside their top k), where the slot it
    fills would repeat its neighbour's. The list's own pass: the catalog is not scored again."""
    return np.maximum(fused[rows], 0.0).astype(np.float32)


def gated_reasons(
    rec: HybridRecommender, ctx: Context, rows: IntArray, fused: FloatArray, exclude_seen: bool
) -> dict[int, str]:
    """Each relevance-gated explored row's reason: the component that scored it most in the list's
    fusion (:func:`~shelfwise.recommend.between.list_fusion`, as the list's own items say), after
    :data:`EXPLORE_REASON`; that alone for a row with no evidence in ``fused``. The components score
    ``ctx`` again for this (the gate is opt-in; the list's ranking pass keeps no parts)."""
    weights, _ = list_fusion(rec, ctx, ctx, exclude_seen)
    parts = rec.component_scores(ctx, weights, exclude_seen)
    said = pick_reasons(rec.components, ctx, rows.tolist(), parts, weights)
    return {r: explored_reason(w if fused[r] > 0 else "") for r, w in zip(rows.tolist(), said, strict=True)}
