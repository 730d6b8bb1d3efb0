"""Which reranker an index folder holds, and loading it (``shelfwise serve``)."""

from __future__ import annotations

import json
from pathlib import Path

from shelfwise.rank.cross import MANIFEST as CROSS_MANIFEST
from shelfwise.rank.cross import CrossReranker
from shelfwise.rank.ltr import MANIFEST as LTR_MANIFEST
from shelfwise.rank.ltr import LTRReranker
from shelfwise.retrieve.hybrid import HybridSearcher, Reranker

KINDS = ("ltr", "cross")


def saved_kind(path: str | Path) -> str:
    """``"cross"`` or ``"ltr"``, read from the manifest in ``path``; raises naming the folder if neither."""
    p = Path(path)
    if (p / CROSS_MANIFEST).exists():
        try:
            kind = json.loads((p / CROSS_MANIFEST).read_text()).get("kind", "cross")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
            raise ValueError(f"{p / CROSS_MANIFEST}: corrupt manifest ({exc})") from exc
        if kind != "cross":
            raise ValueError(f"{p / CROSS_MANIFEST}: unknown reranker kind {kind!r}; known: {KINDS}")
        return "cross"
    if (p / LTR_MANIFEST).exists():
        return "ltr"
    raise FileNotFoundError(f"{p}: no saved reranker ({CROSS_MANIFEST} or {LTR_MANIFEST})")


def load_reranker(path: str | Path, searcher: HybridSearcher) -> Reranker:
    """The reranker saved in ``path`` (either kind), bound to ``searcher``'s catalog and indexes."""
    if saved_kind(path) == "cross":
        return CrossReranker.load(path, searcher)
    return LTRReranker.load(path, searcher)
