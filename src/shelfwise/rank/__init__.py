"""Rank stage: cheap query-product features, a learning-to-rank reranker and a cross-encoder
reranker, both trained on the store's judgments."""

from shelfwise.rank.cross import Blend, CrossConfig, CrossReranker, fit_cross_reranker
from shelfwise.rank.features import ALL_FEATURE_NAMES, FEATURE_NAMES, FIELD_FEATURES, FeatureExtractor
from shelfwise.rank.ltr import LTRConfig, LTRReranker, PairwiseRanker, fit_reranker, training_groups
from shelfwise.rank.saved import KINDS as RERANKER_KINDS
from shelfwise.rank.saved import load_reranker, saved_kind

__all__ = [
    "ALL_FEATURE_NAMES",
    "FEATURE_NAMES",
    "FIELD_FEATURES",
    "RERANKER_KINDS",
    "Blend",
    "CrossConfig",
    "CrossReranker",
    "FeatureExtractor",
    "LTRConfig",
    "LTRReranker",
    "PairwiseRanker",
    "fit_cross_reranker",
    "fit_reranker",
    "load_reranker",
    "saved_kind",
    "training_groups",
]
