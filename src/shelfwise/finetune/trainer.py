"""Contrastive fine-tuning of a sentence-transformers bi-encoder with in-batch negatives.

Loss: InfoNCE / MultipleNegativesRanking (van den Oord et al., 2018, "Representation Learning with
Contrastive Predictive Coding"; Henderson et al., 2017, "Efficient Natural Language Response
Suggestion for Smart Reply"): for a batch of (anchor_i, positive_i), softmax cross-entropy of
``scale * cos(a_i, p_j)`` over j, target j = i. In-batch duplicates of the same positive are
masked so they are not counted as negatives. LoRA after Hu et al., 2021, "LoRA: Low-Rank
Adaptation of Large Language Models" (via ``peft``), merged into the weights after training.

The loop is written here in plain torch: AdamW, linear warm-up then linear decay, validation every
``eval_every`` steps (NDCG@10 / recall@10 / MRR of the true positives among all validation positives
plus distractors, :mod:`shelfwise.finetune.metrics`), early stopping with the best weights restored,
and an optional progress bar with the current loss and validation score.
"""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shelfwise.errors import MissingExtraError, require_torch
from shelfwise.finetune.config import FinetuneConfig
from shelfwise.finetune.metrics import LABELS, eval_size, validation_metrics
from shelfwise.finetune.pairs import PairSet

LORA_TARGETS = ("query", "key", "value", "dense")


@dataclass
class TrainLog:
    """What happened: per-evaluation history (``val_ndcg@10``, ``val_recall@10``, ``val_mrr``), the
    step whose weights were kept, its score on ``metric``, timings."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_step: int = 0
    best_val: float = float("nan")
    steps: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    trainable_params: int = 0
    metric: str = "ndcg@10"
    eval_every: int = 0

    @property
    def base_val(self) -> float:
        """The untrained model's validation score on ``metric`` (step 0)."""
        return self.history[0][f"val_{self.metric}"] if self.history else float("nan")


@dataclass
class TrainedModel:
    """A fine-tuned ``SentenceTransformer`` (LoRA already merged) and its training log."""

    model: Any
    config: FinetuneConfig
    log: TrainLog
    base: str


_torch = require_torch  # torch, or an error naming the extra to install


def load_st(path: str | Path) -> Any:
    """Load a local sentence-transformers folder on CPU (no hub access)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingExtraError("sentence-transformers", "lm") from exc
    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


def mean_pooled(model: Any) -> bool:
    """Whether a ``SentenceTransformer`` is transformer + mean pooling (+ normalisation) only: the
    shape :func:`shelfwise.encode.onnx_encoder.export_onnx` reproduces."""
    kinds = [type(m).__name__ for m in model]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k not in ("Normalize",) for k in kinds[2:]):
        return False
    pool = model[1]
    mode = getattr(pool, "pooling_mode", None)  # sentence-transformers >= 5; older: pooling_mode_mean_tokens
    return mode == "mean" if mode is not None else bool(getattr(pool, "pooling_mode_mean_tokens", False))


def _attach_lora(model: Any, cfg: FinetuneConfig) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as exc:
        raise MissingExtraError("peft", "train") from exc
    lcfg = LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, target_modules=list(LORA_TARGETS)
    )
    # peft injects the adapters into the wrapped transformer in place, so the sentence-transformers
    # module keeps calling the same (now adapted) model; the PeftModel handle is kept for merging.
    return get_peft_model(model[0].auto_model, lcfg)


def _batches(n: int, batch_size: int, rng: random.Random) -> list[list[int]]:
    idx = list(range(n))
    rng.shuffle(idx)
    return [idx[i : i + batch_size] for i in range(0, n - 1, batch_size) if len(idx[i : i + batch_size]) >= 2]


def _embed(model: Any, texts: Sequence[str]) -> Any:
    torch = _torch()
    feats = model.preprocess(list(texts)) if hasattr(model, "preprocess") else model.tokenize(list(texts))
    out = model(feats)["sentence_embedding"]
    return torch.nn.functional.normalize(out, dim=-1)


def info_nce(
    model: Any, anchors: Sequence[str], positives: Sequence[str], scale: float, negatives: Sequence[str] = ()
) -> Any:
    """In-batch-negatives loss for one batch; duplicate positives are not used as negatives, nor are
    other pairs' positives of the same anchor. Non-empty ``negatives`` (hard negatives, one per pair or
    ``""``) join every anchor's candidates."""
    torch = _torch()
    hard = [n for n in negatives if n]
    docs = list(positives) + hard
    a = _embed(model, anchors)
    p = _embed(model, docs)
    logits = scale * (a @ p.T)
    same = np.array([[d == pos or (j < len(anchors) and anchors[j] == anc) for j, d in enumerate(docs)]
                     for anc, pos in zip(anchors, positives, strict=True)], dtype=bool)  # fmt: skip
    np.fill_diagonal(same[:, : len(anchors)], False)
    if same.any():
        logits = logits.masked_fill(torch.from_numpy(same), float("-inf"))
    labels = torch.arange(len(anchors))
    return torch.nn.functional.cross_entropy(logits, labels)


def _freeze_word_embeddings(model: Any) -> None:
    """Keep the token-embedding table fixed: most of a multilingual model's weights (E5-small: 96M of
    118M, a 250k-token vocabulary) that a store's few thousand pairs cannot move well, and the bulk of
    each optimiser step's cost on CPU."""
    first = model[0] if hasattr(model, "__getitem__") else model
    inner = getattr(first, "auto_model", None)
    emb = getattr(getattr(inner, "embeddings", None), "word_embeddings", None)
    if emb is not None:
        emb.weight.requires_grad_(False)


