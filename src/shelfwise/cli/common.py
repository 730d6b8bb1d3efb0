"""Argument helpers shared by commands (parsing only)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from shelfwise.catalog.loader import CatalogLoad, ProductFields, load_catalog
from shelfwise.catalog.schema import Catalog
from shelfwise.errors import counted
from shelfwise.events.loader import load_event_log as load_event_log  # used by the commands

if TYPE_CHECKING:
    from shelfwise.encode.base import Encoder
    from shelfwise.eval.judgments import Judgments
    from shelfwise.index.language import LanguageProfile

N = TypeVar("N", int, float)


def number_in(
    cast: Callable[[str], N], low: N, high: N | None = None, *, name: str, below_high: bool = False
) -> Callable[[str], N]:
    """argparse type factory: ``cast(text)`` (``int`` or ``float``) from ``low`` up to ``high``
    (``None``: no upper bound; ``below_high``: ``high`` itself excluded). argparse names the flag
    in front of the message ("argument --port: must be from 1 to 65535, got 0"); NaN is refused."""

    def parse(text: str) -> N:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {name}: {text!r}") from None
        above = high is not None and (value >= high if below_high else value > high)
        if not value >= low or above:  # ``not >=``: NaN fails every comparison
            if high is None:
                bound = f"at least {low}"
            else:
                bound = f"at least {low} and below {high}" if below_high else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


positive_int = number_in(int, 1, name="an integer")  # a list length: 0 or less would print nothing and succeed
port_number = number_in(int, 1, 65535, name="a port number")  # a TCP port
shortcut_depth = number_in(int, 0, 100, name="an integer")  # SearchConfig.lexical_shortcut (0: off) <= candidates
SHORTCUT_HELP = (
    "hybrid search ranks by the words alone, without the query encoder, when the top N hits' titles hold "
    "every word of a 2+ word query (0: every query is fused)"
)


def check_port(host: str, port: int) -> None:
    """Fail now, before a shelf loads for minutes, when ``host:port`` cannot be listened on (taken,
    or an address this machine does not have)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise ValueError(f"cannot listen on {host}:{port}: {why} (pick another --port or --host)") from None


FIELDS_HELP = (
    "JSON mapping of your columns to product fields: id, title, description, category, brand, price, in_stock, "
    "attributes, image (null: no such column; e.g. examples/tiny_store/fields.json)"
)
EVENT_FIELDS_HELP = (
    "JSON mapping of your columns to event fields: user_id, item_id, type, timestamp, session_id, query "
    '(null: no such column), type_aliases {"yours": "view"}; e.g. examples/tiny_store/event_fields.json'
)


def add_catalog_args(p: argparse.ArgumentParser, required: bool = True, *, encoder: bool = True) -> None:
    """--catalog and --fields, and (``encoder``, for commands that embed the products) --encoder and --cache."""
    p.add_argument("--catalog", required=required, type=Path, help="products file (CSV/TSV/JSONL/Parquet)")
    p.add_argument("--fields", type=Path, default=None, help=FIELDS_HELP)
    if not encoder:
        return
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
    kept = [w for w in cl.warnings if w.row > 0]
    for e in cl.columns + [w for w in cl.warnings if w.row <= 0]:  # file-wide notes, not rows
        print(f"warning: {e}")
    if cl.skipped:
        print(f"{args.catalog}: skipped {counted(len(cl.skipped), 'bad row')} (kept {len(cl.catalog)}); first ones:")
        for e in cl.skipped[:10]:
            print(f"  {e}")
    if kept:
        print(f"{args.catalog}: kept {counted(len(kept), 'row')} without a bad optional field; first ones:")
        for e in kept[:10]:
            print(f"  {e}")
    return cl


def load_judgments_arg(queries: Path, judgments: Path) -> Judgments:
    """``--queries`` / ``--judgments``, the skipped rows printed (the first ten, then a count)."""
    from shelfwise.eval.judgments import load_judgments

    loaded = load_judgments(queries, judgments)
    for err in loaded.errors[:10]:
        print(f"  skipped: {err}")
    if len(loaded.errors) > 10:
        print(f"  ... and {len(loaded.errors) - 10} more skipped rows")
    return loaded


def warn_unknown_judged_items(
    judgments: Judgments, catalog: Catalog, consequence: str = "no search can find them, so they count as misses"
) -> None:
    """Judged items the catalog lacks can never be found: say so (judgments for another catalog,
    or ids written differently) instead of silently scoring them as misses (or, in training,
    dropping them: ``consequence`` says which)."""
    judged = {item for rel in judgments.relevance.values() for item in rel}
    absent = sorted(item for item in judged if item not in catalog)
    if absent:
        print(
            f"warning: {len(absent)} of {len(judged)} judged items are not in the catalog (e.g. {absent[:3]}): "
            f"{consequence}"
        )


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
