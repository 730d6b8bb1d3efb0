"""``shelfwise train``: fine-tune the bi-encoder on the store's data with progress and early
stopping, publish it (a new model version, then ``--index-out``: the searcher of a saved shelf
replaced in place, a new shelf, or an index folder from before shelves rebuilt; atomically) only if
it beats the base model on held-out pairs; otherwise say so, change nothing and exit with
:data:`EXIT_NOT_PUBLISHED`. Into a saved shelf, the new searcher goes only if the shelf's search as
served (first stage and reranker) gets no worse on the held-out judged queries
(:mod:`shelfwise.finetune.served_gate`); otherwise the version stays in the model store, the shelf is
unchanged, and the exit status is the same. The shelf's LTR reranker is refitted on the new encoder's
scores (:mod:`shelfwise.finetune.reranker_refit`; ``--keep-reranker`` / ``--drop-reranker``)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.cli.common import (
    FIELDS_HELP,
    load_catalog_arg,
    load_event_log,
    load_judgments_arg,
    number_in,
    warn_unknown_judged_items,
)
from shelfwise.finetune.gate import DEFAULT_MIN_GAIN
from shelfwise.finetune.metrics import LABELS

if TYPE_CHECKING:
    from shelfwise.catalog import Catalog
    from shelfwise.eval.judgments import Judgments
    from shelfwise.events import EventLog

EXIT_NOT_PUBLISHED = 3  # trained, but a held-out gate refused the model (or the shelf's search with it)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("train", help="fine-tune the encoder on judged queries and/or co-purchase events")
    p.add_argument("--catalog", required=True, type=Path, help="products file (CSV/TSV/JSONL/Parquet)")
    p.add_argument("--fields", type=Path, default=None, help=FIELDS_HELP)
    p.add_argument("--events", type=Path, default=None, help="events file (co-purchases, query->click pairs)")
    p.add_argument("--event-fields", type=Path, default=None, help="JSON mapping of event columns")
    p.add_argument("--queries", type=Path, default=None, help="judged queries file (query_id, query)")
    p.add_argument("--judgments", type=Path, default=None, help="judgments file (query_id, item_id, grade)")
    p.add_argument("--attribute-judgments", default=None, help="derive judged queries from this product attribute")
    p.add_argument(
        "--base",
        default="auto",
        help="auto (default: the weights behind --index-out's encoder, e.g. e5 for e5-onnx; e5 without one), "
        "minilm, e5, or a sentence-transformers model folder",
    )
    p.add_argument(
        "--train-embeddings",
        action="store_true",
        help="full mode: also train the token-embedding table (frozen by default: most of a multilingual "
        "model's weights, slow to update on CPU, and a few thousand pairs cannot move it well)",
    )
    p.add_argument(
        "--no-onnx", action="store_true", help="do not export the trained model to int8 ONNX (search then runs torch)"
    )
    p.add_argument("--mode", choices=("full", "lora"), default="full")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-seq-length", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=None, help="default 5e-5 full (2e-5 for e5) / 5e-4 lora")
    p.add_argument(
        "--scale", type=float, default=None, help="inverse temperature of the in-batch softmax (default 20; 50 for e5)"
    )
    p.add_argument("--eval-every", type=int, default=None, help="steps between validations (default: ~10 per run)")
    p.add_argument("--patience", type=int, default=3, help="validations without gain before stopping early")
    p.add_argument(
        "--min-gain",
        # a gain in NDCG@10 (0-1): below 0 would publish a worse model (that is --force), 1 or more never
        type=number_in(float, 0.0, 1.0, name="a number", below_high=True),
        default=DEFAULT_MIN_GAIN,
        help="publish only if held-out NDCG@10 beats the base model by more than this, 0 <= x < 1 "
        f"(default {DEFAULT_MIN_GAIN})",
    )
    p.add_argument(
        "--min-se",
        type=number_in(float, 0.0, name="a number"),
        default=0.0,
        help="also require the held-out gain to exceed this many standard errors (e.g. 2; default 0: not asked), "
        "so a gain within the noise of a small holdout is not published",
    )
    p.add_argument(
        "--replay",
        type=number_in(float, 0.0, name="a number"),
        default=1.0,
        metavar="RATIO",
        help="continuing a stored version (the shelf's model): its own training pairs replayed per new pair, so "
        "what it learnt is rehearsed, not forgotten (default 1; 0: plain sequential fine-tuning)",
    )
    p.add_argument("--force", action="store_true", help="publish (and rebuild the index) even if the gate refuses")
    rr = p.add_mutually_exclusive_group()
    rr.add_argument(
        "--keep-reranker",
        action="store_true",
        help="publishing into a shelf with an LTR reranker: keep its weights as they are, read on the new "
        "encoder's scores (default: refit it on the judged queries given, else on those recorded with it)",
    )
    rr.add_argument(
        "--drop-reranker",
        action="store_true",
        help="publishing into a shelf with a reranker: drop it; the shelf serves the first stage",
    )
    p.add_argument(
        "--publish",
        metavar="VERSION",
        default=None,
        help="train nothing: publish this stored version (e.g. v0001, from --models) into --index-out, "
        "to roll back to it or forward again; --events / --judgments refit the recommender / LTR reranker",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (the per-validation lines stay)")
    p.add_argument("--models", type=Path, default=Path(".shelfwise/models"), help="versioned model store")
    p.add_argument(
        "--index-out",
        type=Path,
        default=None,
        help="publish the model's search index here (atomically): a shelf from `shelfwise index` is updated in "
        "place (servers pick it up on POST /admin/reload or SIGHUP), a new folder becomes a shelf",
    )
    p.add_argument(
        "--cache", type=Path, default=Path(".shelfwise/cache/embeddings.sqlite"), help="embedding cache file"
    )
    p.set_defaults(func=run)


def quiet_model_loading() -> None:
    """``--no-progress`` covers the model library's bars too ("Loading weights ... 199/199"): Hugging Face
    libraries read this switch when they are imported, and transformers' own when it already is."""
    import os
    import sys

    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def run(args: argparse.Namespace) -> int:
    if args.no_progress:
        quiet_model_loading()
    from shelfwise.eval.judgments import attribute_judgments
    from shelfwise.finetune import FinetuneConfig, ModelStore, mine_pairs, rebuild_index, train_and_publish
    from shelfwise.finetune.continual import ReplayConfig
    from shelfwise.finetune.pipeline import base_prefixes
    from shelfwise.finetune.rebuild import check_index_out
    from shelfwise.finetune.reranker_refit import plan_reranker
    from shelfwise.finetune.served_gate import NotPublished, ServedCheck, held_out_judgments

    catalog = load_catalog_arg(args).catalog
    judgments = file_judgments = None
    if args.queries or args.judgments:
        if not (args.queries and args.judgments):
            raise ValueError("--queries and --judgments go together")
        judgments = file_judgments = load_judgments_arg(args.queries, args.judgments)  # bad rows printed
        warn_unknown_judged_items(judgments, catalog, "no training pair can use them")
    elif args.attribute_judgments:
        judgments = attribute_judgments(catalog, args.attribute_judgments, max_queries=None)
    log = None
    if args.events:
        log = load_event_log(args.events, args.event_fields, catalog)
    if args.publish is not None:
        return publish_stored(args, catalog, log, file_judgments)
    layout = check_index_out(catalog, args.index_out) if args.index_out else None  # fail before training
    if layout == "shelf":
        plan_reranker(args.index_out, file_judgments, reranker_choice(args))  # its reranker can follow, or say so
    base = resolve_train_base(args.base, args.index_out if layout in ("shelf", "index") else None)
    ranked = current_search(args.index_out) if judgments is not None and layout in ("shelf", "index") else None
    data = mine_pairs(catalog, judgments, log, prefixes=base_prefixes(base), ranked=ranked)
    cfg = FinetuneConfig(
        mode=args.mode,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        epochs=args.epochs,
        max_steps=args.max_steps,
        max_seq_length=args.max_seq_length,
        eval_every=args.eval_every,
        patience=args.patience,
        threads=args.threads,
        freeze_embeddings=not args.train_embeddings,
        **({"scale": args.scale} if args.scale is not None else {}),
    )
    print(data.describe(), flush=True)
    store = ModelStore(args.models)
    bar = not args.no_progress
    out = train_and_publish(
        catalog,
        data,
        store,
        base=base,
        onnx=not args.no_onnx,
        config=cfg,
        min_gain=args.min_gain,
        min_se=args.min_se,
        force=args.force,
        progress=bar,
        say=None if bar else print,
        replay=ReplayConfig(ratio=args.replay),
    )
    lg = out.trained.log
    if math.isnan(lg.best_val):
        print(f"trained {lg.steps} steps in {lg.seconds:.0f}s (no validation pairs: the last step is kept)")
    else:
        print(
            f"trained {lg.steps} steps in {lg.seconds:.0f}s, best step {lg.best_step}: validation {LABELS[lg.metric]} "
            f"{lg.base_val:.4f} -> {lg.best_val:.4f}" + (" (stopped early)" if lg.stopped_early else "")
        )
    if out.version is None:
        current = store.latest()
        model = f"the model store stays at {current.version}" if current else "no model version was written"
        print(f"not published: {out.gate.summary()}")
        print(f"nothing changed ({model}, no index rebuilt); --force publishes anyway")
        return EXIT_NOT_PUBLISHED
    mv = out.version
    forced = " (--force: the held-out gate did not pass)" if out.forced else ""
    print(f"published {mv.path} ({mv.encoder_name}){forced}: {out.gate.summary()}")
    if args.index_out:
        check = held_out_judgments(out.held_out, catalog, base_prefixes(base))  # the shelf's search must not lose
        if check is None and layout == "shelf":
            print("the shelf's own search is not compared: the held-out pairs hold no query -> product pair")
        served: list[ServedCheck] = []  # the served-search comparison, kept whatever the outcome
        into = {"version": mv.version, "into": str(args.index_out)}
        try:
            rebuild_index(
                catalog, store, args.index_out, mv.version, cache=args.cache, progress=bar, events=log,
                judgments=file_judgments, check=check, force=args.force, on_served=served.append,
                reranker=reranker_choice(args),
            )  # fmt: skip
        except NotPublished as refused:
            store.record_run({**into, "published_into": False, "served": asdict(refused.check)})
            print(f"not published into {args.index_out}: {refused}; the shelf is unchanged")
            print(f"{mv.version} stays in the model store: --publish {mv.version} publishes it later, --force now")
            return EXIT_NOT_PUBLISHED
        verdict = {"served": asdict(served[0]), "forced": not served[0].passed} if served else {}
        store.record_run({**into, "published_into": True, **verdict})
        _say_published(mv.version, args.index_out, layout)
    return 0


