"""Search analytics from the behaviour log: what shoppers search for, and which searches fail them.

What a merchandiser reads in Algolia's or Elastic's search analytics: the top searches, the
searches no product answers in words (the candidates for a synonym, :mod:`shelfwise.retrieve.synonyms`,
or a missing product), and the searches never followed by a click. A search is a ``query`` event;
a click, cart or purchase is engagement with the results of:

* the search whose query event carries the same ``request_id`` (``/search`` answers one; the
  storefront sends it with the search event and with the events of its hits, as Algolia Insights'
  ``queryID``): exact, whatever query text the event carries, or none;
* else (no ``request_id``, or one no query event carries: a later page of the results, a
  ``/recommend`` list) the query the event carries, if any (the storefront tags its clicks with it).

Queries are compared normalised (case, width, spaces). Nothing here knows
about HTTP or HTML (:func:`searches_section` gives a report section).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shelfwise.eval.report import Section
from shelfwise.events.schema import EVENT_WEIGHTS, EventLog, EventType
from shelfwise.index.text import normalise

if TYPE_CHECKING:
    from shelfwise.retrieve.hybrid import HybridSearcher

TOP = 15
MIN_SEARCHES = 3  # a query searched fewer times says little about its results


@dataclass(frozen=True)
class QueryStats:
    """``searches``: query events; ``shoppers``: distinct shoppers who searched it; ``engaged``:
    clicks, carts and purchases that carry it; ``matched``: whether some product holds one of its
    words (None when not checked)."""

    query: str
    searches: int
    shoppers: int
    engaged: int
    matched: bool | None = None

    @property
    def engagement_rate(self) -> float:
        return self.engaged / self.searches if self.searches else 0.0


@dataclass(frozen=True)
class SearchAnalytics:
    """Per-query figures, most searched first, and the totals; ``exact``: of the ``engaged``, those
    attributed by ``request_id``."""

    queries: tuple[QueryStats, ...]
    searches: int
    engaged: int
    exact: int = 0

    def top(self, n: int = TOP) -> list[QueryStats]:
        return list(self.queries[:n])

    def unmatched(self, n: int = TOP) -> list[QueryStats]:
        """Searched queries no product holds a word of (most searched first)."""
        return [q for q in self.queries if q.matched is False][:n]

    def unengaged(self, n: int = TOP, min_searches: int = MIN_SEARCHES) -> list[QueryStats]:
        """Queries searched ``min_searches`` times or more that no click, cart or purchase followed."""
        return [q for q in self.queries if q.searches >= min_searches and q.engaged == 0][:n]

    def as_json(self, n: int = TOP) -> dict[str, Any]:
        return {
            "searches": self.searches,
            "distinct_queries": len(self.queries),
            "engaged": self.engaged,
            "engaged_by_request_id": self.exact,
            "top": [asdict(q) for q in self.top(n)],
            "unmatched": [asdict(q) for q in self.unmatched(n)],
            "unengaged": [asdict(q) for q in self.unengaged(n)],
        }


def search_analytics(events: EventLog, matches: Callable[[str], bool] | None = None) -> SearchAnalytics:
    """The analytics of ``events``; ``matches(query)``: whether some product holds one of the
    query's words (e.g. ``lambda q: any(searcher.lexical.words.doc_freq(q))``)."""
    searches: dict[str, int] = defaultdict(int)
    shoppers: dict[str, set[int]] = defaultdict(set)
    engaged: dict[str, int] = defaultdict(int)
    positive = {int(t) for t in EVENT_WEIGHTS.engaged()}
    kinds = events.type.tolist()
    searched = _searched_by_request(events)
    exact = 0
    for i, (raw, user) in enumerate(zip(events.queries, events.user.tolist(), strict=True)):
        if kinds[i] in positive:
            by_id = searched.get(events.request_id(i), "")
            exact += bool(by_id)
            q = by_id or (normalise(raw) if raw else "")
            if q:
                engaged[q] += 1
            continue
        q = normalise(raw) if raw else ""
        if q and kinds[i] == int(EventType.QUERY):
            searches[q] += 1
            shoppers[q].add(user)
    order = sorted(searches, key=lambda q: (-searches[q], -len(shoppers[q]), q))
    stats = tuple(
        QueryStats(q, searches[q], len(shoppers[q]), engaged[q], matches(q) if matches is not None else None)
        for q in order
    )
    return SearchAnalytics(stats, int(sum(searches.values())), int(sum(engaged[q] for q in searches)), exact)


def _searched_by_request(events: EventLog) -> dict[str, str]:
    """request_id -> the normalised query of the query event carrying it (the first, if several)."""
    out: dict[str, str] = {}
    if not events.request_ids:
        return out
    query = int(EventType.QUERY)
    for rid, kind, raw in zip(events.request_ids, events.type.tolist(), events.queries, strict=True):
        if rid and kind == query and raw and rid not in out:
            q = normalise(raw)
            if q:
                out[rid] = q
    return out


def held_by_catalog(searcher: HybridSearcher) -> Callable[[str], bool]:
    """``matches`` for :func:`search_analytics`: whether some product holds a word of the query or
    of the words the store's synonyms add to it (a query a synonym already answers is no candidate
    for another). A query with Chinese by its words, as ``/search``'s ``no-word-match`` reads them
    (:mod:`~shelfwise.retrieve.query_words`: 笔记本电脑 is not held by a title sharing 本)."""
    from shelfwise.retrieve import query_words  # (the searcher's package: loaded by the time one exists)

    words, synonyms, tok = searcher.lexical.words, searcher.synonyms, searcher.lexical.tokenizer

    def held(query: str) -> bool:
        added = synonyms.added(query) if synonyms is not None else ""
        text = f"{query} {added}" if added else query
        if query_words.applies(tok, text):
            return query_words.held_by_any(query_words.query_words(text, tok, words), words)
        return any(words.doc_freq(text))

    return held


def searches_section(analytics: SearchAnalytics, n: int = TOP) -> Section:
    """The report's "Searches" section: the top searches, then the failing ones in the notes."""
    if not analytics.searches:
        return Section(
            "Searches",
            notes=[
                "The behaviour history holds no searches (query events). The storefront posts one per search "
                "and tags its clicks with the query; your own front end can send {type: query, query: ...} "
                "to POST /events."
            ],
        )
    rate = analytics.engaged / analytics.searches
    by_id = f", {analytics.exact:,} of them by the search's request_id" if analytics.exact else ""
    notes = [
        f"{analytics.searches:,} searches of {len(analytics.queries):,} distinct queries; "
        f"{analytics.engaged:,} clicks, carts and purchases from search results ({rate:.1%} of searches{by_id})."
    ]
    unmatched = analytics.unmatched(n)
    if unmatched:
        notes.append(
            "No product holds a word of: "
            + ", ".join(f"'{q.query}' ({q.searches})" for q in unmatched)
            + ". Candidates for synonyms (shelfwise index --synonyms) or missing products."
        )
    quiet = analytics.unengaged(n)
    if quiet:
        notes.append(
            f"Searched {MIN_SEARCHES}+ times, never followed by a click: "
            + ", ".join(f"'{q.query}' ({q.searches})" for q in quiet)
            + ". Their results may not be what shoppers want: look at them, or pin products (shelfwise index --rules)."
        )
    rows = [
        [q.query, q.searches, q.shoppers, q.engaged, float(np.round(q.engagement_rate, 3))] for q in analytics.top(n)
    ]
    return Section("Searches", ["query", "searches", "shoppers", "clicks+", "per search"], rows, notes)
