"""Home Depot dev_1k queries scored by what the store learned from its *other* judged queries.

``bench_search_learned.py --set hd1k`` trains on 2/3 of dev_1k's 1,000 queries (~667 per fold). A store
that has judged dev_1k's queries has judged the rest of its 5,851 too: here each dev_1k query is scored by
the models of the full-corpus fold that held it out (``bench_search_learned.py --set hd``'s 3 folds, same
seed: each trained on ~3,900 queries, never on the query scored), on the dev_1k corpus (10,000 of the
54,667 products). Split by query as before: no scored query is trained on.

Rows, per fold and then over all 1,000 queries, with plain bm25s on the dev_1k corpus in the same run:
zero-shot hybrid; + LTR (``fit_reranker`` on the full corpus with the fold's training queries, the same
weights then reading the dev_1k catalog's features); the fold's saved full fine-tune (its catalog vectors,
rows of the dev_1k products); FT + LTR (the LTR fitted over the fine-tuned full-corpus searcher).
Needs the fold cache of ``bench_search_learned.py --set hd --bi-pairs 2000`` (``fold<k>_full``).

Run: python bench/bench_search_learned_transfer.py [--work /tmp/shelfwise_bench_learned/hd]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_search_learned import CACHE, HD, SETS, evaluate, split_folds, uptime
from shelfwise.catalog import ProductFields, load_catalog
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import Judgments, load_judgments
from shelfwise.eval.peers import build_peers
from shelfwise.eval.tune import searcher_fn
from shelfwise.finetune import ModelStore
from shelfwise.index.vector import VectorIndex
from shelfwise.rank import FeatureExtractor, LTRReranker, fit_reranker
from shelfwise.retrieve import HybridSearcher

from common import print_table, write_json


def load(name: str) -> tuple[Any, Judgments]:
    prod, qs, js, _ = SETS[name]
    catalog = load_catalog(HD / f"{prod}.parquet", ProductFields.from_json(HD / "catalog_fields.json")).catalog
    return catalog, load_judgments(HD / f"{qs}.parquet", HD / f"{js}.parquet")


def moved(ltr: LTRReranker, to: HybridSearcher) -> LTRReranker:
    """The same trained weights reading ``to``'s catalog (features are computed per catalog)."""
    ext = FeatureExtractor(to.catalog, to.lexical.tokenizer, None, ltr.extractor.names)
    return LTRReranker(ext, ltr.model, ltr.lexical)


def fine_tuned(
    work: Path, fold: int, full: HybridSearcher, dev: HybridSearcher
) -> tuple[HybridSearcher, HybridSearcher]:
    store = ModelStore(work / f"fold{fold}_full")
    enc = store.encoder()
    emb = np.load(store.root / "catalog_vectors.npy", allow_pickle=False)
    row = {pid: i for i, pid in enumerate(full.catalog.ids)}
    emb_dev = emb[[row[pid] for pid in dev.catalog.ids]]
    ft_full = HybridSearcher(
        full.catalog, enc, full.config, full.lexical, VectorIndex().fit(emb), language=full.language
    )
    ft_dev = HybridSearcher(
        dev.catalog, enc, dev.config, dev.lexical, VectorIndex().fit(emb_dev), language=dev.language
    )
    return ft_full, ft_dev


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/shelfwise_bench_learned/hd"))
    ap.add_argument("--encoder", default="e5-onnx")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="search_learned_transfer")
    args = ap.parse_args()
    out: dict[str, Any] = {"start": uptime(), "work": str(args.work)}
    print(out["start"])
    cat_full, judg_full = load("hd")
    cat_dev, judg_dev = load("hd1k")
    folds = split_folds(judg_full, args.folds, args.seed)
    full = HybridSearcher.build(cat_full, load_encoder(args.encoder, CACHE), encoder_spec=args.encoder)
    dev = HybridSearcher.build(cat_dev, load_encoder(args.encoder, CACHE), encoder_spec=args.encoder)
    peer = build_peers(["bm25s"], cat_dev)["bm25s"]
    dev_q = set(judg_dev.judged())
    per_fold: list[dict[str, Any]] = []
    for k, held_ids in enumerate(folds):
        t0 = time.perf_counter()
        train = judg_full.subset([q for i, f in enumerate(folds) if i != k for q in f])
        held = judg_dev.subset(sorted(dev_q & set(held_ids)))
        assert not set(held.judged()) & set(train.judged())
        m: dict[str, Any] = {"bm25s (peer)": evaluate(peer, held), "hybrid zero-shot": evaluate(searcher_fn(dev), held)}
        dev.reranker = moved(fit_reranker(full, train.queries, train.relevance), dev)
        m["hybrid + LTR"] = evaluate(searcher_fn(dev), held)
        dev.reranker = None
        ft_full, ft_dev = fine_tuned(args.work, k, full, dev)
        m["hybrid, bi-encoder FT full"] = evaluate(searcher_fn(ft_dev), held)
        ft_dev.reranker = moved(fit_reranker(ft_full, train.queries, train.relevance), ft_dev)
        m["hybrid, FT full + LTR"] = evaluate(searcher_fn(ft_dev), held)
        per_fold.append(
            {
                "train_queries": len(train.judged()),
                "held_dev_queries": len(held.judged()),
                "metrics": m,
                "seconds": time.perf_counter() - t0,
                "load_1m": os.getloadavg()[0],
            }
        )
        print(f"fold {k}: {len(held.judged())} dev queries, {time.perf_counter() - t0:.0f} s")
    systems = list(per_fold[0]["metrics"])
    summary: dict[str, Any] = {}
    for s in systems:
        w = np.array([f["held_dev_queries"] for f in per_fold], dtype=np.float64)
        ndcg = np.array([f["metrics"][s]["ndcg@10"] for f in per_fold])
        peer_ndcg = np.array([f["metrics"]["bm25s (peer)"]["ndcg@10"] for f in per_fold])
        ratio = ndcg / peer_ndcg
        pooled = float((ndcg * w).sum() / w.sum())
        summary[s] = {
            "ndcg@10 per fold": ndcg.round(4).tolist(),
            "x bm25s per fold": ratio.round(4).tolist(),
            "x bm25s mean": float(ratio.mean()),
            "x bm25s std": float(ratio.std(ddof=1)),
            "ndcg@10 all queries": pooled,
            "x bm25s all queries": pooled / float((peer_ndcg * w).sum() / w.sum()),
            "recall@100 all queries": float(
                sum(f["metrics"][s]["recall@100"] * n for f, n in zip(per_fold, w, strict=True)) / w.sum()
            ),
        }
    print_table(
        "HD dev_1k queries, each scored by the full-corpus fold that held it out (~3,900 other training queries)",
        ["system", "NDCG@10 (all 1,000)", "x bm25s (all)", "x bm25s mean ± std over folds", "R@100"],
        [
            [
                s,
                v["ndcg@10 all queries"],
                v["x bm25s all queries"],
                f"{v['x bm25s mean']:.4f} ± {v['x bm25s std']:.4f}",
                v["recall@100 all queries"],
            ]
            for s, v in summary.items()
        ],
    )
    out.update({"folds": per_fold, "summary": summary, "end": uptime()})
    write_json(args.out, out)


if __name__ == "__main__":
    main()
