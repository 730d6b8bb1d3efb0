"""Per-store weights for related items (``similar``: GET /recommend/item), chosen at fit time.

Which evidence says "related" best differs by store: on held-out real baskets
(``bench/bench_related.py``, ``related.json``) co-occurrence carries the Instacart sample (the
shipped fusion 0.396 hit@10, text alone 0.096) while text alone beats it on H&M (0.185 vs 0.145).
So, like the recommendation weights (:mod:`shelfwise.recommend.autotune`), the related-items
weights are chosen on the store's own latest sessions: fit-time tuning holds them out and fits the
components on the earlier rows; each item of a held-out session that those rows know is a seed,
the session's other items its truth. Each weighting of :data:`GRID` is scored by hit@k (at least
one truth among the top ``k``) on the seeds' pooled candidates (every component's top
``CANDIDATES``), and replaces the configured one only when better by ``z`` standard errors of the
paired per-seed difference (:func:`~shelfwise.recommend.autotune.reliably_better`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import minmax
from shelfwise.recommend.interactions import Interactions
from shelfwise.results import IntArray

if TYPE_CHECKING:
    from shelfwise.recommend.autotune import TuningReport
    from shelfwise.recommend.hybrid import HybridRecommender
    from shelfwise.recommend.hybrid_config import HybridConfig

PARTS = ("cooccurrence", "als", "content")
# (co-occurrence, ALS, text) weightings tried: the shipped one, one part alone, and mixes leaning each way
GRID: tuple[tuple[float, float, float], ...] = (
    (1.0, 0.5, 0.5),
    (1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0),
    (0.0, 0.0, 1.0),
    (1.0, 0.5, 1.0),
    (0.5, 0.5, 1.0),
    (1.0, 1.0, 0.5),
    (0.5, 0.0, 1.0),
)
CANDIDATES = 50  # each part's top items per seed that enter the pool
MAX_CASES = 500  # seeds scored at most (a random sample beyond): ~0.9 ms each at 9k items, ~8 at 200k
MAX_CELLS = 50_000_000  # seeds x catalog items at most: ~2 s of a fit at 200k items (250 seeds); none at 1M
MIN_CASES = 100  # fewer seeds keep the configured weights
K = 10  # hit@K: a product page's "Related" rail


@dataclass(frozen=True)
class RelatedCase:
    """A held-out session's item the training rows know (``seed``) and the session's other items."""

    seed: int
    truth: IntArray
    session: int  # seeds of one session share their truth: the test averages them per session


@dataclass(frozen=True)
class RelatedChoice:
    """What the related-items search chose: ``weights`` (the configured ones when ``kept``), their
    hit@k and the configured weights' on ``cases`` seeds."""

    weights: dict[str, float]
    score: float
    default_score: float
    cases: int
    kept: bool


def related_cases(train: Interactions, held: Interactions, max_cases: int, seed: int = 0) -> list[RelatedCase]:
    """Seeds of the held-out sessions with two or more distinct items (at most ``max_cases``, a
    random sample beyond): each item ``train`` has seen, with the session's other items."""
    known = train.item_counts() > 0
    order = np.argsort(held.session, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(held.session[order])) + 1) if len(held) else []
    cases: list[RelatedCase] = []
    for k, idx in enumerate(groups):
        items = np.unique(held.item[idx].astype(np.int64))
        items = items[items >= 0]
        if len(items) < 2:
            continue
        cases += [RelatedCase(int(i), items[items != i], k) for i in items.tolist() if known[i]]
    if len(cases) > max_cases:
        pick = np.sort(np.random.default_rng(seed).choice(len(cases), max_cases, replace=False))
        cases = [cases[i] for i in pick]
    return cases


def choose_related(
    hybrid: HybridRecommender, cases: Sequence[RelatedCase], start: Mapping[str, float], k: int, z: float
) -> RelatedChoice:
    """The :data:`GRID` weighting with the best hit@``k`` on ``cases`` (scored with ``hybrid``'s
    components as fitted now), or ``start`` when none beats it by ``z`` standard errors."""
    from shelfwise.recommend.autotune import reliably_better

    base = tuple(float(start.get(p, 0.0)) for p in PARTS)
    grid = [base, *(g for g in GRID if g != base)]
    hits = np.zeros((len(grid), len(cases)), dtype=np.float64)
    w = np.array(grid, dtype=np.float32)  # (weightings, parts)
    n_cand = min(CANDIDATES, hybrid.n_items - 1)
    codes = variant_codes(hybrid) if hybrid.config.collapse_variants else None
    for j, case in enumerate(cases):
        scores = np.stack([minmax(hybrid.components[p].score_item(case.seed)) for p in PARTS])  # (parts, items)
        scores[:, case.seed] = 0.0  # never related to itself
        pool = np.unique(np.argpartition(-scores, n_cand, axis=1)[:, :n_cand])
        fused = w @ scores[:, pool]  # (weightings, pool)
        shown = shown_top(fused, codes[pool] if codes is not None else None, k)
        hits[:, j] = (shown & np.isin(pool, case.truth)[None, :]).any(axis=1)
    means = hits.mean(axis=1)
    best = int(np.argmax(means))
    # seeds of one session share its truth: the paired test runs on per-session means, not per seed
    sessions = np.unique([c.session for c in cases], return_inverse=True)[1]
    per_session = np.stack([np.bincount(sessions, weights=h) / np.bincount(sessions) for h in hits])
    kept = best == 0 or not reliably_better(per_session[best], per_session[0], z)
    pick = 0 if kept else best
    return RelatedChoice(
        dict(zip(PARTS, grid[pick], strict=True)), float(means[pick]), float(means[0]), len(cases), kept
    )


