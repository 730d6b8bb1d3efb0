"""Finetune stage: learn from the store's data (pairs, contrastive trainer, LoRA, versions, replay)."""

from shelfwise.finetune.artifacts import ModelStore, ModelVersion
from shelfwise.finetune.config import FinetuneConfig
from shelfwise.finetune.continual import ReplayConfig, continual_update, replay_mix
from shelfwise.finetune.pairs import PairSet, copurchase_pairs, pairs_from_events, pairs_from_judgments
from shelfwise.finetune.pipeline import TrainingData, mine_pairs, rebuild_index, resolve_base, train_and_save
from shelfwise.finetune.trainer import TrainedModel, TrainLog, fine_tune, info_nce, load_st, validation_mrr

__all__ = [
    "FinetuneConfig",
    "ModelStore",
    "ModelVersion",
    "PairSet",
    "ReplayConfig",
    "TrainLog",
    "TrainedModel",
    "TrainingData",
    "continual_update",
    "copurchase_pairs",
    "fine_tune",
    "info_nce",
    "load_st",
    "mine_pairs",
    "pairs_from_events",
    "pairs_from_judgments",
    "rebuild_index",
    "replay_mix",
    "resolve_base",
    "train_and_save",
    "validation_mrr",
]
