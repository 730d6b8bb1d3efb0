"""``shelfwise search``: query a saved shelf from the command line, as ``GET /search`` answers
(same searcher, reranker and notices), without starting a server."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.catalog.schema import Filters
from shelfwise.cli.common import positive_int


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("search", help="search a saved shelf from the command line (as GET /search)")
    p.add_argument("query", help="query text (any language)")
    p.add_argument("--shelf", "--index", dest="shelf", type=Path, required=True, help="folder from 'shelfwise index'")
    p.add_argument("-k", type=positive_int, default=10, help="how many products (default 10)")
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid", help="default hybrid")
    p.add_argument("--category", default=None, help='category path prefix, e.g. "Menswear > Trousers"')
    p.add_argument("--brand", action="append", default=None, help="brand filter (repeatable: any of them)")
    p.add_argument("--explain", action="store_true", help="each hit's match signals and a reason in words")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shelfwise.cli.serve_cmd import load_shelf
    from shelfwise.serve.convert import hit_reasons

    if not args.query.strip():
        raise ValueError("the query is empty or only whitespace: give words to search for")
    path = tuple(s.strip() for s in args.category.split(">") if s.strip()) if args.category else ()
    filters = Filters(category=path, brands=tuple(args.brand or ()))
    shelf = load_shelf(args.shelf, None)
    searcher = shelf.searcher
    res = searcher.search(args.query, args.k, filters, mode=args.mode, match_features=args.explain)
    intent = searcher.understand(args.query)
    notices = searcher.notices(args.query)
    if not len(res.ids) and not filters.is_empty():
        notices += shelf.catalog.unmatched_filters(filters)
    if intent is not None:
        print(f"understood: {intent.to_json()}")
    for line in notices:
        print(f"note: {line}")
    if not len(res.ids):
        print(f"{args.query}: no products found")
    reasons: list[str] | None = None
    if args.explain:
        reasons = hit_reasons(searcher, args.query, res, intent)
    for rank, (row, score) in enumerate(zip(res.ids.tolist(), res.scores.tolist(), strict=True)):
        p = shelf.catalog.products[row]
        why = f"\t[{reasons[rank]}]" if reasons is not None else ""
        print(f"{rank + 1:3d}. {p.id}\t{score:.4f}\t{p.title}{why}")
    return 0
