"""``shelfwise train``: fine-tune the bi-encoder on the store's data, version it, rebuild the index."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.cli.common import load_catalog_arg, load_event_log


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("train", help="fine-tune the encoder on judged queries and/or co-purchase events")
    p.add_argument("--catalog", required=True, type=Path, help="products file (CSV/TSV/JSONL/Parquet)")
    p.add_argument("--fields", type=Path, default=None, help="JSON mapping of columns to product fields")
    p.add_argument("--events", type=Path, default=None, help="events file (co-purchases, query->click pairs)")
    p.add_argument("--event-fields", type=Path, default=None, help="JSON mapping of event columns")
    p.add_argument("--queries", type=Path, default=None, help="judged queries file (query_id, query)")
    p.add_argument("--judgments", type=Path, default=None, help="judgments file (query_id, item_id, grade)")
    p.add_argument("--attribute-judgments", default=None, help="derive judged queries from this product attribute")
    p.add_argument("--base", default="minilm", help="minilm, e5, or a sentence-transformers model folder")
    p.add_argument("--mode", choices=("full", "lora"), default="full")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-seq-length", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=None, help="default 5e-5 (full) / 5e-4 (lora)")
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--models", type=Path, default=Path(".shelfwise/models"), help="versioned model store")
    p.add_argument("--index-out", type=Path, default=None, help="rebuild and save the search index here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shelfwise.eval.judgments import attribute_judgments, load_judgments
    from shelfwise.finetune import FinetuneConfig, ModelStore, mine_pairs, rebuild_index, train_and_save

    catalog = load_catalog_arg(args).catalog
    judgments = None
    if args.queries or args.judgments:
        if not (args.queries and args.judgments):
            raise ValueError("--queries and --judgments go together")
        judgments = load_judgments(args.queries, args.judgments)
    elif args.attribute_judgments:
        judgments = attribute_judgments(catalog, args.attribute_judgments, max_queries=None)
    log = None
    if args.events:
        log = load_event_log(args.events, args.event_fields, catalog)
    data = mine_pairs(catalog, judgments, log)
    cfg = FinetuneConfig(
        mode=args.mode,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        epochs=args.epochs,
        max_steps=args.max_steps,
        max_seq_length=args.max_seq_length,
        eval_every=args.eval_every,
        patience=args.patience,
    )
    print(f"training pairs: {len(data.train)} ({data.train.source}); validation pairs: {len(data.val)}")
    store = ModelStore(args.models)
    mv, trained = train_and_save(catalog, data, store, base=args.base, config=cfg)
    lg = trained.log
    print(
        f"saved {mv.path} ({mv.encoder_name}): {lg.steps} steps in {lg.seconds:.0f}s, "
        f"best step {lg.best_step}, val MRR {lg.history[0]['val_mrr']:.4f} -> {lg.best_val:.4f}"
        + (" (stopped early)" if lg.stopped_early else "")
    )
    if args.index_out:
        rebuild_index(catalog, store, args.index_out, mv.version)
        print(f"rebuilt the search index with {mv.version} into {args.index_out}")
        print(f"serve it with: shelfwise serve --index {args.index_out} --encoder {mv.path}")
    return 0
