"""Continual updates: fine-tune the current model on a new batch of pairs mixed with a replay
sample of earlier pairs, so old behaviour is rehearsed while new data is learnt (experience
replay; Rolnick et al., 2019, "Experience Replay for Continual Learning"; Robins, 1995,
"Catastrophic forgetting, rehearsal and pseudorehearsal").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shelfwise.finetune.config import FinetuneConfig
from shelfwise.finetune.pairs import PairSet
from shelfwise.finetune.trainer import TrainedModel, fine_tune


@dataclass(frozen=True)
class ReplayConfig:
    """``ratio``: replayed old pairs per new pair (0 = plain sequential fine-tuning)."""

    ratio: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ratio < 0:
            raise ValueError("ReplayConfig.ratio must be >= 0")


def replay_mix(new: PairSet, old: PairSet, replay: ReplayConfig) -> PairSet:
    """The new pairs plus ``ratio * len(new)`` old pairs drawn at random, shuffled together."""
    n_old = min(round(replay.ratio * len(new)), len(old))
    mixed = new + old.sample(n_old, seed=replay.seed) if n_old else new
    return mixed.sample(len(mixed), seed=replay.seed + 1)


def continual_update(
    current: Any,
    new: PairSet,
    old: PairSet,
    val: PairSet | None = None,
    *,
    config: FinetuneConfig | None = None,
    replay: ReplayConfig | None = None,
    distractors: Sequence[str] = (),
    base_name: str = "model",
) -> TrainedModel:
    """Update ``current`` (a loaded SentenceTransformer or a model folder) on ``new`` with replay of ``old``."""
    train = replay_mix(new, old, replay or ReplayConfig())
    return fine_tune(current, train, val, config, distractors=distractors, base_name=base_name)