def fine_tune(
    base: str | Path | Any,
    train: PairSet,
    val: PairSet | None = None,
    config: FinetuneConfig | None = None,
    *,
    distractors: Sequence[str] = (),
    base_name: str | None = None,
    progress: bool = False,
    say: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Fine-tune ``base`` (a sentence-transformers folder, or a loaded model, which is copied).

    ``progress``: a tqdm bar over the steps (loss, best validation score) on stderr. One line per
    validation goes to ``say``, or above the bar when only ``progress`` is given."""
    cfg = config or FinetuneConfig()
    torch = _torch()
    if len(train) < 2:
        raise ValueError(f"fine_tune: need at least 2 training pairs, got {len(train)}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    model = copy.deepcopy(base) if not isinstance(base, str | Path) else load_st(base)
    name = base_name or (Path(base).name if isinstance(base, str | Path) else "model")
    saved_len = model.max_seq_length
    model.max_seq_length = cfg.max_seq_length
    if cfg.freeze_embeddings and cfg.mode == "full":
        _freeze_word_embeddings(model)
    peft_model = _attach_lora(model, cfg) if cfg.mode == "lora" else None
    trainable = peft_model.parameters() if peft_model is not None else model.parameters()
    params = [p for p in trainable if p.requires_grad]
    steps_per_epoch = max(len(_batches(len(train), cfg.batch_size, random.Random(0))), 1)
    total = math.ceil(cfg.epochs * steps_per_epoch)
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    every = cfg.eval_interval(total)
    log = TrainLog(trainable_params=int(sum(p.numel() for p in params)), metric=cfg.metric, eval_every=every)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(int(cfg.warmup_fraction * total), 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(total - warm, 1)))
    )
    bar = _bar(total, cfg, progress)
    tell = say or (lambda line: bar.write(line, file=sys.stderr) if progress else None)

    def evaluate(step: int, loss: float) -> float:
        model.eval()
        with torch.no_grad():
            scores = validation_metrics(model, val if val is not None else PairSet((), ()), distractors)
        model.train()
        log.history.append({"step": float(step), "loss": loss} | {f"val_{m}": v for m, v in scores.items()})
        return scores[cfg.metric]

    def snapshot() -> dict[str, Any]:
        return {k: t.detach().clone() for k, t in model.state_dict().items()}

    if cfg.max_steps is not None and total < cfg.max_steps:  # the cap is not what stopped it: say what did
        tell(
            f"{total} steps, not {cfg.max_steps}: max steps is only a cap, and {cfg.epochs:g} epoch(s) of "
            f"{len(train)} pairs in batches of {cfg.batch_size} make {total}; more epochs make more steps"
        )
    validated = val is not None and len(val) > 0
    if validated:
        n_q, n_c = eval_size(val, distractors)  # type: ignore[arg-type]
        tell(f"validation: {n_q} queries against {n_c} candidate products, every {every} steps (and at step 0)")
    else:
        tell(f"no validation pairs: no early stopping, the last of the {total} steps is kept")
    best = evaluate(0, float("nan"))
    best_state: dict[str, Any] | None = None if math.isnan(best) else snapshot()
    if validated:
        tell(f"step 0/{total} (untrained): validation {LABELS[cfg.metric]} {best:.4f}")
    bad = 0
    t0 = time.perf_counter()
    step = 0
    model.train()
    while step < total and not log.stopped_early:
        for batch in _batches(len(train), cfg.batch_size, rng):
            loss = info_nce(
                model,
                [train.anchors[i] for i in batch],
                [train.positives[i] for i in batch],
                cfg.softmax_scale,
                [train.negative(i) for i in batch],
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", **({"best": f"{best:.4f}"} if validated else {}), refresh=False)
            if step % every == 0 or step == total:
                v = evaluate(step, float(loss.item()))
                if math.isnan(v) or math.isnan(best) or v > best:
                    best, bad, log.best_step = v, 0, step
                    best_state = snapshot() if not math.isnan(v) else None
                else:
                    bad += 1
                    log.stopped_early = bad >= cfg.patience
                bar.set_postfix(loss=f"{loss.item():.3f}", **({"best": f"{best:.4f}"} if validated else {}))
                if validated:
                    tell(_eval_line(step, total, float(loss.item()), log, bad, cfg.patience))
                else:
                    tell(f"step {step}/{total}: loss {loss.item():.4f}")
                if log.stopped_early:
                    break
            if step >= total:
                break
    bar.close()
    if best_state is not None:  # best validated weights (the base model itself if nothing improved)
        model.load_state_dict(best_state)
    log.steps, log.seconds, log.best_val = step, time.perf_counter() - t0, best
    if peft_model is not None:
        peft_model.merge_and_unload()  # LoRA deltas folded into the Linear weights, adapters removed
    model.max_seq_length = saved_len
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return TrainedModel(model, cfg, log, name)


def _bar(total: int, cfg: FinetuneConfig, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"train {cfg.mode}", unit="step", disable=not progress, dynamic_ncols=True)


def _eval_line(step: int, total: int, loss: float, log: TrainLog, bad: int, patience: int) -> str:
    h = log.history[-1]
    line = (
        f"step {step}/{total}: loss {loss:.4f}, validation NDCG@10 {h['val_ndcg@10']:.4f}, "
        f"recall@10 {h['val_recall@10']:.4f}, MRR {h['val_mrr']:.4f}"
    )
    if bad == 0:
        return line + " (new best)"
    line += f" (no gain over step {log.best_step}: {bad}/{patience})"
    return line + (", stopping early" if log.stopped_early else "")
