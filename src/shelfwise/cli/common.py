"""Argument helpers shared by commands (parsing only)."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.catalog.loader import CatalogLoad, ProductFields, load_catalog


def add_catalog_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", required=True, type=Path, help="products file (CSV/TSV/JSONL/Parquet)")
    p.add_argument("--fields", type=Path, default=None, help="JSON mapping of columns to product fields")
    p.add_argument("--encoder", default="minilm", help="encoder name (minilm, hashing, ...) or model folder")
    p.add_argument(
        "--cache", type=Path, default=Path(".shelfwise/cache/embeddings.sqlite"), help="embedding cache file"
    )


def load_catalog_arg(args: argparse.Namespace) -> CatalogLoad:
    fields = ProductFields.from_json(args.fields) if args.fields else None
    cl = load_catalog(args.catalog, fields)
    if cl.errors:
        print(f"{args.catalog}: skipped {len(cl.errors)} bad rows; first ones:")
        for e in cl.errors[:10]:
            print(f"  {e}")
    return cl
