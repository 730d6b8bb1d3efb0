"""A search as the API and the CLI answer it: one page of hits (``offset``, ``k``), in relevance or
price order, what was understood, the notices, and (on request) each hit's reason in words and the
reranker that set the order. Transport-free: ``GET /search`` and ``shelfwise search`` only format a
:class:`SearchAnswer`.

Paging reads a window of the ranking, as Algolia (``paginationLimitedTo`` 1,000) and Elasticsearch
(``max_result_window``) do: ``offset + k`` is at most :data:`MAX_WINDOW`. A price order sorts the
``sort_depth`` most relevant products of the query (Algolia's "relevant sort": sorting every
product a hybrid search reaches would put the cheapest loosely related product first), so every page
of one sorted query reads the same sorted list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog, Filters, price_range
from shelfwise.index.text import Tokenizer, has_cjk, normalise, to_simplified
from shelfwise.notice import NO_WORD_MATCH, PRICE_UNMATCHED, SORT_WINDOW, UNMATCHED_FILTER, Notice
from shelfwise.results import Results
from shelfwise.retrieve.facets import Held, count_matches, held_by
from shelfwise.retrieve.highlight import QueryMarks, highlight_html, snippet_html
from shelfwise.retrieve.hybrid import HybridSearcher
from shelfwise.retrieve.rules import Applied, Rules
from shelfwise.retrieve.search_config import SearchTrace
from shelfwise.retrieve.stock import sold_out_last, sold_out_notice, words_held
from shelfwise.retrieve.understand import FieldMatch, QueryIntent, QueryUnderstanding

SORTS = ("relevance", "price_asc", "price_desc")
MAX_WINDOW = 1000  # offset + k: the deepest hit a page may read
SORT_DEPTH = 100  # the most relevant products a price order sorts, by default

DISTINCT_REACH = 4  # with distinct, hits fetched per hit shown (variants named alike are dropped)
BM25_WHY = "words-only search (mode=bm25)"
NEAREST = "these are the nearest by spelling and meaning"  # what a search no word matched still shows
NEAREST_SPELLING = "these are the nearest by spelling"  # ... in the words-only mode (character n-grams)
SHORTCUT_WHY = "the top titles hold every query word"  # the lexical shortcut decided (retrieve.shortcut)


@dataclass(frozen=True)
class SearchAnswer:
    """``results``: the page (hits ``offset`` to ``offset + k``); ``reasons``: one per hit with
    ``explain``, else None; ``reranked_by``: the attached reranker's kind when it ordered the head
    (None: the first stage's order, or a price order); ``next_offset``: the next page's offset, None
    when this page is the last one the window (or the sorted products) holds."""

    results: Results
    intent: QueryIntent | None
    notices: list[str]
    reasons: list[str] | None
    reranked_by: str | None
    next_offset: int | None = None
    rules: tuple[str, ...] = ()  # ids of the store's merchandising rules the query triggered
    hidden: tuple[int, ...] = ()  # rows those rules hide (never shown, nor counted in facets)
    setup_notices: list[str] = field(default_factory=list)  # what the operator could change, not for shoppers
    words_only: bool = False  # the words alone ranked the hits (mode=bm25, or the lexical shortcut)
    highlights: list[dict[str, str]] | None = None  # with highlight: each hit's title (and description snippet)
    total: int = 0  # products holding every query word that pass the filters; titles with distinct (count_matches)
    filters: Filters | None = None  # the filters the hits pass: the request's with the price the query names
    held: Held | None = None  # the rows the total started from: the same request's facets read them (facet_search)


def answer_search(
    searcher: HybridSearcher,
    query: str,
    k: int,
    filters: Filters,
    *,
    mode: str | None = None,
    user_vector: npt.NDArray[np.float32] | None = None,
    explain: bool = False,
    offset: int = 0,
    sort: str = "relevance",
    sort_depth: int = SORT_DEPTH,
    rules: Rules | None = None,
    distinct: bool = False,
    highlight: bool = False,
) -> SearchAnswer:
    """Search, then say what a shopper should know: a filter that matches no product when nothing
    was found, a price order that does not reach the page, and with ``explain`` each hit's reason
    (:func:`hit_reasons`). ``sort``: one of :data:`SORTS`; a price order sorts the ``sort_depth``
    most relevant products that hold one of the query's words (all of them reached when none does;
    those without a price last, each group in relevance order). ``rules``:
    the store's merchandising rules (:mod:`shelfwise.retrieve.rules`): hidden products are left out
    of every order, pinned ones lead the relevance order. ``distinct``: one hit per product title
    (:func:`one_per_title`) in the order shown, before paging; a relevance page reaches further
    until it has its hits or the search has no more. ``highlight``: each hit's title with the query's
    words marked (:mod:`~shelfwise.retrieve.highlight`)."""
    check_page(k, offset, sort, sort_depth)
    synonyms = searcher.synonyms.added_phrases(query) if searcher.synonyms is not None else ()
    act = rules.applied(query, synonyms) if rules is not None else Applied()
    n = sort_depth if sort != "relevance" else offset + k + 1  # one more: is there a next page?
    sorting = sort != "relevance"
    sold_out_any = not searcher.catalog.all_in_stock
    sold_out = searcher.config.sold_out_last and sold_out_any
    if sold_out and not sorting:  # whole runs of `candidates` hits: every page then reads the same order
        n = -(-n // searcher.config.candidates) * searcher.config.candidates
    intent = searcher.understand(query)
    effective = intent.filters(filters) if intent is not None else filters
    if distinct and not sorting:  # variants named alike drop out: reach further for the page
        n *= DISTINCT_REACH
    held = held_by(searcher, query)  # what holds every query word: the total, and where sold-out hits stop
    trace = SearchTrace()
    while True:
        reached = searcher.search(
            query,
            n,
            filters,
            mode=mode,
            user_vector=user_vector,
            match_features=explain or sorting,
            exclude=act.hide,
            trace=trace,
        )
        ranked = _ordered(searcher, query, reached, sort, act, effective, intent, explain, distinct, sold_out, held)
        enough = len(ranked) > offset + k or len(reached) < n  # the page and one more, or all there is
        if not distinct or sorting or enough or n >= MAX_WINDOW * DISTINCT_REACH**2:
            break
        n *= 2  # many variants of few titles: reach further
    window_full = len(reached) == sort_depth  # a price sort: more relevant products may lie past its window
    res = ranked.take(slice(offset, offset + k))
    more = len(ranked) > offset + k and offset + k < MAX_WINDOW
    notices = searcher.notices(query)
    if not len(res.ids) and offset == 0 and effective is not None and not effective.is_empty():
        # which of the request's filters matches nothing (a price the query names: said just below)
        notices += [Notice(n, UNMATCHED_FILTER) for n in searcher.catalog.unmatched_filters(filters)]
        if intent is not None and (intent.price_min is not None or intent.price_max is not None):
            asked = price_range(intent.price_min, intent.price_max)
            notices.append(Notice(f"no product matches the price the query names ({asked})", PRICE_UNMATCHED))
    if trace.words_matched is False and len(res.ids) and offset == 0:  # a words-only engine answers nothing here
        under = "that passes the filters " if effective is not None and not effective.is_empty() else ""
        nearest = NEAREST if trace.ranked_by == "fusion" else NEAREST_SPELLING  # mode=bm25: no meaning in it
        notices.append(Notice(f"no product {under}holds a word of {query!r}: {nearest}", NO_WORD_MATCH))
    gone = sold_out_notice(searcher, query, held, effective, act.hide) if offset == 0 and sold_out_any else None
    if gone is not None:
        notices.append(gone)
    if sorting and offset + k > len(ranked) and window_full:  # len: those holding a query word
        notices.append(
            Notice(
                f"sorted by price among the {sort_depth} most relevant products: this page reads past them "
                "(raise sort_depth, or filter by price instead)",
                SORT_WINDOW,
            )
        )
    by_words = trace.ranked_by == "words"  # what the search itself decided
    unused = None if not by_words else SHORTCUT_WHY if (mode or searcher.config.mode) == "hybrid" else BM25_WHY
    reasons = hit_reasons(searcher, query, res, intent, meaning_unused=unused) if explain else None
    if reasons is not None and user_vector is not None and searcher.config.personal_weight > 0:
        reasons = [
            f"{why}; {taste}" for why, taste in zip(reasons, taste_reasons(searcher, res, user_vector), strict=True)
        ]
    if reasons is not None and act.pin and sort == "relevance":
        by = dict(zip(act.pin, act.pinned_by, strict=True))
        reasons = [
            f"placed here by the store's rule {by[row]!r}; {why}" if row in by else why
            for row, why in zip(res.ids.tolist(), reasons, strict=True)
        ]
    reranker = searcher.reranker
    reordered = reranker is not None and searcher.config.rerank_depth > 0 and len(res.ids) > 0
    kind = str(getattr(reranker, "kind", type(reranker).__name__)) if reordered and sort == "relevance" else None
    nxt = offset + k if more else None
    setup = searcher.setup_notices(query)
    words_only = unused is not None
    marked = highlighted(searcher, query, intent, synonyms, res) if highlight else None
    total = count_matches(searcher, query, effective, act.hide, distinct=distinct, held=held)
    return SearchAnswer(
        res, intent, notices, reasons, kind, nxt, act.rules, act.hide, setup, words_only, marked, total, effective, held
    )


def highlighted(
    searcher: HybridSearcher, query: str, intent: QueryIntent | None, synonyms: Sequence[str], results: Results
) -> list[dict[str, str]]:
    """Each hit's ``title``, HTML-escaped, with the words the search read in the query marked
    (:func:`~shelfwise.retrieve.highlight.highlight_html`): as typed, its price phrase out, in the
    catalog's other language and with the store's synonyms; and the ``description``'s stretch that
    holds the most of them (:func:`~shelfwise.retrieve.highlight.snippet_html`), where one does."""
    readings = [intent.text if intent is not None else query, searcher.bilingual.added(query), *synonyms]
    tok = searcher.lexical.tokenizer
    marks = QueryMarks.of([r for r in readings if r], tok)
    out: list[dict[str, str]] = []
    for row in results.ids.tolist():
        product = searcher.catalog.products[row]
        marked = {"title": highlight_html(product.title, marks, tok)}
        snippet = snippet_html(product.description, marks, tok) if product.description else None
        out.append(marked if snippet is None else {**marked, "description": snippet})
    return out


def taste_reasons(searcher: HybridSearcher, results: Results, user_vector: npt.NDArray[np.float32]) -> list[str]:
    """Per hit, how close it is to the shopper's taste (the cosine personalised search adds, scaled
    by ``personal_weight``), beside the catalog's average: "your taste 0.62 (catalog average 0.35)"."""
    v = np.asarray(user_vector, dtype=np.float32)
    taste = searcher.dense.index.rows(results.ids) @ v
    avg = float(searcher.dense.mean_vector() @ v)
    return [f"your taste {float(t):.2f} (catalog average {avg:.2f})" for t in taste]


