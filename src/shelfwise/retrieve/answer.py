"""A search as the API and the CLI answer it: the hits, what was understood, the notices, and (on
request) each hit's reason in words and the reranker that set the order. Transport-free: ``GET
/search`` and ``shelfwise search`` only format a :class:`SearchAnswer`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Filters
from shelfwise.results import Results
from shelfwise.retrieve.hybrid import HybridSearcher
from shelfwise.retrieve.understand import FieldMatch, QueryIntent, QueryUnderstanding


@dataclass(frozen=True)
class SearchAnswer:
    """``reasons``: one per hit with ``explain``, else None; ``reranked_by``: the attached reranker's
    kind when it ordered the head (None: the first stage's order)."""

    results: Results
    intent: QueryIntent | None
    notices: list[str]
    reasons: list[str] | None
    reranked_by: str | None


def answer_search(
    searcher: HybridSearcher,
    query: str,
    k: int,
    filters: Filters,
    *,
    mode: str | None = None,
    user_vector: npt.NDArray[np.float32] | None = None,
    explain: bool = False,
) -> SearchAnswer:
    """Search, then say what a shopper should know: a filter that matches no product when nothing
    was found, and with ``explain`` each hit's reason (:func:`hit_reasons`)."""
    res = searcher.search(query, k, filters, mode=mode, user_vector=user_vector, match_features=explain)
    intent = searcher.understand(query)
    notices = searcher.notices(query)
    if not len(res.ids) and not filters.is_empty():  # 0 hits: say which filter matches no product at all
        notices += searcher.catalog.unmatched_filters(filters)
    reasons = hit_reasons(searcher, query, res, intent) if explain else None
    reranker = searcher.reranker
    ranked = reranker is not None and searcher.config.rerank_depth > 0 and len(res.ids) > 0
    kind = str(getattr(reranker, "kind", type(reranker).__name__)) if ranked else None
    return SearchAnswer(res, intent, notices, reasons, kind)


def search_reasons(
    results: Results,
    matches: Sequence[FieldMatch] = (),
    understanding: QueryUnderstanding | None = None,
    *,
    mean_cosine: float | None = None,
) -> list[str]:
    """Why each search hit is there, in words, from its match features (``search(..., match_features=True)``)
    and the query-understanding matches it satisfies: "has the query's words; meaning 0.86 (catalog
    average 0.78); colour group Black, as asked". ``understanding``: the one that found ``matches`` (it
    tells which products carry each value, as the boost reads them); needed only when ``matches`` is
    not empty. ``mean_cosine``: the query's average cosine over the catalog
    (:meth:`~shelfwise.retrieve.dense.DenseRetriever.mean_cosine`), shown beside each hit's."""
    bm25, lexical, cosine = (results.features.get(k) for k in ("bm25", "lexical", "cosine"))
    if matches and understanding is None:
        raise ValueError("search_reasons: matches need the understanding that found them")
    has = [(m, understanding.field_mask(m)[results.ids]) for m in matches] if understanding is not None else []
    out = []
    for j in range(len(results.ids)):
        bits = []
        if bm25 is not None and lexical is not None:
            if bm25[j] > 0:
                bits.append("has the query's words")
            elif lexical[j] > 0:
                bits.append(f"partly spelled like the query (character match {float(lexical[j]):.2f})")
            else:
                bits.append("no query word in its text")
        if cosine is not None:
            avg = f" (catalog average {mean_cosine:.2f})" if mean_cosine is not None else ""
            bits.append(f"meaning {float(cosine[j]):.2f}{avg}")
        asked = [f"{_field_name(m.field)} {m.value}" for m, hit in has if hit[j]]
        if asked:
            bits.append(", ".join(dict.fromkeys(asked)) + ", as asked")
        out.append("; ".join(bits))
    return out


def hit_reasons(searcher: HybridSearcher, query: str, results: Results, intent: QueryIntent | None) -> list[str]:
    """:func:`search_reasons` for ``searcher``'s hits of ``query`` (``intent``: what it understood of
    the query), with the query's catalog-average cosine."""
    understanding = searcher.understanding if intent else None
    text = intent.text if intent else query  # what was embedded (price phrase out, added words in)
    avg = searcher.dense_for(text).mean_cosine(text)
    return search_reasons(results, intent.matches if intent else (), understanding, mean_cosine=avg)


def _field_name(field: str) -> str:
    return field.removeprefix("attribute:").removesuffix("_name").replace("_", " ")
