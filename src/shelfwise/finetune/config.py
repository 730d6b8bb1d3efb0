"""Typed, validated configuration for contrastive fine-tuning of a bi-encoder."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

MODES = ("full", "lora")
SELECT_METRICS = ("ndcg@10", "recall@10", "mrr")  # shelfwise.finetune.metrics.METRICS
# Adapters start at zero and have few parameters, so LoRA wants a ~10x larger step than full tuning.
DEFAULT_LEARNING_RATE = {"full": 5e-5, "lora": 5e-4}
DEFAULT_SCALE = 20.0  # sentence-transformers' MultipleNegativesRankingLoss, as MiniLM was trained
MIN_EVAL_GAP = 5  # automatic validation interval: at least this many steps apart
# Per base family (E5 and versions fine-tuned from it): full 2e-5 with scale 50 is the setting checked on
# real shopper queries (Home Depot, hard negatives, bench/bench_search_learned.py); E5 itself was
# trained at temperature 0.01 (scale 100).
BASE_DEFAULTS: dict[str, dict[str, float]] = {"e5": {"full_lr": 2e-5, "scale": 50.0}}


# FinetuneConfig fields set by a `shelfwise train` flag of the same name (learning_rate -> --learning-rate)
CLI_FIELDS = frozenset(
    {"learning_rate", "batch_size", "epochs", "max_steps", "max_seq_length", "scale", "eval_every", "patience"}
)


def _flag(name: str) -> str:
    return f" (--{name.replace('_', '-')})" if name in CLI_FIELDS else ""


@dataclass(frozen=True)
class FinetuneConfig:
    """``mode``: "full" (all weights) or "lora" (low-rank adapters on the attention/FFN Linears,
    merged into the weights on save). ``scale``: inverse temperature of the in-batch softmax.
    Validation runs every ``eval_every`` steps (``None``: about ten times over the run, at most every
    50 steps) and scores ``metric`` (NDCG@10 by default); training stops after ``patience``
    evaluations without improvement and the best weights are restored. ``learning_rate``: ``None`` (default)
    means the mode's default, :data:`DEFAULT_LEARNING_RATE` (5e-5 full, 5e-4 LoRA; :meth:`for_base`
    gives E5 its own); read the effective value from :attr:`lr`. ``scale``: ``None`` means
    :data:`DEFAULT_SCALE` (or the base family's, :meth:`for_base`); read it from :attr:`softmax_scale`.
    """

    mode: str = "full"
    learning_rate: float | None = None
    batch_size: int = 32
    epochs: float = 1.0
    max_steps: int | None = None
    max_seq_length: int = 64
    scale: float | None = None
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
        if self.metric not in SELECT_METRICS:
            raise ValueError(f"FinetuneConfig.metric must be one of {SELECT_METRICS}, got {self.metric!r}")
        checks = (
            ("learning_rate", self.lr, self.lr > 0, "> 0"),
            ("batch_size", self.batch_size, self.batch_size >= 2, ">= 2 (in-batch negatives need a second pair)"),
            ("epochs", self.epochs, self.epochs > 0, "> 0"),
            ("max_steps", self.max_steps, self.max_steps is None or self.max_steps >= 1, ">= 1 when given"),
            ("max_seq_length", self.max_seq_length, self.max_seq_length >= 8, ">= 8"),
            ("scale", self.scale, self.scale is None or self.scale > 0, "> 0"),
            ("warmup_fraction", self.warmup_fraction, 0.0 <= self.warmup_fraction < 1.0, "in [0, 1)"),
            ("eval_every", self.eval_every, self.eval_every is None or self.eval_every >= 1, ">= 1 (None: automatic)"),
            ("patience", self.patience, self.patience >= 1, ">= 1"),
            ("lora_r", self.lora_r, self.lora_r >= 1, ">= 1"),
            ("lora_alpha", self.lora_alpha, self.lora_alpha >= 1, ">= 1"),
            ("lora_dropout", self.lora_dropout, 0.0 <= self.lora_dropout < 1.0, "in [0, 1)"),
        )
        bad = [f"{name} must be {rule}, got {value!r}{_flag(name)}" for name, value, ok, rule in checks if not ok]
        if bad:
            raise ValueError("FinetuneConfig: " + "; ".join(bad))

    def eval_interval(self, total_steps: int) -> int:
        """Steps between validations for a run of ``total_steps``: about ten validations a run, at
        least :data:`MIN_EVAL_GAP` steps apart (a validation embeds the validation products: ~35 s on
        H&M's 1,523 against 10-12 s a step, so a 10-step run validating every step spent most of its
        time validating), at most 50."""
        if self.eval_every is not None:
            return self.eval_every
        return min(max(math.ceil(total_steps / 10), min(MIN_EVAL_GAP, total_steps), 1), 50)

    @property
    def lr(self) -> float:
        """The effective learning rate: ``learning_rate`` if given, else the mode's default."""
        return DEFAULT_LEARNING_RATE[self.mode] if self.learning_rate is None else self.learning_rate

    @property
    def softmax_scale(self) -> float:
        """The effective ``scale``: as given, else :data:`DEFAULT_SCALE`."""
        return DEFAULT_SCALE if self.scale is None else self.scale

    def for_base(self, family: str) -> FinetuneConfig:
        """This config with the unset learning rate (full mode) and scale taken from the base family's
        defaults (:data:`BASE_DEFAULTS`; ``"e5"`` for E5 and versions trained from it)."""
        d = BASE_DEFAULTS.get(family, {})
        lr = self.learning_rate if self.learning_rate is not None or self.mode != "full" else d.get("full_lr")
        return replace(self, learning_rate=lr, scale=self.scale if self.scale is not None else d.get("scale"))
