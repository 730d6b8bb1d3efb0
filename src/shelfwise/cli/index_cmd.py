"""``shelfwise index``: build and save the search indexes for a catalog."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.cli.common import add_catalog_args, load_catalog_arg
from shelfwise.encode.registry import load_encoder
from shelfwise.retrieve.hybrid import HybridSearcher


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("index", help="build BM25 + vector indexes for a catalog")
    add_catalog_args(p)
    p.add_argument("--out", type=Path, required=True, help="index folder to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cl = load_catalog_arg(args)
    searcher = HybridSearcher.build(cl.catalog, load_encoder(args.encoder, args.cache), progress=True)
    searcher.save(args.out)
    cl.catalog.save(Path(args.out) / "catalog.parquet")
    print(f"indexed {len(cl.catalog)} products into {args.out}")
    return 0