def publish_stored(
    args: argparse.Namespace, catalog: Catalog, log: EventLog | None, judgments: Judgments | None
) -> int:
    """``--publish VERSION``: no training; the stored version is published into ``--index-out`` as a
    trained one is (a roll-back, or forward again). The model store is left as it is."""
    from shelfwise.finetune import ModelStore, rebuild_index
    from shelfwise.finetune.rebuild import check_index_out

    if args.index_out is None:
        raise ValueError("--publish needs --index-out: the shelf to publish the version into")
    store = ModelStore(args.models)
    mv = store.get(args.publish)  # an unknown version fails naming the known ones
    layout = check_index_out(catalog, args.index_out)
    gain = mv.metrics.get("holdout_ndcg@10", math.nan) - mv.metrics.get("holdout_base_ndcg@10", math.nan)
    print(f"publishing {mv.version} ({mv.encoder_name}, parent {mv.parent or 'none'}, held-out NDCG@10 gain "
          f"{gain:+.4f} when trained); no training")  # fmt: skip
    rebuild_index(
        catalog, store, args.index_out, mv.version, cache=args.cache, progress=not args.no_progress, events=log,
        judgments=judgments, reranker=reranker_choice(args),
    )  # fmt: skip
    _say_published(mv.version, args.index_out, layout)
    return 0


