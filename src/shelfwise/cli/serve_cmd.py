"""``shelfwise serve``: serve a saved index over HTTP."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.catalog.schema import Catalog
from shelfwise.encode.registry import load_encoder
from shelfwise.retrieve.hybrid import HybridSearcher
from shelfwise.shelf import Shelf, enable_live


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve the HTTP API and web page for a saved index")
    p.add_argument("--index", type=Path, required=True, help="folder written by 'shelfwise index'")
    p.add_argument("--encoder", default="minilm")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--events-db", type=Path, default=None, help="SQLite event log; enables POST /events and real-time updates"
    )
    p.set_defaults(func=run)


def serve_shelf(shelf: Shelf, host: str, port: int, report: Path | None = None) -> None:
    import uvicorn

    from shelfwise.serve.app import create_app

    print(f"serving on http://{host}:{port}  (API docs: /docs)")
    uvicorn.run(create_app(shelf, report=report), host=host, port=port, log_level="warning")


def run(args: argparse.Namespace) -> int:
    catalog = Catalog.load(Path(args.index) / "catalog.parquet")
    searcher = HybridSearcher.load(args.index, catalog, load_encoder(args.encoder))
    shelf = Shelf(catalog=catalog, searcher=searcher)
    if args.events_db is not None:
        enable_live(shelf, args.events_db)
    serve_shelf(shelf, args.host, args.port)
    return 0
