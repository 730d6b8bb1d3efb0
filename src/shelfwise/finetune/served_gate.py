"""The second gate: a new version goes into a shelf only if the search the shelf serves gets no worse.

:mod:`~shelfwise.finetune.gate` compares the base and the fine-tuned model on held-out queries as
dense retrieval alone (torch, among a sample of candidates). Shoppers get the hybrid (BM25 words and
character n-grams fused with the int8 ONNX model's cosines), where a dense gain can vanish: on a
150-query Home Depot slice a LoRA run gained +0.025 dense NDCG@10 on its 19 held-out queries while
the served hybrid went from 0.7289 to 0.7276 (a walkthrough, session 16). So when a new version is
published into a shelf, the held-out queries are searched over the whole catalog by the shelf as it
serves now (its first stage and its reranker) and by what it would serve after (the rebuilt first
stage with the reranker :mod:`~shelfwise.finetune.reranker_refit` chose: an LTR one refitted on the
new scores, a cross-encoder kept, or none when dropped); the new searcher replaces the old one only if
its NDCG@10 is at least as high. Until session 19 both sides were scored without the reranker, while
the shelf kept serving its old LTR weights on the new encoder's scores, a stack nobody had measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from shelfwise.catalog.schema import Catalog
from shelfwise.eval.judgments import Judgments, SearchMetrics, evaluate_search
from shelfwise.finetune.pairs import PairSet
from shelfwise.retrieve.hybrid import HybridSearcher

K = 10


@dataclass(frozen=True)
class ServedCheck:
    """Held-out NDCG@10 of the shelf's search as it is (``before``) and with the new version (``after``),
    with the standard error of the per-query difference."""

    before: float
    after: float
    stderr: float
    n_queries: int
    before_stack: str = "hybrid, no reranker"  # what was searched on each side (stack_name)
    after_stack: str = "hybrid, no reranker"

    @property
    def passed(self) -> bool:
        """The new searcher is at least as good (a tie passes: the model's own gate already passed)."""
        return not math.isnan(self.after) and self.after >= self.before

    def summary(self) -> str:
        se = "" if math.isnan(self.stderr) else f" \u00b1 {self.stderr:.4f} s.e."
        same = self.after_stack == self.before_stack
        stacks = self.after_stack if same else f"{self.after_stack} after vs {self.before_stack} now"
        return (
            f"served search ({stacks}) on {self.n_queries} held-out queries: NDCG@10 {self.after:.4f} "
            f"with the new version vs {self.before:.4f} now ({self.after - self.before:+.4f}{se})"
        )


class NotPublished(Exception):
    """The new version made the served search worse on the held-out queries: the shelf was left as it was."""

    def __init__(self, check: ServedCheck) -> None:
        super().__init__(check.summary())
        self.check = check


def held_out_judgments(holdout: PairSet, catalog: Catalog, prefixes: Mapping[str, str]) -> Judgments | None:
    """The holdout's query -> product pairs as judgments over ``catalog`` ids (grade 1): the anchor
    without the query prefix is the query, the positive without the passage prefix is matched to the
    products whose text it is. Anchors that are product texts (item-to-item pairs) are left out.
    None when no query pair remains."""
    q_prefix, p_prefix = prefixes.get("query", ""), prefixes.get("passage", "")
    rows_of: dict[str, list[str]] = {}
    for p in catalog.products:
        rows_of.setdefault(p.text(), []).append(p.id)
    queries: dict[str, str] = {}
    relevance: dict[str, dict[str, float]] = {}
    for anchor, positive in zip(holdout.anchors, holdout.positives, strict=True):
        query = anchor.removeprefix(q_prefix)
        ids = rows_of.get(positive.removeprefix(p_prefix), [])
        if not ids or anchor.removeprefix(p_prefix) in rows_of:
            continue
        qid = _qid(queries, query)
        relevance.setdefault(qid, {}).update(dict.fromkeys(ids, 1.0))
    if not relevance:
        return None
    return Judgments({qid: q for q, qid in queries.items()}, relevance)


def _qid(queries: dict[str, str], query: str) -> str:
    return queries.setdefault(query, f"q{len(queries)}")


def stack_name(searcher: HybridSearcher) -> str:
    """``"hybrid + ltr reranker"`` / ``"hybrid + cross reranker"`` / ``"hybrid, no reranker"``."""
    rr = searcher.reranker
    if rr is None or searcher.config.rerank_depth == 0:
        return "hybrid, no reranker"
    return f"hybrid + {getattr(rr, 'kind', type(rr).__name__)} reranker"


def served_check(before: HybridSearcher, after: HybridSearcher, judged: Judgments) -> ServedCheck:
    """Both searchers' NDCG@10 on ``judged`` as they serve (each with its own reranker, if any; no
    shopper's taste), paired by query."""
    a, b = _scores(before, judged), _scores(after, judged)
    diff = np.asarray(b.per_query["ndcg@10"]) - np.asarray(a.per_query["ndcg@10"])
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    return ServedCheck(a.ndcg_at_10, b.ndcg_at_10, se, a.n_queries, stack_name(before), stack_name(after))


def _scores(searcher: HybridSearcher, judged: Judgments) -> SearchMetrics:
    cfg = replace(searcher.config, personal_weight=0.0)
    ids = searcher.catalog.ids

    def search(query: str, n: int) -> list[str]:
        return [ids[r] for r in searcher.search(query, n, config=cfg).ids.tolist()]

    return evaluate_search(search, judged, k=K, recall_k=K)
