"""Typed, validated configuration for contrastive fine-tuning of a bi-encoder."""

from __future__ import annotations

import math
from dataclasses import dataclass

MODES = ("full", "lora")
SELECT_METRICS = ("ndcg@10", "recall@10", "mrr")  # shelfwise.finetune.metrics.METRICS
# Adapters start at zero and have few parameters, so LoRA wants a ~10x larger step than full tuning.
# Full 2e-5 with scale 50: the setting checked on real shopper queries (Home Depot, e5 base, hard negatives,
# bench/bench_search_learned.py); E5 itself was trained at temperature 0.01 (scale 100), MiniLM at 20.
DEFAULT_LEARNING_RATE = {"full": 2e-5, "lora": 5e-4}


@dataclass(frozen=True)
class FinetuneConfig:
    """``mode``: "full" (all weights) or "lora" (low-rank adapters on the attention/FFN Linears,
    merged into the weights on save). ``scale``: inverse temperature of the in-batch softmax.
    Validation runs every ``eval_every`` steps (``None``: about ten times over the run, at most every
    50 steps) and scores ``metric`` (NDCG@10 by default); training stops after ``patience``
    evaluations without improvement and the best weights are restored. ``learning_rate``: ``None`` (default)
    means the mode's default, :data:`DEFAULT_LEARNING_RATE` (2e-5 full, 5e-4 LoRA); read the
    effective value from :attr:`lr`.
    """

    mode: str = "full"
    learning_rate: float | None = None
    batch_size: int = 32
    epochs: float = 1.0
    max_steps: int | None = None
    max_seq_length: int = 64
    scale: float = 50.0
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    eval_every: int | None = None
    patience: int = 3
    metric: str = "ndcg@10"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    seed: int = 0
    threads: int | None = None
    freeze_embeddings: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"FinetuneConfig.mode must be one of {MODES}, got {self.mode!r}")
        if self.lr <= 0 or self.batch_size < 2 or self.epochs <= 0:
            raise ValueError("FinetuneConfig: learning_rate > 0, batch_size >= 2, epochs > 0")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("FinetuneConfig.max_steps must be >= 1 when given")
        if self.max_seq_length < 8 or self.scale <= 0 or not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError("FinetuneConfig: max_seq_length >= 8, scale > 0, 0 <= warmup_fraction < 1")
        if (self.eval_every is not None and self.eval_every < 1) or self.patience < 1:
            raise ValueError("FinetuneConfig: eval_every >= 1 (or None for automatic) and patience >= 1")
        if self.metric not in SELECT_METRICS:
            raise ValueError(f"FinetuneConfig.metric must be one of {SELECT_METRICS}, got {self.metric!r}")
        if self.lora_r < 1 or self.lora_alpha < 1 or not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError("FinetuneConfig: lora_r >= 1, lora_alpha >= 1, 0 <= lora_dropout < 1")

    def eval_interval(self, total_steps: int) -> int:
        """Steps between validations for a run of ``total_steps``."""
        if self.eval_every is not None:
            return self.eval_every
        return min(max(math.ceil(total_steps / 10), 1), 50)

    @property
    def lr(self) -> float:
        """The effective learning rate: ``learning_rate`` if given, else the mode's default."""
        return DEFAULT_LEARNING_RATE[self.mode] if self.learning_rate is None else self.learning_rate
