"""``shelfwise eval search``: NDCG@10 / Recall@100 / MRR on any catalog + judgment files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shelfwise.cli.common import add_catalog_args, load_catalog_arg
from shelfwise.encode.registry import load_encoder
from shelfwise.eval.judgments import evaluate_search, load_judgments
from shelfwise.eval.tune import searcher_fn
from shelfwise.retrieve.hybrid import MODES, HybridSearcher, SearchConfig


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("eval", help="offline evaluation")
    esub = p.add_subparsers(dest="eval_target", required=True)
    s = esub.add_parser("search", help="evaluate search against graded judgments")
    add_catalog_args(s)
    s.add_argument("--queries", required=True, type=Path, help="file with query_id, query")
    s.add_argument("--judgments", required=True, type=Path, help="file with query_id, item_id, grade")
    s.add_argument("--index", type=Path, default=None, help="prebuilt index folder (else built now)")
    s.add_argument("--modes", default="bm25,dense,hybrid", help="comma-separated modes to evaluate")
    s.add_argument("--fusion", default="rrf", choices=["rrf", "weighted", "convex"])
    s.add_argument("--dense-weight", type=float, default=0.5)
    s.add_argument("--out", type=Path, default=Path("search_eval.json"), help="JSON file to write")
    s.set_defaults(func=run_search)


def run_search(args: argparse.Namespace) -> int:
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"--modes: unknown {bad}; choose from {MODES}")
    judgments = load_judgments(args.queries, args.judgments)
    for err in judgments.errors[:10]:
        print(f"  skipped: {err}")
    cl = load_catalog_arg(args)
    encoder = load_encoder(args.encoder, args.cache)
    config = SearchConfig(fusion=args.fusion, dense_weight=args.dense_weight)
    if args.index:
        searcher = HybridSearcher.load(args.index, cl.catalog, encoder)
        searcher.config = config
    else:
        searcher = HybridSearcher.build(cl.catalog, encoder, config, progress=True)
    results = {m: evaluate_search(searcher_fn(searcher, mode=m), judgments).summary() for m in modes}
    print(f"{'mode':<8} {'NDCG@10':>8} {'R@100':>8} {'MRR':>8} {'queries':>8}")
    for m, r in results.items():
        print(f"{m:<8} {r['ndcg@10']:>8.4f} {r['recall@100']:>8.4f} {r['mrr']:>8.4f} {int(r['queries']):>8}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "catalog": str(args.catalog),
                "encoder": encoder.name,
                "config": {"fusion": args.fusion, "dense_weight": args.dense_weight},
                "metrics": results,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")
    return 0
