"""``shelfwise index``: build a shelf for a catalog and save it as one folder: the search indexes,
the recommender (given ``--events``), the reranker (given judged queries: ``--reranker ltr``,
default, the learning-to-rank model over cheap features, or ``cross``, a cross-encoder from the
packaged MiniLM) and, given ``--events-db``, the live state as of the end of that event log, so
``shelfwise serve --shelf`` replays only what is logged later."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.cli.common import (
    EVENT_FIELDS_HELP,
    SHORTCUT_HELP,
    add_catalog_args,
    load_catalog_arg,
    load_event_log,
    load_judgments_arg,
    shortcut_depth,
    warn_unknown_judged_items,
)
from shelfwise.index.lexical import MAX_TITLE_WEIGHT, LexicalConfig
from shelfwise.rank.saved import KINDS as RERANKER_KINDS
from shelfwise.recommend.retune import RETUNE
from shelfwise.shelf import enable_live
from shelfwise.snapshot import ShelfConfig, build_shelf, replaced_tuning
from shelfwise.snapshot.manifest import is_shelf_folder

PERSONAL_WEIGHT = 0.1  # as the demo: a gentle blend of the shopper's taste into /search?user=...


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "index", help="build a shelf for a catalog (BM25 + vector indexes, recommender, reranker) and save it"
    )
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
    p.add_argument(
        "--lexical-shortcut", type=shortcut_depth, default=None, metavar="N", help=SHORTCUT_HELP + "; default 5"
    )
    p.add_argument(
        "--events",
        type=Path,
        default=None,
        help="behaviour history: fit the recommender saved in the shelf (and the reranker's popularity feature)",
    )
    p.add_argument(
        "--retune",
        choices=RETUNE,
        default="auto",
        help="with --events: 'auto' (default) keeps the hybrid weights the shelf already at --out searched while "
        "that search is under a week old and the log between half and twice its size (a refit then costs about "
        "one fit, no search); "
        "'always' searches them again on this log",
    )
    p.add_argument(
        "--events-db",
        type=Path,
        default=None,
        help="SQLite event log (serve --events-db): fold it into the shelf's live state and record its offset",
    )
    p.add_argument("--event-fields", type=Path, default=None, help=EVENT_FIELDS_HELP)
    p.add_argument(
        "--vectors",
        type=Path,
        default=None,
        help="your own product vectors instead of embedding: .npy (one row per product, catalog order) or "
        ".parquet (id, vector); --encoder must be the model that made them (it embeds the queries)",
    )
    p.add_argument(
        "--embed",
        choices=("auto", "full", "student"),
        default="auto",
        help="full: the encoder embeds every product; student: it embeds a sample (25%%, 1k-50k) and a "
        "static student fitted to it embeds them all (~3x faster, -1.9%% NDCG on full Home Depot); auto (default): "
        "student when more than 4M tokens are left to embed and it reproduces the encoder well (else full)",
    )
    p.add_argument(
        "--title-weight",
        type=int,
        choices=range(1, MAX_TITLE_WEIGHT + 1),
        metavar="N",
        default=1,
        help="how many times a product's title counts against its other fields (brand, category, attributes, "
        "description) in BM25 (BM25F, integer weights 1-5; default 1: one field)",
    )
    p.add_argument(
        "--synonyms",
        type=Path,
        default=None,
        help="the store's synonyms, Solr format: 'sofa, couch' (either also searches the other) or "
        "'tv => television' (one way), one rule a line; saved with the shelf",
    )
    p.add_argument(
        "--rules",
        type=Path,
        default=None,
        help='merchandising rules, JSON: [{"query": "tv", "match": "is|contains", "pin": [ids], '
        '"hide": [ids]}]: products pinned to the top or hidden for a query; saved with the shelf',
    )
    p.add_argument(
        "--vector-store",
        default=None,
        help="where the product vectors live: embedded (default: faiss inside the shelf folder), "
        "milvus-lite:///folder or milvus://host:port (extra 'milvus')",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.queries is None) != (args.judgments is None):
        raise ValueError("--queries and --judgments go together")
    if args.retune != "auto" and args.events is None:
        print("warning: --retune applies to the recommender fitted on --events; without --events it does nothing")
    if args.personal_weight < 0:
        raise ValueError(f"--personal-weight must be >= 0, got {args.personal_weight}")
    out = args.out
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or is_shelf_folder(out))):
        raise FileExistsError(
            f"{out}: exists and is not a shelf or index folder; refusing to replace it (pick another --out)"
        )
    events_db = args.events_db
    if events_db is not None and not events_db.is_file():  # a mistyped path would create an empty log and fold nothing
        print(
            f"warning: no event log at {events_db} yet: the shelf gets no live state (`shelfwise serve --events-db "
            f"{events_db}` creates it and replays it in full)"
        )
        events_db = None
    cl = load_catalog_arg(args)
    judgments = None
    if args.queries is not None:
        judgments = load_judgments_arg(args.queries, args.judgments)
        warn_unknown_judged_items(judgments, cl.catalog)
    config = ShelfConfig(
        encoder=args.encoder,
        multilingual=None if args.multilingual == "none" else args.multilingual,
        cache=args.cache,
        personal_weight=args.personal_weight,
        judgments=judgments,
        reranker=args.reranker,
        vectors=args.vectors,
        vector_store=args.vector_store,
        embed=args.embed,
        lexical=LexicalConfig(title_weight=args.title_weight) if args.title_weight != 1 else None,
        synonyms=args.synonyms,
        rules=args.rules,
        lexical_shortcut=args.lexical_shortcut,
        reuse_tuning=(
            replaced_tuning(out, print, cl.catalog) if args.events is not None and args.retune == "auto" else None
        ),
    )
    if args.events is not None and args.retune == "always" and is_shelf_folder(out):
        print("--retune always: the hybrid weights are searched again on this log")
    events = load_event_log(args.events, args.event_fields, cl.catalog) if args.events is not None else None
    shelf = build_shelf(cl.catalog, events, config, print)
    if events_db is not None:
        live = enable_live(shelf, events_db, start=False)
        print(f"live state: applied {live.consumer.drain()} events from {events_db}")
    shelf.save(args.out)
    print(f"saved the shelf ({len(cl.catalog)} products) to {args.out}")
    print(f"serve it with: shelfwise serve --shelf {args.out}")
    return 0
