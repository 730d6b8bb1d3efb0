"""What a shelf's LTR reranker should become when a fine-tuned encoder is published into it, on real
Home Depot queries (``shelfwise train --index-out <shelf>``, session 19).

Data: Home Depot dev_1k (``../shared/data/homedepot``, evaluation only, never copied here): 1,000 real
search terms with crowd-graded products over 10,000 products (titles only). Queries are split into
``--folds`` folds as ``bench_search_learned.py`` splits them (same seed); for each fold run
(``--run-folds``, default 1: fold 0 only, to fit the CPU budget), the other folds' judgments are what the
shelf's reranker was fitted on and what the encoder is fine-tuned on, and the fold's own queries are
held out. Systems, all in the same run, scored on the held-out queries:

* ``old first stage + old LTR``: the shelf as it serves before publishing (hybrid e5-onnx + an LTR
  reranker fitted on it);
* ``new first stage, no reranker``: the fine-tuned encoder's hybrid alone (``--drop-reranker``);
* ``new first stage + old LTR``: the old reranker's weights on the new scores (what a publish served
  before session 19 unless ``--queries/--judgments`` were given; ``--keep-reranker`` now);
* ``new first stage + refitted LTR``: the reranker refitted on the new first stage with the judgments it
  was fitted on (the default now, :mod:`shelfwise.finetune.reranker_refit`).

The fine-tune is ``bench_search_learned.fine_tuned_searcher`` (as ``shelfwise train`` trains: E5
prefixes, judged-irrelevant hard negatives, frozen token table, 1 epoch, int8 ONNX export) with its
pairs capped at ``--bi-pairs`` (default 600) to keep the run under ~20 minutes on the shared 2-core
machine. Paired per-query differences (standard errors) are given for the served-gate comparisons.
The 1-minute load average is recorded at the start and end.

Run: ``nice -n 10 python bench/bench_served_gate_rerank.py`` (``--cache`` an embedding cache to reuse).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search_learned import HD, SETS, fine_tuned_searcher, split_folds, uptime
from shelfwise.catalog import ProductFields, load_catalog
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import Judgments, SearchMetrics, evaluate_search, load_judgments
from shelfwise.eval.tune import searcher_fn
from shelfwise.rank import LTRReranker, fit_reranker
from shelfwise.retrieve import HybridSearcher

from common import print_table, write_json

OLD, NEW_NONE, NEW_OLD, NEW_REFIT = (
    "old first stage + old LTR (served before)",
    "new first stage, no reranker (--drop-reranker)",
    "new first stage + old LTR (kept weights: before the fix / --keep-reranker)",
    "new first stage + refitted LTR (the fix's default)",
)
SYSTEMS = (OLD, "old first stage, no reranker", NEW_NONE, NEW_OLD, NEW_REFIT)
PAIRS = ((NEW_REFIT, NEW_OLD), (NEW_REFIT, NEW_NONE), (NEW_REFIT, OLD), (NEW_OLD, OLD), (NEW_NONE, OLD))


def scored(searcher: HybridSearcher, reranker: LTRReranker | None, held: Judgments) -> SearchMetrics:
    searcher.reranker = reranker
    try:
        return evaluate_search(searcher_fn(searcher), held, k=10, recall_k=100)
    finally:
        searcher.reranker = None


def run_fold(
    fold: int, base: HybridSearcher, judg: Judgments, folds: list[list[str]], args: argparse.Namespace
) -> dict[str, Any]:
    held = judg.subset(folds[fold])
    train = judg.subset([q for i, f in enumerate(folds) if i != fold for q in f])
    base.reranker = None
    t0 = time.perf_counter()
    old_ltr = fit_reranker(base, train.queries, train.relevance)  # the shelf's reranker, on the old first stage
    old_fit_s = time.perf_counter() - t0
    ft, info = fine_tuned_searcher(base, train, "full", args, fold)
    ft.dense.prime([train.queries[q] for q in train.judged()] + [held.queries[q] for q in held.judged()])
    # what a publish does with the old reranker: LTRReranker.load binds the saved weights to the new searcher;
    # its features read the new first stage's cosine / fused score / rank through the same extractor
    kept = LTRReranker(old_ltr.extractor, old_ltr.model, old_ltr.lexical)
    t0 = time.perf_counter()
    popularity = np.expm1(old_ltr.extractor.log_popularity.astype(np.float64))
    refit = fit_reranker(ft, train.queries, train.relevance, popularity=popularity, config=old_ltr.model.config)
    refit_s = time.perf_counter() - t0
    runs = {
        OLD: scored(base, old_ltr, held),
        "old first stage, no reranker": scored(base, None, held),
        NEW_NONE: scored(ft, None, held),
        NEW_OLD: scored(ft, kept, held),
        NEW_REFIT: scored(ft, refit, held),
    }
    metrics = {
        s: {"ndcg@10": m.ndcg_at_10, "recall@100": m.recall_at_100, "mrr": m.mrr, "queries": m.n_queries}
        for s, m in runs.items()
    }
    diffs = {}
    for a, b in PAIRS:
        d = np.asarray(runs[a].per_query["ndcg@10"]) - np.asarray(runs[b].per_query["ndcg@10"])
        diffs[f"{a}  minus  {b}"] = {"mean": float(d.mean()), "stderr": float(d.std(ddof=1) / np.sqrt(len(d)))}
    weights = {
        name: dict(zip(rr.model.feature_names, rr.model.weights.round(4).tolist(), strict=True))
        for name, rr in (("old", old_ltr), ("refitted", refit))
    }
    return {
        "train_queries": len(train.judged()),
        "held_queries": len(held.judged()),
        "metrics": metrics,
        "ndcg@10 paired differences": diffs,
        "ltr_weights": weights,
        "old_ltr_fit_s": old_fit_s,
        "refit_s": refit_s,
        "bi_encoder": info,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--run-folds", type=int, default=1, help="how many of the folds to run (fold 0, 1, ...)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--bi-pairs", type=int, default=600, help="cap on fine-tuning pairs per fold (0: all)")
    ap.add_argument("--bi-epochs", type=float, default=1.0)
    ap.add_argument("--encoder", default="e5-onnx")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/shelfwise_served_gate_rerank/embeddings.sqlite"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/shelfwise_served_gate_rerank"))
    ap.add_argument("--out", default="served_gate_rerank_s19")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    t_start, load_start = time.perf_counter(), uptime()
    print(f"start: {load_start}")
    prod, qs, js, label = SETS["hd1k"]
    catalog = load_catalog(HD / f"{prod}.parquet", ProductFields.from_json(HD / "catalog_fields.json")).catalog
    judg = load_judgments(HD / f"{qs}.parquet", HD / f"{js}.parquet")
    folds = split_folds(judg, args.folds, args.seed)
    base = HybridSearcher.build(catalog, load_encoder(args.encoder, args.cache), encoder_spec=args.encoder)
    base.dense.prime([judg.queries[q] for q in judg.judged()])
    fold_out = []
    for fold in range(args.run_folds):
        fold_out.append(run_fold(fold, base, judg, folds, args))
        print(f"fold {fold} done at {time.perf_counter() - t_start:.0f} s ({uptime()})")
    rows = []
    for s in SYSTEMS:
        vals = [f["metrics"][s]["ndcg@10"] for f in fold_out]
        rows.append([s, f"{np.mean(vals):.4f}", " ".join(f"{v:.4f}" for v in vals)])
    print_table("held-out NDCG@10, Home Depot dev_1k", ["system", "mean over folds run", "per fold"], rows)
    for f in fold_out:
        for k, v in f["ndcg@10 paired differences"].items():
            print(f"{v['mean']:+.4f} ± {v['stderr']:.4f}  {k}")
    write_json(
        args.out,
        {
            "data": f"{label} ({len(catalog):,} products, {len(judg.judged())} judged queries), evaluation only",
            "encoder": args.encoder,
            "folds": args.folds,
            "folds_run": list(range(args.run_folds)),
            "bi_pairs_cap": args.bi_pairs,
            "threads": args.threads,
            "folds_out": fold_out,
            "seconds": time.perf_counter() - t_start,
            "load_start": load_start,
            "load_end": uptime(),
            "cpus": os.cpu_count(),
        },
    )


if __name__ == "__main__":
    main()
