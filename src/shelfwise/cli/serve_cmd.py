"""``shelfwise serve``: serve a saved shelf over HTTP (and swap in a newer one on reload)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.cli.common import EVENT_FIELDS_HELP, SHORTCUT_HELP, check_port, number_in, port_number, shortcut_depth
from shelfwise.recommend.retune import RETUNE
from shelfwise.serve.setup import DEFAULT_EXPLORE_SHARE, ServerSetup, ShelfSettings, load_folder
from shelfwise.shelf import Shelf

if TYPE_CHECKING:
    from shelfwise.serve.config import ServeConfig


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
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every interface, and writes "
        "then need an API key)",
    )
    p.add_argument("--port", type=port_number, default=8000, help="TCP port (default 8000)")
    p.add_argument(
        "--events",
        type=Path,
        default=None,
        help="behaviour history (CSV/JSONL/Parquet): refit recommendations from it instead of the shelf's saved ones",
    )
    p.add_argument("--event-fields", type=Path, default=None, help=EVENT_FIELDS_HELP)
    p.add_argument(
        "--retune",
        choices=RETUNE,
        default="auto",
        help="with --events: 'auto' (default) keeps the hybrid weights of the model a fit replaces (this server's "
        "last fit, or the shelf's when searched later) while that search is under a week old and the log between "
        "half and twice its size; "
        "'always' searches them at every start and reload",
    )
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
        "--explore-share",
        type=number_in(float, 0.0, 1.0, name="a number"),
        default=DEFAULT_EXPLORE_SHARE,
        help=f"with --events-db: share of /recommend/user slots (from the third on, never the top two) given to "
        f"Thompson-sampling exploration of long-tail items, learnt from clicks (default {DEFAULT_EXPLORE_SHARE}; "
        "0 turns it off; it applies to an explorer saved with the shelf too, which keeps what it learnt)",
    )
    p.add_argument(
        "--explore-candidates",
        type=number_in(int, 0, name="an integer"),
        default=0,
        metavar="N",
        help="with --explore-share: relevance gate of the exploration slots, Thompson sampling picks among the N "
        "long-tail items the shopper's list scores highest, and each says its evidence (default 0: off, the whole "
        "tail; it applies to an explorer saved with the shelf too)",
    )
    p.add_argument(
        "--impression-log",
        default="auto",
        metavar="auto|off|FILE",
        help="with exploration slots: log a random sample (within --impression-log-cpu) of the /recommend/user "
        "lists that have them (shown ids, explored positions, each explored item's exact propensity) for "
        "`shelfwise ope --impressions`; auto (default): beside a SQLite --events-db (events.db -> "
        "events.impressions.db; give a FILE with nats://), off: no log. A FILE without --events-db logs the "
        "slots of an explorer saved with the shelf (it learns nothing then); with no explorer, or with "
        "--explore-share 0, there are no slots and it fails at startup",
    )
    p.add_argument(
        "--impression-log-cpu",
        type=float,
        default=0.1,
        metavar="SHARE",
        help="with --impression-log: the share of one CPU core the log may spend (posterior copies, propensities, "
        "commits); a random sample of explored lists is logged, its rate set from the measured cost so the work "
        "stays under it (default 0.1; /metrics counts sampled and skipped lists)",
    )
    p.add_argument(
        "--personal-weight",
        type=float,
        default=None,
        help="weight of the shopper's taste in /search?user=... (default: the index's, 0.1 from 'shelfwise index'; "
        "0 turns it off)",
    )
    p.add_argument(
        "--lexical-shortcut",
        type=shortcut_depth,
        default=None,
        metavar="N",
        help=SHORTCUT_HELP + "; default: the shelf's",
    )
    p.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="merchandising rules (JSON, as 'shelfwise index --rules') used instead of the shelf's; re-read at every "
        "POST /admin/reload or SIGHUP, so an edited file takes effect without a rebuild",
    )
    p.add_argument(
        "--synonyms",
        type=Path,
        default=None,
        help="synonyms (Solr format, as 'shelfwise index --synonyms') used instead of the shelf's; re-read at "
        "every reload",
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
    settings = ShelfSettings(
        encoder=encoder, multilingual=multilingual, events=events, event_fields=event_fields, recommender=recommender
    )
    return load_folder(index, settings)


def report_file(path: Path) -> Path:
    """``--report``: the HTML file itself, or a folder holding ``report.html``; it must exist."""
    f = path / "report.html" if path.is_dir() else path
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no report; write one with `shelfwise report --index DIR --out {f}`")
    return f


def setup_from_args(args: argparse.Namespace) -> ServerSetup:
    """What the command line asks to serve, parsed and checked once: bad keys, limits, worker
    counts, flags, a missing report or valuation summary fail here, before the shelf loads."""
    from shelfwise.retrieve.synonyms import read_synonyms
    from shelfwise.serve.runner import config_from_args
    from shelfwise.valuation.summary import load_valuation

    config = config_from_args(args)
    if args.retune != "auto" and args.events is None:
        print("warning: --retune applies to the recommender fitted on --events; without --events it does nothing")
    if args.explore_candidates and (args.events_db is None or args.explore_share == 0):
        print(
            "warning: --explore-candidates gates the exploration slots; without --events-db or with "
            "--explore-share 0 there are none and it does nothing"
        )
    if args.impression_log not in ("auto", "off") and args.explore_share == 0:
        raise ValueError(
            f"--impression-log {args.impression_log}: only lists with exploration slots are logged, and with "
            "--explore-share 0 there are none; give an --explore-share > 0 or drop --impression-log"
        )
    settings = ShelfSettings(
        encoder=args.encoder,
        multilingual=args.multilingual,
        events=args.events,
        event_fields=args.event_fields,
        recommender=args.recommender,
        personal_weight=args.personal_weight,
        valuation=args.valuation,
        events_db=args.events_db,
        explore_share=args.explore_share,
        explore_candidates=args.explore_candidates,
        impression_log=args.impression_log,
        impression_log_cpu=args.impression_log_cpu,
        rules=args.rules,
        synonyms=args.synonyms,
        retune=args.retune,
        lexical_shortcut=args.lexical_shortcut,
    )
    if args.synonyms is not None:
        read_synonyms(args.synonyms)  # a missing or empty file fails now, naming it
    if args.rules is not None and not args.rules.is_file():
        raise FileNotFoundError(f"{args.rules}: no rules file")
    report = report_file(args.report) if args.report is not None else None
    if args.valuation is not None:
        load_valuation(args.valuation)  # a missing or malformed summary fails now, naming the file (and field)
    return ServerSetup(folder=args.shelf, shelf=settings, config=config, report=report)


def run(args: argparse.Namespace) -> int:
    setup = setup_from_args(args)
    check_port(setup.config.bind_host, args.port)  # a taken port fails now, not after the shelf has loaded
    if setup.config.capacity.workers > 1:
        from shelfwise.serve.setup import check_loads
        from shelfwise.serve.stopping import sigterm_exits
        from shelfwise.serve.workers import run_workers

        # a SIGTERM before the supervisor's handlers: exit quietly, cleaning up; the caller's handler back on
        # the way out (main() may run in a test; run_workers puts back those the supervisor sets)
        with sigterm_exits():
            check_loads(setup)  # a bad folder or flag fails now, with its message; then each worker loads it
            return run_workers(setup, args.port)
    recipe = setup.recipe()  # the one recipe: this first shelf and every reload
    serve_shelf(recipe(setup.folder), args.host, args.port, report=setup.report, config=setup.config, prepare=recipe)
    return 0
