"""``shelfwise index``: build and save the search indexes for a catalog (and, given judged
queries, train the reranker that ``shelfwise serve`` then uses: ``--reranker ltr`` (default, the
learning-to-rank model over cheap features) or ``cross`` (a cross-encoder from the packaged MiniLM))."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from shelfwise.cli.common import add_catalog_args, encoder_for_catalog, load_catalog_arg, load_event_log
from shelfwise.encode.registry import load_encoder
from shelfwise.eval.judgments import load_judgments
from shelfwise.rank.cross import fit_cross_reranker
from shelfwise.rank.ltr import fit_reranker
from shelfwise.rank.saved import KINDS as RERANKER_KINDS
from shelfwise.retrieve.hybrid import HybridSearcher

PERSONAL_WEIGHT = 0.1  # as the demo: a gentle blend of the shopper's taste into /search?user=...


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("index", help="build BM25 + vector indexes for a catalog")
    add_catalog_args(p)
    p.add_argument("--out", type=Path, required=True, help="index folder to write")
    p.add_argument(
        "--multilingual",
        default="none",
        help="also embed with a multilingual encoder (e5) so Chinese queries work on a Latin-script catalog",
    )
    p.add_argument("--queries", type=Path, default=None, help="judged queries (query_id, query): train the reranker")
    p.add_argument("--judgments", type=Path, default=None, help="graded judgments (query_id, item_id, grade)")
    p.add_argument(
        "--reranker",
        choices=RERANKER_KINDS,
        default="ltr",
        help="reranker trained on --queries/--judgments: ltr (linear model over cheap features, about a ms) or "
        "cross (MiniLM cross-encoder: one model call per re-scored candidate, so slower to train and to serve; "
        "see bench/bench_search_learned.py)",
    )
    p.add_argument(
        "--personal-weight",
        type=float,
        default=PERSONAL_WEIGHT,
        help=f"weight of the shopper's taste in /search?user=... (0 turns personalised search off; default "
        f"{PERSONAL_WEIGHT}, as the demo; 'shelfwise serve --personal-weight' overrides it)",
    )
    p.add_argument("--events", type=Path, default=None, help="behaviour events: popularity feature of the reranker")
    p.add_argument("--event-fields", type=Path, default=None, help="JSON mapping of columns to event fields")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.queries is None) != (args.judgments is None):
        raise ValueError("--queries and --judgments go together")
    if args.personal_weight < 0:
        raise ValueError(f"--personal-weight must be >= 0, got {args.personal_weight}")
    cl = load_catalog_arg(args)
    encoder, spec, profile = encoder_for_catalog(args, cl.catalog)
    multi_spec = None if args.multilingual == "none" else args.multilingual
    if multi_spec is not None and (profile.needs_multilingual or spec == multi_spec):
        print(f"--multilingual {multi_spec}: not needed, the main encoder {spec!r} already serves Chinese queries")
        multi_spec = None
    multi = load_encoder(multi_spec, args.cache) if multi_spec else None
    searcher = HybridSearcher.build(
        cl.catalog,
        encoder,
        progress=True,
        language=profile,
        encoder_spec=spec,
        multilingual=multi,
        multilingual_spec=multi_spec,
    )
    searcher.config = replace(searcher.config, personal_weight=args.personal_weight)  # validated there
    searcher.save(args.out)
    cl.catalog.save(Path(args.out) / "catalog.parquet")
    print(f"indexed {len(cl.catalog)} products into {args.out}")
    if args.queries is not None:
        judgments = load_judgments(args.queries, args.judgments)
        for err in judgments.errors[:10]:
            print(f"  skipped: {err}")
        popularity = None
        if args.events is not None:
            log = load_event_log(args.events, args.event_fields, cl.catalog)
            popularity = np.bincount(log.item[log.item >= 0], minlength=len(cl.catalog)).astype(np.float64)
        folder = Path(args.out) / "reranker"
        shutil.rmtree(folder, ignore_errors=True)  # never leave a stale reranker of the other kind behind
        if args.reranker == "cross":
            if popularity is not None:
                print("  --events: the cross-encoder does not use popularity (only the ltr reranker does)")
            cross = fit_cross_reranker(searcher, judgments.queries, judgments.relevance)
            cross.save(folder)
            print(
                f"trained the cross-encoder reranker on {cross.log.n_pairs} pairs from {cross.log.n_queries} judged"
                f" queries in {cross.log.seconds:.0f} s; blend ({cross.blend.kind}) fitted on"
                f" {cross.log.blend_queries} held-out queries"
            )
        else:
            reranker = fit_reranker(searcher, judgments.queries, judgments.relevance, popularity=popularity)
            reranker.save(folder)
            print(f"trained the reranker on {len(judgments.judged())} judged queries")
    return 0
