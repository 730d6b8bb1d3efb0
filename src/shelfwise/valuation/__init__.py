"""Valuation stage: which data sources, groups and samples improve search and recommendation quality."""

from shelfwise.valuation.base import GRAINS, ScanUtility, Utility, Values, encode_groups, prefix_utilities
from shelfwise.valuation.interactions import (
    InteractionUtility,
    groups_by_category,
    groups_by_event_type,
    groups_by_recency,
)
from shelfwise.valuation.knn_shapley import KNNUtility, knn_loo, knn_shapley
from shelfwise.valuation.loo import leave_one_out
from shelfwise.valuation.montecarlo import TMCConfig, gelman_rubin, tmc_shapley
from shelfwise.valuation.removal import RemovalCurve, detection_precision, flip_labels, removal_curve
from shelfwise.valuation.suggest import Suggestions, expected_gain, suggest_labels

__all__ = [
    "GRAINS",
    "InteractionUtility",
    "KNNUtility",
    "RemovalCurve",
    "ScanUtility",
    "Suggestions",
    "TMCConfig",
    "Utility",
    "Values",
    "detection_precision",
    "encode_groups",
    "expected_gain",
    "flip_labels",
    "gelman_rubin",
    "groups_by_category",
    "groups_by_event_type",
    "groups_by_recency",
    "knn_loo",
    "knn_shapley",
    "leave_one_out",
    "prefix_utilities",
    "removal_curve",
    "suggest_labels",
    "tmc_shapley",
]
