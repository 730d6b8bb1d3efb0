"""``shelfwise recommend user|item|cross|session|eval``: print recommendations from a saved shelf
(``--shelf DIR``, nothing refitted), or fit on a catalog + events file."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.catalog.schema import Catalog, Filters
from shelfwise.cli.common import (
    EVENT_FIELDS_HELP,
    add_catalog_args,
    encoder_for_catalog,
    load_catalog_arg,
    load_event_log,
    positive_int,
)
from shelfwise.events.schema import EventLog
from shelfwise.recommend.base import Recommendation
from shelfwise.recommend.between import said_live
from shelfwise.recommend.evaluate import MIN_EVAL_USERS
from shelfwise.recommend.hybrid import HybridRecommender


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("recommend", help="recommendations from a catalog + events file")
    kinds = p.add_subparsers(dest="kind", required=True)
    for kind, helptext in (
        ("user", "personalised recommendations for a user id"),
        ("item", "items related to an item id"),
        ("cross", "complements of an item id from other categories"),
        ("session", "an anonymous session's recommendations: its item ids (oldest first) and/or --query text"),
        (
            "eval",
            "hold out each user's last session, fit on the rest and report metrics (hybrid vs popularity and, "
            "repeats counted, buy-again: each user's own most-used items, every event kind counted); without a "
            "session column, sessions end after 30 idle minutes ('session_gap_minutes' in --event-fields)",
        ),
    ):
        q = kinds.add_parser(kind, help=helptext)
        add_catalog_args(q, required=kind == "eval")
        q.add_argument(
            "--events", required=kind == "eval", type=Path, help="events file (CSV/TSV/JSONL/Parquet): fit on it"
        )
        q.add_argument("--event-fields", type=Path, default=None, help=EVENT_FIELDS_HELP)
        q.add_argument("-k", type=positive_int, default=10, help="how many items (default 10)")
        if kind == "eval":
            q.add_argument("--exclude-seen", action="store_true", help="score only items new to each user")
        else:
            if kind == "session":  # as GET /recommend/session
                q.add_argument("items", nargs="*", help="item ids viewed / bought in this session, oldest first")
                q.add_argument("--query", default="", help="what the shopper searched for")
            else:
                q.add_argument("id", help="user id" if kind == "user" else "item id")
            if kind == "user":  # as GET /recommend/user's live
                q.add_argument(
                    "--live",
                    action=argparse.BooleanOptionalAction,
                    default=None,
                    help="the shopper is in a session now (--live: the in-session weights) or not (--no-live: the "
                    "between-sessions ones); default: in session while the latest event is at most 30 minutes old",
                )
            q.add_argument(
                "--shelf",
                type=Path,
                default=None,
                help="saved shelf (shelfwise index --events ...): use its recommender instead of fitting one",
            )
            q.add_argument(
                "--recommender",
                type=Path,
                default=None,
                help="with --shelf: a recommender saved by `recommend ... --save DIR` instead of the shelf's own",
            )
            q.add_argument(
                "--events-db",
                default=None,
                help="with --shelf: the event log a server of the shelf reads (its --events-db): the events logged "
                "after the shelf's snapshot are applied first, as that server does at start (read only: the log "
                "and its offsets are left as they are)",
            )
            q.add_argument(
                "--include-sold-out",
                action="store_true",
                help="list out-of-stock products too (default: in-stock ones only, as GET /recommend/* does with "
                "in_stock=true: a shopper cannot buy a sold-out product)",
            )
            q.add_argument("--save", type=Path, default=None, help="also save the fitted recommender to this folder")
        q.set_defaults(func=run)


def _load(args: argparse.Namespace) -> tuple[Catalog, EventLog]:
    catalog = load_catalog_arg(args).catalog
    return catalog, load_event_log(args.events, args.event_fields, catalog)


def _from_shelf(args: argparse.Namespace) -> tuple[Catalog, HybridRecommender]:
    from shelfwise.cli.serve_cmd import load_shelf

    if args.catalog is not None or args.events is not None:
        raise ValueError("--shelf serves its own catalog and recommender: drop --catalog/--events (or --shelf)")
    shelf = load_shelf(args.shelf, None, recommender=args.recommender)
    if shelf.recommender is None:
        raise ValueError(
            f"{args.shelf}: the shelf has no recommender; build it with `shelfwise index --events FILE`, or pass "
            "--recommender DIR (saved by `shelfwise recommend ... --save DIR`)"
        )
    if args.events_db is not None:
        from shelfwise.shelf import replay_log

        start, n = replay_log(shelf, args.events_db)
        which = (
            f"logged after the shelf's snapshot (sequence {start})" if start else "(the shelf holds no snapshot of it)"
        )
        print(f"event log {args.events_db}: applied {n} event{'' if n == 1 else 's'} {which}, read only")
    return shelf.catalog, shelf.recommender


def run(args: argparse.Namespace) -> int:
    from shelfwise.recommend.evaluate import holdout_report
    from shelfwise.recommend.hybrid import build_recommender

    if getattr(args, "shelf", None) is not None:
        catalog, rec = _from_shelf(args)
        return _print(args, catalog, rec)
    if getattr(args, "recommender", None) is not None:
        raise ValueError("--recommender needs --shelf DIR (the shelf whose catalog it was fitted on)")
    if getattr(args, "events_db", None) is not None:
        raise ValueError("--events-db needs --shelf DIR (the shelf a server of that log serves)")
    if args.catalog is None or args.events is None:
        raise ValueError("give --shelf DIR (a saved shelf), or --catalog and --events to fit on")
    catalog, log = _load(args)
    if args.kind == "eval":  # before the catalog is embedded (45 s on H&M): can a last session be held out?
        from shelfwise.recommend.evaluate import holdout_split

        holdout_split(log)  # raises, saying why, when nothing can be held out
    encoder, spec, _ = encoder_for_catalog(args, catalog)
    vectors = encoder.encode(catalog.texts(), progress=True)
    if args.kind == "eval":
        users = 0
        seen = "only items new to each user count" if args.exclude_seen else "repeats count"
        print(f"held out: each user's last session; every model fitted on the rest; metrics at {args.k}, {seen}")
        for name, m in holdout_report(catalog, log, vectors, k=args.k, exclude_seen=args.exclude_seen).items():
            users = m.users
            print(
                f"{name:12s} recall@{m.k}={m.recall:.4f} ndcg@{m.k}={m.ndcg:.4f} mrr={m.mrr:.4f} auc={m.auc:.4f} "
                f"coverage={m.coverage:.4f} long_tail={m.long_tail_share:.4f} cold_recall={m.cold_recall:.4f} "
                f"ild={m.diversity:.4f} users={m.users}"
            )
        if users < MIN_EVAL_USERS:
            print(
                f"note: only {users} held-out users (fewer than {MIN_EVAL_USERS}): too few to tell these rows apart; "
                "bench/bench_sessions.py reports bootstrap intervals"
            )
        return 0
    rec = build_recommender(catalog, log, vectors, encoder=encoder)
    if args.save is not None:
        rec.save(args.save)
        print(
            f"saved recommender to {args.save} (serve it with: shelfwise serve --shelf DIR --recommender {args.save}, "
            f"DIR built by `shelfwise index` from this catalog with --encoder {spec})"
        )
    return _print(args, catalog, rec)


def _stock(args: argparse.Namespace, catalog: Catalog) -> Filters | None:
    """In-stock products only, as GET /recommend/*'s default, unless ``--include-sold-out``; None (no
    filter) where every product is in stock (a catalog with no stock column)."""
    return None if args.include_sold_out or catalog.all_in_stock else Filters(in_stock=True)


def _list(
    args: argparse.Namespace, catalog: Catalog, rec: HybridRecommender, stock: Filters | None, say: bool = True
) -> Recommendation:
    """The list asked for under ``stock``; ``say``: print its notices (session, unknown user)."""
    if args.kind == "session":  # GET /recommend/session's answer
        from shelfwise.recommend.session_answer import answer_session

        got = answer_session(rec, catalog, args.items, args.k, stock, query=args.query)
        if say and got.notice is not None:
            print(got.notice)
        return got.recommendation
    if args.kind == "user":
        if say and (rec.profiles is None or args.id not in rec.profiles):
            print(f"{args.id}: unknown user: popular items")
        return rec.recommend(said_live(rec, args.id, args.live), args.k, stock)
    row = catalog.get_row(args.id)
    if row is None:
        raise ValueError(f"unknown item id {args.id!r}")
    return rec.similar(row, args.k, stock) if args.kind == "item" else rec.cross(row, args.k, stock)


def _left_out(args: argparse.Namespace, catalog: Catalog, rec: HybridRecommender) -> int:
    """How many sold-out products the in-stock filter took out of this list: those the same list
    without it holds (not the catalog's sold-out count, most of which would never have been listed)."""
    free = _list(args, catalog, rec, None, say=False)
    return int((~catalog.in_stock[free.ids]).sum()) if len(free.ids) else 0


def _print(args: argparse.Namespace, catalog: Catalog, rec: HybridRecommender) -> int:
    stock = _stock(args, catalog)
    if args.kind == "session":
        args.id = ",".join(args.items) or args.query or "session"  # how the lines below name it
    out = _list(args, catalog, rec, stock)
    n = _left_out(args, catalog, rec) if stock is not None else 0
    if n:  # a list that left products out should not pass for all there is (none left out: it is)
        one = n == 1
        print(
            f"{n} sold-out product{'' if one else 's'} left out of this list: "
            f"--include-sold-out lists {'it' if one else 'them'}"
        )
    if not len(out.ids):  # say so: an empty answer with exit 0 reads like a crash or a filter gone wrong
        what = {
            "user": "for this user",
            "item": "related to this item",
            "cross": "from other categories",
            "session": "for this session",
        }[args.kind]
        print(f"{args.id}: no recommendations {what}")
    elif len(out.ids) < args.k:  # fewer than asked: say so rather than let a short list pass for all there is to show
        other = "other product" if stock is None else "other in-stock product"
        print(f"{args.id}: only {len(out.ids)} of the {args.k} asked for (no {other} has evidence for it)")
    for rank, (row_i, score, reason) in enumerate(zip(out.ids.tolist(), out.scores.tolist(), out.reasons, strict=True)):
        p = catalog.products[row_i]
        print(f"{rank + 1:3d}. {p.id}\t{score:.4f}\t{p.title}\t[{reason}]")
    return 0
