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
    p.add_argument("--offset", type=int, default=0, help="hits to skip (paging; offset + k <= 1000)")
    p.add_argument(
        "--sort",
        choices=("relevance", "price_asc", "price_desc"),
        default="relevance",
        help="relevance (default), or the --sort-depth most relevant products by price",
    )
    p.add_argument("--sort-depth", type=positive_int, default=100, help="products a price sort orders (default 100)")
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid", help="default hybrid")
    p.add_argument("--category", default=None, help='category path prefix, e.g. "Menswear > Trousers"')
    p.add_argument("--brand", action="append", default=None, help="brand filter (repeatable: any of them)")
    p.add_argument("--explain", action="store_true", help="each hit's match signals and a reason in words")
    p.add_argument("--distinct", action="store_true", help="one hit per product title (variants named alike once)")
    p.set_defaults(func=run)
    q = sub.add_parser("suggest", help="type-ahead suggestions for what was typed so far (as GET /suggest)")
    q.add_argument("typed", help="the text typed so far")
    q.add_argument("--shelf", "--index", dest="shelf", type=Path, required=True, help="folder from 'shelfwise index'")
    q.add_argument("-k", type=positive_int, default=8, help="how many suggestions (default 8)")
    q.set_defaults(func=run_suggest)


def run_suggest(args: argparse.Namespace) -> int:
    from shelfwise.cli.serve_cmd import load_shelf

    found = load_shelf(args.shelf, None).suggestions().suggest(args.typed, args.k)
    if not found:
        print(f"{args.typed}: no suggestion")
    for s in found:
        print(f"{s.text}\t{s.source}\t{s.count}")
    return 0


def run(args: argparse.Namespace) -> int:
    from shelfwise.cli.serve_cmd import load_shelf
    from shelfwise.index.text import is_blank
    from shelfwise.retrieve.answer import answer_search

    if is_blank(args.query):
        raise ValueError("the query is empty or only whitespace: give words to search for")
    path = tuple(s.strip() for s in args.category.split(">") if s.strip()) if args.category else ()
    filters = Filters(category=path, brands=tuple(args.brand or ()))
    shelf = load_shelf(args.shelf, None)
    got = answer_search(
        shelf.searcher,
        args.query,
        args.k,
        filters,
        mode=args.mode,
        explain=args.explain,
        offset=args.offset,
        sort=args.sort,
        sort_depth=args.sort_depth,
        rules=shelf.rules,
        distinct=args.distinct,
    )
    if got.intent is not None:
        print(f"understood: {got.intent.to_json()}")
    for line in got.notices:
        print(f"note: {line}")
    for line in got.setup_notices:
        print(f"setup: {line}")
    for rule in got.rules:
        print(f"store rule applied: {rule}")
    if got.reranked_by is not None:
        print(f"ordered by the {got.reranked_by} reranker")
    elif got.words_only and args.mode == "hybrid":
        print("ranked by the words alone: the top titles hold every query word (lexical shortcut)")
    if not len(got.results.ids):
        print(
            f"{args.query}: no more products after the first {args.offset}"
            if args.offset
            else f"{args.query}: no products found"
        )
    rows = zip(got.results.ids.tolist(), got.results.scores.tolist(), strict=True)
    for rank, (row, score) in enumerate(rows):
        p = shelf.catalog.products[row]
        why = f"\t[{got.reasons[rank]}]" if got.reasons is not None else ""
        price = f"\t{p.price:.2f}" if args.sort != "relevance" and p.price is not None else ""
        stock = "" if p.in_stock else "\t(out of stock: below the in-stock hits that match as fully)"
        print(f"{args.offset + rank + 1:3d}. {p.id}\t{score:.4f}\t{p.title}{price}{stock}{why}")
    if got.next_offset is not None:
        print(f"more: --offset {got.next_offset}")
    return 0