def reranker_choice(args: argparse.Namespace) -> str | None:
    """``"keep"`` / ``"drop"`` (--keep-reranker / --drop-reranker), None: refit an LTR reranker."""
    return "keep" if args.keep_reranker else "drop" if args.drop_reranker else None


def _say_published(version: str, out: Path, layout: str | None) -> None:
    if layout == "shelf":
        print(f"published {version} into the shelf {out}; servers pick it up on POST /admin/reload or SIGHUP")
        print(f"serve it with: shelfwise serve --shelf {out}")
    elif layout == "new":
        print(f"saved a shelf searching with {version} to {out}")
        print(f"serve it with: shelfwise serve --shelf {out}")
    else:
        print(f"rebuilt the search index with {version} into {out}")
        print(f"serve it with: shelfwise serve --index {out}")


def resolve_train_base(base: str, index: Path | None) -> str:
    """``--base auto``: the trainable weights behind the encoder ``index`` (a shelf or index folder)
    was built with, else the default encoder's (e5); any other value is returned as given."""
    if base != "auto":
        return base
    from shelfwise.finetune.pipeline import DEFAULT_BASE, base_for_encoder
    from shelfwise.retrieve.hybrid import read_meta
    from shelfwise.snapshot.io import searcher_folder

    if index is None:
        chosen, why = DEFAULT_BASE, "no --index-out: the default search encoder e5-onnx runs these weights"
    else:
        meta = read_meta(searcher_folder(index))
        chosen, why = base_for_encoder(meta.get("encoder_spec"), meta.get("encoder"))
    print(f"base model: {chosen} ({why})", flush=True)
    return chosen


def current_search(index: Path) -> Callable[[str], list[str]] | None:
    """The store's search as it is now (the shelf or index at ``index``, no reranker): judged
    queries' top 30 results that are not judged relevant become hard negatives. None (and a line
    saying why) when it cannot be loaded, e.g. an index folder from before shelves without its catalog."""
    from shelfwise.snapshot.io import LoadOptions, load_shelf

    try:
        shelf = load_shelf(index, LoadOptions(recommender=False, reranker=False))
    except (OSError, ValueError) as exc:
        print(f"hard negatives: judged-irrelevant products only ({index} could not be searched: {exc})", flush=True)
        return None
    searcher, ids = shelf.searcher, shelf.catalog.ids
    print(f"hard negatives: the top 30 results of {index} that are not judged relevant", flush=True)

    def ranked(query: str) -> list[str]:
        return [ids[i] for i in searcher.search(query, 30).ids.tolist()]

    return ranked
