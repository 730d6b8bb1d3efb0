"""Bandit stage: exploration policies, ranking-slot exploration, off-policy evaluation, replay."""

from shelfwise.bandit.linucb import LinUCB, LinUCBConfig
from shelfwise.bandit.mab import UCB1, BernoulliTS, EpsilonGreedy, EpsilonGreedyConfig, ThompsonConfig, UCBConfig
from shelfwise.bandit.ope import (
    BanditLog,
    Estimate,
    EstimateRow,
    OBDLoad,
    OPEReport,
    PolicyEvaluation,
    RewardModel,
    RewardModelConfig,
    ThompsonOPEConfig,
    evaluate_bernoulli_ts,
    evaluate_policy,
    load_obd,
    policy_probs,
    read_obd,
)
from shelfwise.bandit.policy import Policy
from shelfwise.bandit.replay import ReplayConfig, ReplayResult, arm_features, feature_dim, replay
from shelfwise.bandit.slots import SlotConfig, SlotExplorer

__all__ = [
    "UCB1",
    "BanditLog",
    "BernoulliTS",
    "EpsilonGreedy",
    "EpsilonGreedyConfig",
    "Estimate",
    "EstimateRow",
    "LinUCB",
    "LinUCBConfig",
    "OBDLoad",
    "OPEReport",
    "Policy",
    "PolicyEvaluation",
    "ReplayConfig",
    "ReplayResult",
    "RewardModel",
    "RewardModelConfig",
    "SlotConfig",
    "SlotExplorer",
    "ThompsonConfig",
    "ThompsonOPEConfig",
    "UCBConfig",
    "arm_features",
    "evaluate_bernoulli_ts",
    "evaluate_policy",
    "feature_dim",
    "load_obd",
    "policy_probs",
    "read_obd",
    "replay",
]
