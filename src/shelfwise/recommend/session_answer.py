"""An anonymous session as ``GET /recommend/session`` and ``shelfwise recommend session`` answer it:
item ids the catalog lacks are left out and named (as Gorse and Algolia skip them), and an empty
session says that it gets popular items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shelfwise.catalog.schema import Catalog, Filters
from shelfwise.index.text import is_blank
from shelfwise.notice import NOT_PERSONALISED, UNKNOWN_ITEMS, Notice
from shelfwise.recommend.base import Recommendation
from shelfwise.recommend.hybrid import HybridRecommender

EMPTY_SESSION = Notice("no session items and no query: popular items", NOT_PERSONALISED)
LISTED = 5  # unknown ids named in the notice, the rest counted


@dataclass(frozen=True)
class SessionAnswer:
    """The session's recommendations and what to tell the caller about them (None: nothing)."""

    recommendation: Recommendation
    notice: Notice | None


def answer_session(
    rec: HybridRecommender,
    catalog: Catalog,
    item_ids: Sequence[str],
    k: int,
    filters: Filters | None = None,
    *,
    query: str = "",
    exclude_seen: bool = True,
) -> SessionAnswer:
    """:meth:`HybridRecommender.recommend_session` of the session's known items (oldest first) and
    ``query``; raises ValueError as it does."""
    found = [(i, catalog.get_row(i)) for i in item_ids]
    rows = [row for _, row in found if row is not None]
    unknown = list(dict.fromkeys(i for i, row in found if row is None))  # delisted since: the rest still counts
    out = rec.recommend_session(rows, k, filters, query=query, exclude_seen=exclude_seen)
    notice = EMPTY_SESSION if not rows and is_blank(query) and len(out.ids) else None
    if unknown:
        more = f" and {len(unknown) - LISTED} more" if len(unknown) > LISTED else ""
        listed = ", ".join(repr(i) for i in unknown[:LISTED]) + more
        notice = Notice(f"item ids not in the catalog, left out: {listed}", UNKNOWN_ITEMS)
    return SessionAnswer(out, notice)
