"""Pick hybrid fusion settings on development queries (never on the queries reported)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from shelfwise.eval.judgments import Judgments, SearchFn, evaluate_search
from shelfwise.retrieve.hybrid import HybridSearcher
from shelfwise.retrieve.search_config import SearchConfig


@dataclass(frozen=True)
class TuneResult:
    best: SearchConfig
    trials: list[tuple[SearchConfig, float]]


def searcher_fn(searcher: HybridSearcher, mode: str | None = None, config: SearchConfig | None = None) -> SearchFn:
    """Adapt a searcher to the ``(query, n) -> item ids`` function the evaluator expects."""
    ids = searcher.catalog.ids

    def run(query: str, n: int) -> list[str]:
        return [ids[i] for i in searcher.search(query, n, mode=mode, config=config).ids.tolist()]

    return run


def tune_fusion(
    searcher: HybridSearcher,
    dev: Judgments,
    *,
    fusions: Sequence[str] = ("rrf", "weighted", "convex"),
    weights: Sequence[float] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
) -> TuneResult:
    """Grid search over fusion method and dense weight on ``dev``.

    The objective is NDCG@10 + Recall@100: the head must be good for shoppers and the top 100
    must hold the relevant items for a reranker to work with.
    """
    trials: list[tuple[SearchConfig, float]] = []
    for fusion in fusions:
        for w in weights:
            cfg = replace(searcher.config, mode="hybrid", fusion=fusion, dense_weight=w)
            m = evaluate_search(searcher_fn(searcher, config=cfg), dev)
            trials.append((cfg, m.ndcg_at_10 + m.recall_at_100))
    best = max(trials, key=lambda t: t[1])[0]
    return TuneResult(best, trials)
