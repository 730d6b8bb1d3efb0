"""End to end: mine pairs from a store's data, fine-tune, version the model, rebuild the index."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shelfwise.catalog.schema import Catalog
from shelfwise.eval.judgments import Judgments
from shelfwise.events.schema import EventLog
from shelfwise.finetune.artifacts import ModelStore, ModelVersion
from shelfwise.finetune.config import FinetuneConfig
from shelfwise.finetune.pairs import PairSet, copurchase_pairs, pairs_from_events, pairs_from_judgments
from shelfwise.finetune.trainer import TrainedModel, fine_tune
from shelfwise.retrieve.hybrid import HybridSearcher


def resolve_base(base: str) -> Path:
    """``minilm`` (packaged all-MiniLM-L6-v2), ``e5`` (converted multilingual-e5-small) or a folder."""
    if base == "minilm":
        from shelfwise.encode.sentence import packaged_model_path

        return packaged_model_path()
    if base == "e5":
        from shelfwise.encode.e5 import e5_model_path

        return e5_model_path()
    path = Path(base)
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise FileNotFoundError(f"{base}: not 'minilm', 'e5' or a sentence-transformers model folder")
    return path


@dataclass(frozen=True)
class TrainingData:
    train: PairSet
    val: PairSet


def mine_pairs(
    catalog: Catalog,
    judgments: Judgments | None = None,
    log: EventLog | None = None,
    *,
    val_fraction: float = 0.2,
    max_copurchase: int | None = 10_000,
    seed: int = 0,
) -> TrainingData:
    """Every available pair source, split by anchor into train / validation."""
    sets: list[PairSet] = []
    if judgments is not None:
        sets.append(pairs_from_judgments(judgments, catalog))
    if log is not None:
        q = pairs_from_events(log, catalog)
        if len(q):
            sets.append(q)
        c = copurchase_pairs(log, catalog, max_pairs=max_copurchase, seed=seed)
        if len(c):
            sets.append(c)
    if not sets or sum(len(s) for s in sets) < 4:
        raise ValueError("no training pairs: give judgments or events with queries / co-purchases")
    train, val = PairSet((), ()), PairSet((), ())
    for s in sets:
        a, b = s.split(1.0 - val_fraction, seed)
        train, val = train + a, val + b
    return TrainingData(train, val)


def train_and_save(
    catalog: Catalog,
    data: TrainingData,
    store: ModelStore,
    *,
    base: str = "minilm",
    config: FinetuneConfig | None = None,
    n_distractors: int = 1000,
) -> tuple[ModelVersion, TrainedModel]:
    texts = catalog.texts()
    step = max(len(texts) // max(n_distractors, 1), 1)
    trained = fine_tune(
        resolve_base(base), data.train, data.val, config, distractors=texts[::step][:n_distractors], base_name=base
    )
    metrics = {"val_mrr": trained.log.best_val, "best_step": float(trained.log.best_step)}
    sources = tuple(sorted(set(data.train.source.split("+"))))
    mv = store.save(trained, n_train=len(data.train), sources=sources, metrics=metrics)
    return mv, trained


def rebuild_index(catalog: Catalog, store: ModelStore, out: str | Path, version: str | None = None) -> HybridSearcher:
    """Re-embed the catalog with a stored model version and save the search indexes to ``out``,
    with ``catalog.parquet`` beside them as ``shelfwise index`` writes it, so ``shelfwise serve
    --index <out> --encoder <model folder>`` (and eval) can load it: the index records the
    version's encoder name, which ``load_encoder(<model folder>)`` reproduces."""
    searcher = HybridSearcher.build(catalog, store.encoder(version))
    searcher.save(out)
    catalog.save(Path(out) / "catalog.parquet")
    return searcher
