"""``shelfwise serve``: serve a saved shelf over HTTP (and swap in a newer one on reload)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.cli.common import load_event_log
from shelfwise.recommend.hybrid import HybridRecommender
from shelfwise.shelf import Shelf, enable_live
from shelfwise.snapshot import LoadOptions, ShelfConfig
from shelfwise.snapshot.build import fit_recommendations

if TYPE_CHECKING:
    from shelfwise.serve.config import ServeConfig
    from shelfwise.serve.workers import Served


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve the HTTP API and web page for a saved shelf")
    p.add_argument(
        "--shelf",
        "--index",
        dest="shelf",
        type=Path,
        required=True,
        help="folder written by 'shelfwise index' or 'shelfwise demo' (--index: the same; older index folders load "
        "too); POST /admin/reload or SIGHUP swaps in what is saved there later",
    )
    p.add_argument("--encoder", default=None, help="query encoder; default: the one the index was built with")
    p.add_argument("--multilingual", default=None, help="encoder of the index's Chinese-query vectors, e.g. e5")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--events",
        type=Path,
        default=None,
        help="behaviour history (CSV/JSONL/Parquet): refit recommendations from it instead of the shelf's saved ones",
    )
    p.add_argument("--event-fields", type=Path, default=None, help="JSON mapping of columns to event fields")
    p.add_argument(
        "--recommender", type=Path, default=None, help="saved recommender folder (recommend --save); not with --events"
    )
    p.add_argument(
        "--events-db",
        default=None,
        help="event log: a SQLite file, or nats://HOST:PORT[?stream=NAME] (NATS JetStream, shared by several serving "
        "replicas); enables POST /events and real-time updates (a shelf saved from this log replays only the events "
        "after its snapshot)",
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
    shelf: Shelf,
    host: str,
    port: int,
    report: Path | None = None,
    config: ServeConfig | None = None,
    prepare: Callable[[Path], Shelf] | None = None,
) -> None:
    """Serve ``shelf``; without ``config``: bound to ``host``, keys from SHELFWISE_API_KEY, default limits.
    ``prepare``: how a reload turns a shelf folder into the serving shelf (see ``create_app``)."""
    from shelfwise.serve.config import ServeConfig, load_api_keys
    from shelfwise.serve.runner import run_server

    run_server(shelf, config or ServeConfig(bind_host=host, api_keys=load_api_keys()), port, report, prepare)


def load_shelf(
    index: Path,
    encoder: str | None,
    events: Path | None = None,
    event_fields: Path | None = None,
    recommender: Path | None = None,
    multilingual: str | None = None,
) -> Shelf:
    """A saved shelf; ``events`` refits its recommendations, ``recommender`` loads them from a folder."""
    if events is not None and recommender is not None:
        raise ValueError("give either --events (fit recommendations) or --recommender (load them), not both")
    own = events is None and recommender is None
    shelf = Shelf.load(index, LoadOptions(encoder=encoder, multilingual=multilingual, recommender=own))
    if not own:
        shelf.saved_live = None  # its live state went with the saved recommender: replay the log in full
    if recommender is not None:
        rec = HybridRecommender.load(recommender, shelf.catalog, shelf.searcher.item_vectors, shelf.searcher.encoder)
        shelf.recommender, shelf.user_profiles = rec, rec.profiles
        print(f"recommendations loaded from {recommender}")
    if events is not None:
        log = load_event_log(events, event_fields, shelf.catalog)
        fit_recommendations(shelf, log, ShelfConfig(), print)
    return shelf


def report_file(path: Path) -> Path:
    """``--report``: the HTML file itself, or a folder holding ``report.html``; it must exist."""
    f = path / "report.html" if path.is_dir() else path
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no report; write one with `shelfwise report --index DIR --out {f}`")
    return f


def served(args: argparse.Namespace, folder: Path) -> Served:
    """The shelf in ``folder`` as ``args`` say to serve it, with its settings and reload recipe
    (called once in this process, or once in each ``--workers`` process)."""
    from shelfwise.serve.runner import config_from_args
    from shelfwise.serve.workers import Served

    config = config_from_args(args)
    report = report_file(args.report) if args.report is not None else None
    store = None
    if args.events_db is not None:  # one log for the server's lifetime: reloaded shelves attach to it too
        from shelfwise.events.backend import open_event_store

        store = open_event_store(args.events_db)

    def prepare(path: Path) -> Shelf:
        """The folder as this server serves it: flags applied, event log attached (also on reload)."""
        shelf = load_shelf(path, args.encoder, args.events, args.event_fields, args.recommender, args.multilingual)
        if args.personal_weight is not None:
            shelf.searcher.config = replace(shelf.searcher.config, personal_weight=args.personal_weight)
        shelf.valuation_report = args.valuation
        if store is not None:
            enable_live(shelf, store)
        return shelf

    return Served(prepare(folder), config, report, prepare)


def _try_load(args: argparse.Namespace) -> str | None:
    try:
        load_shelf(args.shelf, args.encoder, args.events, args.event_fields, args.recommender, args.multilingual)
    except (FileNotFoundError, ValueError, KeyError, ImportError, OSError) as exc:
        return str(exc)
    return None


def check_loads(args: argparse.Namespace) -> None:
    """Load the shelf as a worker would, in a short-lived process (this supervising process stays
    small); ValueError with the loader's message when it fails."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        problem = pool.submit(_try_load, args).result()
    if problem is not None:
        raise ValueError(problem)


def run(args: argparse.Namespace) -> int:
    from shelfwise.serve.runner import config_from_args
    from shelfwise.valuation.report import load_summary

    config = config_from_args(args)  # bad keys, limits or worker counts fail before the index loads
    if args.personal_weight is not None and args.personal_weight < 0:
        raise ValueError(f"--personal-weight must be >= 0, got {args.personal_weight}")
    if args.report is not None:
        report_file(args.report)
    if args.valuation is not None:
        load_summary(args.valuation)  # a folder without a summary fails now, naming the command that writes one
    if config.capacity.workers > 1:
        from shelfwise.serve.workers import run_workers

        check_loads(args)  # a bad folder or flag fails now, with its message; then each worker loads it
        return run_workers(served, args, args.shelf, config, args.port)
    s = served(args, args.shelf)
    serve_shelf(s.shelf, args.host, args.port, report=s.report, config=s.config, prepare=s.prepare)
    return 0