def check_page(k: int, offset: int, sort: str, sort_depth: int) -> None:
    """Raise ``ValueError`` naming the parameter when a page cannot be read."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    if k < 1 or offset < 0:
        raise ValueError(f"k must be >= 1 and offset >= 0, got k={k}, offset={offset}")
    if offset + k > MAX_WINDOW:
        raise ValueError(
            f"offset + k must be at most {MAX_WINDOW} (got {offset} + {k}): narrow the search with filters"
        )
    if not 1 <= sort_depth <= MAX_WINDOW:
        raise ValueError(f"sort_depth must be in 1..{MAX_WINDOW}, got {sort_depth}")


def _ordered(
    searcher: HybridSearcher,
    query: str,
    ranked: Results,
    sort: str,
    act: Applied,
    effective: Filters | None,
    intent: QueryIntent | None,
    explain: bool,
    distinct: bool,
    sold_out: bool,
    held: Held,
) -> Results:
    """The search's hits in the order shown: a price sort orders those holding a query word; with
    ``sold_out`` out-of-stock products move below the in-stock ones that hold the query's words as
    fully (``held``: the products holding them all; :func:`~shelfwise.retrieve.stock.sold_out_last`),
    and after every in-stock one in a price order; pins lead a relevance order; with ``distinct`` the
    first of each title in that order stays (the cheapest variant under a price sort, an in-stock one
    before a sold-out one of the same match, a pinned one where pinned)."""
    stock = searcher.catalog.in_stock
    if sold_out and sort == "relevance" and not stock[ranked.ids].all():
        held_words = words_held(searcher, query, ranked.ids, held)
        ranked = sold_out_last(ranked, stock, searcher.config.candidates, held_words)
    if sort != "relevance":
        words = ranked.features.get("bm25")
        if words is not None and bool((words > 0).any()):  # what holds the query's words, not all it reaches
            ranked = ranked.take(words > 0)
        ranked = by_price(ranked, searcher.catalog.price, descending=sort == "price_desc")
        if sold_out:  # the sorted window is fixed (sort_depth): one run
            ranked = sold_out_last(ranked, stock, len(ranked.ids))
        if not explain:
            ranked = Results(ranked.ids, ranked.scores)
    elif act.pin:  # pins pass the filters the search used: the request's and a price the query names
        ranked = act.order(ranked, searcher.mask(effective))
        if explain:  # a pin the search did not reach gets its own signals, not zeros
            ranked = searcher.match_features(intent.text if intent is not None else query, ranked)
    return one_per_title(ranked, searcher.catalog) if distinct else ranked


def one_per_title(results: Results, catalog: Catalog) -> Results:
    """The best-ranked hit of each product title (trimmed, lower-cased), in order: colour and size
    variants named alike show once (Algolia's ``distinct``; recommendations collapse them the same way,
    ``HybridConfig.collapse_variants``). Scores and features stay each hit's own."""
    seen: set[str] = set()
    keep = []
    for j, row in enumerate(results.ids.tolist()):
        title = catalog.products[row].variant_key
        if title not in seen:
            seen.add(title)
            keep.append(j)
    return results.take(np.asarray(keep, dtype=np.int64))


