"""Recommend stage: personalised, related, cross-category and next-in-session recommendations."""

from shelfwise.recommend.autotune import TuneConfig, TuningReport
from shelfwise.recommend.base import Context, ItemScorer, Recommendation, Recommender
from shelfwise.recommend.content import ContentConfig, ContentRecommender
from shelfwise.recommend.cooccurrence import CooccurrenceConfig, CooccurrenceRecommender
from shelfwise.recommend.cross import CrossCategoryRecommender, CrossConfig
from shelfwise.recommend.evaluate import RecMetrics, evaluate, holdout_report, split_last_sessions, truth_by_user
from shelfwise.recommend.factor import ALSConfig, ALSRecommender
from shelfwise.recommend.hybrid import HybridConfig, HybridRecommender, build_recommender
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.popularity import PopularityConfig, PopularityRecommender, RepeatRecommender
from shelfwise.recommend.profiles import UserProfiles
from shelfwise.recommend.sasrec import SASRecConfig, SASRecRecommender
from shelfwise.recommend.sequence import (
    RecentConfig,
    RecentCooccurrence,
    SequenceConfig,
    SequentialRulesRecommender,
    SessionKNNConfig,
    SessionKNNRecommender,
)
from shelfwise.recommend.tifu import TifuConfig, TifuRecommender
from shelfwise.recommend.walk import SessionWalkRecommender, WalkConfig

__all__ = [
    "ALSConfig",
    "ALSRecommender",
    "ContentConfig",
    "ContentRecommender",
    "Context",
    "CooccurrenceConfig",
    "CooccurrenceRecommender",
    "CrossCategoryRecommender",
    "CrossConfig",
    "HybridConfig",
    "HybridRecommender",
    "Interactions",
    "ItemScorer",
    "PopularityConfig",
    "PopularityRecommender",
    "RecMetrics",
    "RecentConfig",
    "RecentCooccurrence",
    "Recommendation",
    "Recommender",
    "RepeatRecommender",
    "SASRecConfig",
    "SASRecRecommender",
    "SequenceConfig",
    "SequentialRulesRecommender",
    "SessionKNNConfig",
    "SessionKNNRecommender",
    "SessionWalkRecommender",
    "TifuConfig",
    "TifuRecommender",
    "TuneConfig",
    "TuningReport",
    "UserProfiles",
    "WalkConfig",
    "build_recommender",
    "evaluate",
    "holdout_report",
    "split_last_sessions",
    "truth_by_user",
]
