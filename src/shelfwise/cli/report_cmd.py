"""``shelfwise report``: the HTML evaluation report of any store's shelf (search against judged
queries next to plain bm25s, recommendations on a time split, long tail, exposure, diversity,
fairness of exposure across categories and brands, data valuation). Served by ``serve --report``."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.cli.common import EVENT_FIELDS_HELP, load_judgments_arg, positive_int, warn_unknown_judged_items


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="write the HTML evaluation report of a store's index (served at /report)")
    p.add_argument("--index", type=Path, required=True, help="folder written by 'shelfwise index'")
    p.add_argument("--encoder", default=None, help="query encoder; default: the one the index was built with")
    p.add_argument("--queries", type=Path, default=None, help="judged queries (query_id, query): search table")
    p.add_argument("--judgments", type=Path, default=None, help="graded judgments (query_id, item_id, grade)")
    p.add_argument("--events", type=Path, default=None, help="behaviour events: recommendations, long tail, exposure")
    p.add_argument("--event-fields", type=Path, default=None, help=EVENT_FIELDS_HELP)
    p.add_argument("--recommender", type=Path, default=None, help="saved recommender folder; not with --events")
    p.add_argument("--valuation", type=Path, default=None, help="folder written by 'shelfwise value': its summary")
    p.add_argument("--k", type=positive_int, default=10, help="list length measured (top k; default 10)")
    p.add_argument("--title", default="Shelfwise evaluation report", help="the report's heading")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("report.html"),
        help="HTML file to write (+ .json, + <name>_plots/; default report.html)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shelfwise.cli.serve_cmd import load_shelf
    from shelfwise.eval.store_report import build_store_report
    from shelfwise.valuation.summary import load_valuation

    if (args.queries is None) != (args.judgments is None):
        raise ValueError("--queries and --judgments go together")
    if args.k < 1:
        raise ValueError("--k must be >= 1")
    # read once, now (before the shelf loads): a missing or malformed summary fails naming the file and field
    valuation = load_valuation(args.valuation) if args.valuation is not None else None
    judgments = None
    if args.queries is not None:
        judgments = load_judgments_arg(args.queries, args.judgments)
    shelf = load_shelf(args.index, args.encoder, args.events, args.event_fields, args.recommender)
    if judgments is not None:
        warn_unknown_judged_items(judgments, shelf.catalog)
    plots = args.out.parent / f"{args.out.stem}_plots"
    report = build_store_report(
        shelf,
        plots,
        judgments=judgments,
        valuation=args.valuation,
        valuation_summary=valuation,
        title=args.title,
        k=args.k,
    )
    path = report.write(args.out)
    for name, m in report.figures.get("search", {}).items():
        print(f"search {name:<20} NDCG@10 {m['ndcg@10']:.4f}  R@100 {m['recall@100']:.4f}  MRR {m['mrr']:.4f}")
    for name, f in report.figures.get("exposure", {}).items():
        if isinstance(f, dict) and "gini" in f:
            print(f"exposure {name:<16} coverage {f['coverage']:.3f}  Gini {f['gini']:.3f}")
    hint = serve_hint(args, path)
    print(f"wrote {path} (+ {path.with_suffix('.json').name}, plots in {plots}); serve it with `{hint}`")
    return 0


def serve_hint(args: argparse.Namespace, path: Path) -> str:
    """The ``shelfwise serve`` line that serves this report with the recommender and valuation it
    measured (a shelf built without ``--events`` has none of its own: /recommend/* would answer 503)."""
    parts = ["shelfwise serve", f"--shelf {args.index}"]
    for flag, value in (
        ("--events", args.events),
        ("--event-fields", args.event_fields if args.events is not None else None),
        ("--recommender", args.recommender),
        ("--valuation", args.valuation),
    ):
        if value is not None:
            parts.append(f"{flag} {value}")
    parts.append(f"--report {path}")
    return " ".join(parts)