def by_price(results: Results, price: npt.NDArray[np.float64], *, descending: bool = False) -> Results:
    """``results`` re-ordered by the products' ``price`` (one per catalog row, NaN: none), cheapest
    first (dearest with ``descending``); products without a price last; equal prices (and the
    unpriced) keep their relevance order. Scores and features stay each hit's own."""
    p = price[results.ids]
    key = np.where(np.isnan(p), np.inf, -p if descending else p)
    return results.take(np.lexsort((np.arange(len(results.ids)), key)))


def search_reasons(
    results: Results,
    matches: Sequence[FieldMatch] = (),
    understanding: QueryUnderstanding | None = None,
    *,
    mean_cosine: float | None = None,
    shared: Sequence[list[str] | None] | None = None,
    meaning_unused: str | None = None,
) -> list[str]:
    """Why each search hit is there, in words, from its match features (``search(..., match_features=True)``)
    and the query-understanding matches it satisfies: "has the query's words; meaning 0.86 (catalog
    average 0.78); colour group Black, as asked". ``understanding``: the one that found ``matches`` (it
    tells which products carry each value, as the boost reads them); needed only when ``matches`` is
    not empty. ``mean_cosine``: the query's average cosine over the catalog
    (:meth:`~shelfwise.retrieve.dense.DenseRetriever.mean_cosine`), shown beside each hit's.
    ``shared``: per hit, None when it holds every query word, else the words it holds
    (:func:`shared_words`): "has some of the query's words (耐, 鞋)". ``meaning_unused``: why the
    meaning score did not rank the hits (a words-only search, or the lexical shortcut:
    :data:`SHORTCUT_WHY`); the score is still shown, marked as not used for that reason."""
    bm25, lexical, cosine = (results.features.get(k) for k in ("bm25", "lexical", "cosine"))
    if matches and understanding is None:
        raise ValueError("search_reasons: matches need the understanding that found them")
    has = [(m, understanding.field_mask(m)[results.ids]) for m in matches] if understanding is not None else []
    out = []
    for j in range(len(results.ids)):
        bits = []
        if bm25 is not None and lexical is not None:
            some = shared[j] if shared is not None else None
            if bm25[j] > 0 and some:
                bits.append(f"has some of the query's words ({', '.join(some)})")
            elif bm25[j] > 0:
                bits.append("has the query's words" if some is None else "has some of the query's words")
            elif lexical[j] > 0:
                bits.append(f"partly spelled like the query (character match {float(lexical[j]):.2f})")
            else:
                bits.append("no query word in its text")
        if cosine is not None:
            avg = f" (catalog average {mean_cosine:.2f})" if mean_cosine is not None else ""
            unused = f", not used: {meaning_unused}" if meaning_unused else ""
            bits.append(f"meaning {float(cosine[j]):.2f}{avg}{unused}")
        asked = [f"{_field_name(m.field)} {m.value}" for m, hit in has if hit[j]]
        if asked:
            bits.append(", ".join(dict.fromkeys(asked)) + ", as asked")
        out.append("; ".join(bits))
    return out


