"""From fused scores to a list: the best ``k`` with one item per product title, a typed query's
matches first, and the reasons of those that lead because they match (the hybrid's ``recommend``
and ``similar``; :class:`~shelfwise.recommend.hybrid.HybridRecommender` keeps the scoring)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.index.topk import top_k
from shelfwise.recommend.base import Context, Recommendation
from shelfwise.recommend.content import QUERY_REASON, ContentRecommender
from shelfwise.recommend.query import QueryMatches
from shelfwise.results import FloatArray, Results

BoolArray = npt.NDArray[np.bool_]


class ScoredList(NamedTuple):
    """A list (:meth:`HybridRecommender.recommend_scored
    <shelfwise.recommend.hybrid.HybridRecommender.recommend_scored>`) with what ranked it: every
    item's fused score, and the items it could show (the filters', less seen ones with
    ``exclude_seen``: a fresh mask the caller may change; an explored list's slots draw from it)."""

    recommendation: Recommendation
    fused: FloatArray
    allowed: BoolArray


def evidence(fused: FloatArray) -> FloatArray:
    """``fused`` as float32 with ``-inf`` where no component had evidence (a sum of 0 or less)."""
    return np.where(fused > 0, fused, -np.inf).astype(np.float32)


def top_distinct(
    catalog: Catalog, fused: FloatArray, k: int, mask: BoolArray, collapse: bool, titles: set[str] | None = None
) -> Results:
    """Top-``k`` of ``fused`` (positive or ``-inf``) among ``mask``; with ``collapse``, one item per
    product title (colour/size variants of one product would otherwise fill a list), none of
    ``titles`` (lower-cased; the titles kept are added to it)."""
    if not collapse:  # top_k: ``fused`` is positive or -inf (no catalog-wide partition)
        return top_k(fused, k, mask)
    wide = top_k(fused, 4 * k + len(titles or ()), mask)
    seen = titles if titles is not None else set()
    keep: list[int] = []
    for j, row in enumerate(wide.ids.tolist()):
        title = catalog.products[row].variant_key
        if title not in seen:
            seen.add(title)
            keep.append(j)
            if len(keep) == k:
                break
    return Results(wide.ids[keep], wide.scores[keep])


def top_first(
    catalog: Catalog, fused: FloatArray, k: int, mask: BoolArray, first: BoolArray, collapse: bool
) -> Results:
    """:func:`top_distinct` of the ``first`` items, then of the others when fewer than ``k`` of those pass."""
    titles: set[str] = set()
    a = top_distinct(catalog, fused, k, mask & first, collapse, titles)
    if len(a) >= k:
        return a
    b = top_distinct(catalog, fused, k - len(a), mask & ~first, collapse, titles)
    return Results(np.concatenate([a.ids, b.ids]), np.concatenate([a.scores, b.scores]))


def query_led(
    content: ContentRecommender, ctx: Context, rows: Sequence[int], reasons: Sequence[str], matches: QueryMatches
) -> tuple[str, ...]:
    """``reasons`` of the list ``rows`` with the query's reason on the items that lead because they
    match the typed query, whichever component scored them most."""
    led = set(matches.rows.tolist())
    said = [content.explain(ctx, r) if r in led else "" for r in rows]
    return tuple(q if q == QUERY_REASON else why for q, why in zip(said, reasons, strict=True))