def variant_codes(hybrid: HybridRecommender) -> IntArray:
    """Each catalog row's product title (``variant_key``) as an integer: rows of one product share it
    (:attr:`~shelfwise.catalog.schema.Catalog.variant_codes`)."""
    return hybrid.catalog.variant_codes.astype(np.int64)


def shown_top(fused: npt.NDArray[np.float32], codes: IntArray | None, k: int) -> npt.NDArray[np.bool_]:
    """Which pool entries each weighting's related-items list shows, (weightings x pool): its top ``k``
    by fused score (a stable sort: ties in pool order) with evidence above zero; with ``codes`` (each
    entry's product), one entry per product, the best ranked, as ``similar()`` collapses variants."""
    order = np.argsort(-fused, axis=1, kind="stable")
    first = np.ones(order.shape, dtype=bool)
    if codes is not None and order.size:  # each row's first place of each product, found for all rows at once
        key = np.arange(len(order))[:, None] * (int(codes.max()) + 1) + codes[order]
        first[:] = False
        first.reshape(-1)[np.unique(key.reshape(-1), return_index=True)[1]] = True
    keep = first & (np.cumsum(first, axis=1) <= k) & (np.take_along_axis(fused, order, axis=1) > 0)
    shown = np.zeros(order.shape, dtype=bool)
    np.put_along_axis(shown, order, keep, axis=1)
    return shown


@dataclass(frozen=True)
class RelatedSearch:
    """What :func:`search_related` found, written to a config and report by :func:`apply_related`:
    the configured weights it started from, whether the store lets the search choose (``searched``),
    the seeds scored, the choice (None when not made) and, without one, the report's clause saying why."""

    start: dict[str, float]
    searched: bool
    cases: int = 0
    choice: RelatedChoice | None = None
    why_kept: str = ""


def search_related(hybrid: HybridRecommender, split: tuple[Interactions, Interactions]) -> RelatedSearch:
    """The related-items search on the held-out sessions of ``split`` (earlier rows, latest sessions:
    the components are fitted on the earlier rows now). It only reads ``hybrid`` (the in-session
    weights it does not need), so it may run in a thread while fit-time tuning builds its pool."""
    tc = hybrid.config.tune
    start = dict(hybrid.config.similar_weights)
    if not tc.related:
        return RelatedSearch(start, False)  # the configured weights are the store's choice
    if not all(p in hybrid.components for p in PARTS) or set(start) - set(PARTS):
        return RelatedSearch(start, True, why_kept="they fuse other components")
    budget = max(1, MAX_CELLS // max(hybrid.n_items, 1))  # each seed scores the catalog three times
    cases = related_cases(*split, min(MAX_CASES, budget), tc.sample_seed)
    if len(cases) < MIN_CASES:
        capped = f" within the fit-time budget at {hybrid.n_items:,} items" if budget < MIN_CASES else ""
        return RelatedSearch(start, True, len(cases), why_kept=f"{len(cases)} seeds{capped}, fewer than {MIN_CASES}")
    return RelatedSearch(start, True, len(cases), choose_related(hybrid, cases, start, K, tc.z))


def apply_related(hybrid: HybridRecommender, found: RelatedSearch, rep: TuningReport) -> None:
    """Set the weights ``found`` chose on ``hybrid``'s config and record the search in ``rep`` (its
    reason gains a clause)."""
    rep.start_related_weights = dict(found.start)
    if not found.searched:
        return
    rep.related_cases = found.cases
    got = found.choice
    if got is None:
        rep.reason += f"; related items: configured weights kept ({found.why_kept})"
        return
    rep.related_weights, rep.related_score, rep.default_related_score = got.weights, got.score, got.default_score
    hybrid.config = replace(hybrid.config, similar_weights=tuple(got.weights.items()))
    said = ", ".join(f"{p} {w:g}" for p, w in got.weights.items() if w > 0)
    rep.reason += (
        f"; related items: {'configured weights kept' if got.kept else said} (hit@{K} {got.score:.3f} vs "
        f"{got.default_score:.3f} configured, {got.cases} seeds)"
    )


def tune_related(hybrid: HybridRecommender, split: tuple[Interactions, Interactions], rep: TuningReport) -> None:
    """:func:`search_related`, then :func:`apply_related`: choose ``hybrid``'s related-items weights
    on ``split``, set them on its config and record the choice in ``rep``."""
    apply_related(hybrid, search_related(hybrid, split), rep)


def reuse_related(config: HybridConfig, saved: HybridConfig, rep: TuningReport) -> HybridConfig:
    """``config`` with the related-items weights of the ``saved`` fit when its search chose them and
    ``config`` lets the search choose them (``TuneConfig(related=False)``: its configured ones stay)."""
    chosen = bool(rep.related_weights) and config.tune.related
    return replace(config, similar_weights=saved.similar_weights) if chosen else config