def hit_reasons(
    searcher: HybridSearcher,
    query: str,
    results: Results,
    intent: QueryIntent | None,
    *,
    meaning_unused: str | None = None,
) -> list[str]:
    """:func:`search_reasons` for ``searcher``'s hits of ``query`` (``intent``: what it understood of
    the query), with the query's catalog-average cosine (``meaning_unused``: see there)."""
    understanding = searcher.understanding if intent else None
    text = intent.text if intent else query  # what was embedded (price phrase out, added words in)
    avg = searcher.dense_for(text).mean_cosine(text)
    extra = searcher.bilingual.added(query)  # words read in the catalog's language: another reading
    readings = [text[: -len(extra)], extra] if extra and text.endswith(extra) else [text]
    texts = [searcher.catalog.products[i].text() for i in results.ids.tolist()]
    shared = shared_words(searcher.lexical.tokenizer, readings, texts)
    matches = intent.matches if intent else ()
    return search_reasons(
        results, matches, understanding, mean_cosine=avg, shared=shared, meaning_unused=meaning_unused
    )


def shared_words(tokenizer: Tokenizer, readings: Sequence[str], texts: Sequence[str]) -> list[list[str] | None]:
    """Per text: None when it holds every term (as ``tokenizer`` cuts them) of one of the query's
    ``readings`` (as typed; and in the catalog's language: "red shoes", "红色 鞋子"), else the
    query's words it holds, as typed (unstemmed; Chinese: the characters and character pairs the
    word analyser indexes, a character left out where a pair holding it is named). A Chinese query
    is cut into single characters too, so a title holding one of them ("耐克 跑鞋": 耐磨 雨鞋 holds
    耐 and 鞋) scores on the word index without holding the query's words."""
    surface = replace(tokenizer, stem=False)
    shown: list[dict[str, str]] = []
    for r in readings:
        terms, words = tokenizer(r), surface(r)
        shown.append(dict(zip(terms, words if len(words) == len(terms) else terms, strict=True)))
    out: list[list[str] | None] = []
    if not any(shown):  # no term to hold (a query of stop words or symbols)
        return [None] * len(texts)
    order = " ".join(to_simplified(normalise(r)) if has_cjk(r) else normalise(r) for r in readings)
    for text in texts:
        held = set(tokenizer(text))
        hits = [[t for t in each if t in held] for each in shown]
        if any(len(hit) == len(each) for hit, each in zip(hits, shown, strict=True) if each):
            out.append(None)
            continue
        found = {t: each[t] for hit, each in zip(hits, shown, strict=True) for t in hit}
        pairs = [t for t in found if len(t) > 1 and has_cjk(t)]
        words = [w for t, w in found.items() if not (len(t) == 1 and has_cjk(t) and any(t in pr for pr in pairs))]
        out.append(sorted(words, key=lambda w: (order.find(w) < 0, order.find(w))))  # in the query's order
    return out


def _field_name(field: str) -> str:
    return field.removeprefix("attribute:").removesuffix("_name").replace("_", " ")
