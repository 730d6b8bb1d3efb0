"""Argument helpers shared by commands (parsing only)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.catalog.loader import CatalogLoad, ProductFields, load_catalog
from shelfwise.catalog.schema import Catalog
from shelfwise.events.loader import load_event_log as load_event_log  # used by the commands

if TYPE_CHECKING:
    from shelfwise.encode.base import Encoder
    from shelfwise.index.language import LanguageProfile


def add_catalog_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--catalog", required=required, type=Path, help="products file (CSV/TSV/JSONL/Parquet)")
    p.add_argument("--fields", type=Path, default=None, help="JSON mapping of columns to product fields")
    p.add_argument(
        "--encoder",
        default="auto",
        help="encoder name (auto, minilm, e5, hashing, ...) or model folder; auto picks by the catalog's language",
    )
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


def encoder_for_catalog(args: argparse.Namespace, catalog: Catalog) -> tuple[Encoder, str, LanguageProfile]:
    """Detect the catalog's language, pick the encoder (``--encoder`` overrides ``auto``), say so."""
    from shelfwise.encode.registry import load_encoder
    from shelfwise.index.language import choose_encoder, detect_language

    profile = detect_language(catalog.texts())
    choice = choose_encoder(profile, args.encoder)
    print(f"encoder {choice.spec!r} ({choice.reason})")
    if choice.warning:
        print(f"warning: {choice.warning}")
    return load_encoder(choice.spec, args.cache), choice.spec, profile
