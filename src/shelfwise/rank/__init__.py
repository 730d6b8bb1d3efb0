"""Rank stage: cheap query-product features and a reranker trained on the store's judgments."""

from shelfwise.rank.features import FEATURE_NAMES, FeatureExtractor
from shelfwise.rank.ltr import LTRConfig, LTRReranker, PairwiseRanker, fit_reranker, training_groups

__all__ = [
    "FEATURE_NAMES",
    "FeatureExtractor",
    "LTRConfig",
    "LTRReranker",
    "PairwiseRanker",
    "fit_reranker",
    "training_groups",
]
