"""``shelfwise serve``: serve a saved index over HTTP."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.catalog.schema import Catalog
from shelfwise.cli.common import load_event_log
from shelfwise.encode.registry import load_encoder
from shelfwise.rank.saved import load_reranker
from shelfwise.recommend.hybrid import HybridRecommender, build_recommender
from shelfwise.retrieve.hybrid import HybridSearcher, read_meta
from shelfwise.shelf import Shelf, enable_live

if TYPE_CHECKING:
    from shelfwise.serve.config import ServeConfig


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve the HTTP API and web page for a saved index")
    p.add_argument("--index", type=Path, required=True, help="folder written by 'shelfwise index'")
    p.add_argument("--encoder", default=None, help="query encoder; default: the one the index was built with")
    p.add_argument("--multilingual", default=None, help="encoder of the index's Chinese-query vectors, e.g. e5")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--events", type=Path, default=None, help="behaviour history (CSV/JSONL/Parquet) for recommendations"
    )
    p.add_argument("--event-fields", type=Path, default=None, help="JSON mapping of columns to event fields")
    p.add_argument(
        "--recommender", type=Path, default=None, help="saved recommender folder (recommend --save); not with --events"
    )
    p.add_argument(
        "--events-db", type=Path, default=None, help="SQLite event log; enables POST /events and real-time updates"
    )
    p.add_argument(
        "--personal-weight",
        type=float,
        default=None,
        help="weight of the shopper's taste in /search?user=... (default: the index's, 0.1 from 'shelfwise index'; "
        "0 turns it off)",
    )
    p.add_argument(
        "--report", type=Path, default=None, help="HTML report served at /report: a file, or a folder with report.html"
    )
    p.add_argument(
        "--valuation", type=Path, default=None, help="folder written by 'shelfwise value': served at /valuation/summary"
    )
    from shelfwise.serve.runner import add_serve_options

    add_serve_options(p)
    p.set_defaults(func=run)


def serve_shelf(
    shelf: Shelf, host: str, port: int, report: Path | None = None, config: ServeConfig | None = None
) -> None:
    """Serve ``shelf``; without ``config``: bound to ``host``, keys from SHELFWISE_API_KEY, default limits."""
    from shelfwise.serve.config import ServeConfig, load_api_keys
    from shelfwise.serve.runner import run_server

    run_server(shelf, config or ServeConfig(bind_host=host, api_keys=load_api_keys()), port, report)


def load_shelf(
    index: Path,
    encoder: str | None,
    events: Path | None = None,
    event_fields: Path | None = None,
    recommender: Path | None = None,
    multilingual: str | None = None,
) -> Shelf:
    """A shelf from a saved index, with recommendations when a behaviour history or a saved recommender is given."""
    if events is not None and recommender is not None:
        raise ValueError("give either --events (fit recommendations) or --recommender (load them), not both")
    if not (Path(index) / "catalog.parquet").exists():
        raise FileNotFoundError(
            f"{index}: no catalog.parquet; build the folder with 'shelfwise index' or 'shelfwise demo'"
        )
    catalog = Catalog.load(Path(index) / "catalog.parquet")
    meta = read_meta(Path(index))
    multilingual = multilingual or meta.get("multilingual_spec")
    if multilingual and "multilingual_encoder" not in meta:
        print(
            f"warning: --multilingual {multilingual} ignored: {index} has no multilingual vectors "
            "(rebuild with `shelfwise index --multilingual e5`)"
        )
        multilingual = None
    multi = load_encoder(multilingual) if multilingual else None
    spec = encoder or str(meta.get("encoder_spec", "minilm"))
    searcher = HybridSearcher.load(index, catalog, load_encoder(spec), multilingual=multi)
    if (Path(index) / "reranker").exists():
        searcher.reranker = load_reranker(Path(index) / "reranker", searcher)  # kind read from its manifest
    shelf = Shelf(catalog=catalog, searcher=searcher)
    if recommender is not None:
        rec = HybridRecommender.load(recommender, catalog, searcher.item_vectors, searcher.encoder)
        shelf.recommender, shelf.user_profiles = rec, rec.profiles
        print(f"recommendations loaded from {recommender}")
    if events is not None:
        shelf.events = load_event_log(events, event_fields, catalog)
        rec = build_recommender(catalog, shelf.events, searcher.item_vectors, encoder=searcher.encoder)
        shelf.recommender, shelf.user_profiles = rec, rec.profiles
        print(f"recommendations from {len(shelf.events)} events")
    return shelf


def report_file(path: Path) -> Path:
    """``--report``: the HTML file itself, or a folder holding ``report.html``; it must exist."""
    f = path / "report.html" if path.is_dir() else path
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no report; write one with `shelfwise report --index DIR --out {f}`")
    return f


def run(args: argparse.Namespace) -> int:
    from shelfwise.serve.runner import config_from_args
    from shelfwise.valuation.report import load_summary

    config = config_from_args(args)  # bad keys or limits fail before the index loads
    if args.personal_weight is not None and args.personal_weight < 0:
        raise ValueError(f"--personal-weight must be >= 0, got {args.personal_weight}")
    report = report_file(args.report) if args.report is not None else None
    if args.valuation is not None:
        load_summary(args.valuation)  # a folder without a summary fails now, naming the command that writes one
    shelf = load_shelf(args.index, args.encoder, args.events, args.event_fields, args.recommender, args.multilingual)
    if args.personal_weight is not None:
        shelf.searcher.config = replace(shelf.searcher.config, personal_weight=args.personal_weight)
    shelf.valuation_report = args.valuation
    if args.events_db is not None:
        enable_live(shelf, args.events_db)
    serve_shelf(shelf, args.host, args.port, report=report, config=config)
    return 0
