"""Finetune stage: learn from the store's data (pairs, contrastive trainer, LoRA, held-out publish
gate, versions, replay, atomic index rebuild)."""

from shelfwise.finetune.artifacts import ModelStore, ModelVersion
from shelfwise.finetune.config import FinetuneConfig
from shelfwise.finetune.continual import ReplayConfig, continual_update, replay_mix
from shelfwise.finetune.gate import DEFAULT_MIN_GAIN, GateReport, holdout_gate
from shelfwise.finetune.metrics import validation_metrics
from shelfwise.finetune.pairs import PairSet, copurchase_pairs, pairs_from_events, pairs_from_judgments
from shelfwise.finetune.pipeline import (
    TrainingData,
    TrainOutcome,
    mine_pairs,
    rebuild_index,
    resolve_base,
    train_and_publish,
)
from shelfwise.finetune.rebuild import (
    EmbedStats,
    build_index_atomically,
    build_shelf_folder,
    embed_catalog,
    publish_into_shelf,
)
from shelfwise.finetune.served_gate import NotPublished, ServedCheck, held_out_judgments, served_check
from shelfwise.finetune.trainer import TrainedModel, TrainLog, fine_tune, info_nce, load_st

__all__ = [
    "DEFAULT_MIN_GAIN",
    "EmbedStats",
    "FinetuneConfig",
    "GateReport",
    "ModelStore",
    "ModelVersion",
    "NotPublished",
    "PairSet",
    "ReplayConfig",
    "ServedCheck",
    "TrainLog",
    "TrainOutcome",
    "TrainedModel",
    "TrainingData",
    "build_index_atomically",
    "build_shelf_folder",
    "continual_update",
    "copurchase_pairs",
    "embed_catalog",
    "fine_tune",
    "held_out_judgments",
    "holdout_gate",
    "info_nce",
    "load_st",
    "mine_pairs",
    "pairs_from_events",
    "pairs_from_judgments",
    "publish_into_shelf",
    "rebuild_index",
    "replay_mix",
    "resolve_base",
    "served_check",
    "train_and_publish",
    "validation_metrics",
]
