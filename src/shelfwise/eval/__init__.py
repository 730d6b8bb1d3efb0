"""Eval stage: metrics, judgment files, evaluation runners and reports."""

from shelfwise.eval.metrics import (
    auc,
    coverage,
    dcg,
    head_items,
    intra_list_diversity,
    long_tail_share,
    mrr,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

__all__ = [
    "auc",
    "coverage",
    "dcg",
    "head_items",
    "intra_list_diversity",
    "long_tail_share",
    "mrr",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]
