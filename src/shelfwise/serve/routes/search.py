"""GET /search: parse (on the event loop), then search (and, with ``facets=true``, count facets) and
format in one pool thread (:func:`shelfwise.serve.respond.answer`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from shelfwise.catalog.schema import Filters
from shelfwise.catalog.variants import MAX_VARIANTS
from shelfwise.index.text import is_blank
from shelfwise.notice import NOT_PERSONALISED, Notice, code_of
from shelfwise.retrieve.answer import MAX_WINDOW, SORT_DEPTH, answer_search
from shelfwise.retrieve.facets import DEPTH, facet_search
from shelfwise.retrieve.suggest import MAX_EXAMPLES
from shelfwise.serve.convert import items_out
from shelfwise.serve.error_docs import OVERLOAD
from shelfwise.serve.params import (
    Attr,
    Brand,
    InStock,
    PriceMax,
    PriceMin,
    Variants,
    VariantsMax,
    invalid,
    parse_filters,
)
from shelfwise.serve.respond import answer
from shelfwise.serve.schemas import (
    ExamplesResponse,
    FacetsOut,
    SearchResponse,
    SuggestionOut,
    SuggestResponse,
    UnderstoodOut,
)
from shelfwise.shelf import Shelf
from shelfwise.wording_zh import localise, localise_all

router = APIRouter(tags=["search"])
MAX_FACET_KEYS = 10

NO_HISTORIES = (
    "results are not personalised: this server has no shopper histories "
    "(build the shelf with `shelfwise index ... --events FILE`, or serve with --events FILE, --recommender DIR "
    "or --events-db FILE)"
)
PERSONAL_OFF = (
    "results are not personalised: personal_weight is 0 for this index "
    "(`shelfwise index --personal-weight 0.1`, or `shelfwise serve --personal-weight 0.1`)"
)


def _personal_notices(shelf: Shelf, user: str | None, has_vector: bool) -> tuple[list[str], list[str]]:
    """Why ``/search?user=...`` is not personalised, when it is not (never a silent no-op): ``(for the
    shopper, for the operator)``: a shopper with no history yet is told so; a server that cannot
    personalise at all tells its operator how to set it up."""
    if not user:
        return [], []
    if shelf.user_profiles is None:
        return [], [NO_HISTORIES]
    if shelf.searcher.config.personal_weight <= 0:
        return [], [PERSONAL_OFF]
    if not has_vector:
        return [Notice(f"no history yet for shopper {user!r}: results are not personalised", NOT_PERSONALISED)], []
    return [], []


@dataclass(frozen=True)
class SearchQuery:
    """The parsed query parameters of one ``GET /search`` (handed to the pool thread that answers)."""

    q: str
    k: int
    mode: str
    filters: Filters
    user: str | None
    facets: bool
    facet_depth: int
    facet_attr: list[str] | None
    explain: bool = False
    offset: int = 0
    sort: str = "relevance"
    sort_depth: int = SORT_DEPTH
    lang: str = "en"
    distinct: bool = False
    highlight: bool = False
    variants: bool = False
    variants_max: int = MAX_VARIANTS


@router.get("/search", response_model=SearchResponse, responses=OVERLOAD)
async def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=512, description="query text (any language)")],
    k: Annotated[int, Query(ge=1, le=200, description="hits per page")] = 10,
    offset: Annotated[
        int, Query(ge=0, le=MAX_WINDOW - 1, description=f"hits to skip (paging); offset + k <= {MAX_WINDOW}")
    ] = 0,
    sort: Annotated[
        str,
        Query(
            pattern="^(relevance|price_asc|price_desc)$",
            description="relevance (default), or price_asc / price_desc: the sort_depth most relevant products "
            "by price (unpriced last)",
        ),
    ] = "relevance",
    sort_depth: Annotated[
        int, Query(ge=1, le=MAX_WINDOW, description="how many of the most relevant products a price sort orders")
    ] = SORT_DEPTH,
    mode: Annotated[
        str,
        Query(
            pattern="^(hybrid|bm25|dense)$",
            description="hybrid (words and meaning fused; default), bm25 (words only) or dense (meaning only)",
        ),
    ] = "hybrid",
    category: Annotated[str | None, Query(description='category path prefix, e.g. "Menswear > Trousers"')] = None,
    brand: Brand = None,
    price_min: PriceMin = None,
    price_max: PriceMax = None,
    in_stock: InStock = False,
    attr: Attr = None,
    user: Annotated[str | None, Query(description="user id, for personalisation when known")] = None,
    facets: Annotated[
        bool, Query(description="also count categories, brands, price ranges and attributes of the results")
    ] = False,
    facet_depth: Annotated[
        int,
        Query(
            ge=1,
            le=1000,
            description="top results the facets count, besides every product holding all the query's words "
            "(`facets.matched`)",
        ),
    ] = DEPTH,
    facet_attr: Annotated[
        list[str] | None, Query(description="attribute keys to facet (default: a few with few values)")
    ] = None,
    lang: Annotated[
        str, Query(pattern="^(en|zh)$", description="language of the reasons and notices: en (default) or zh")
    ] = "en",
    explain: Annotated[
        bool,
        Query(
            description="why each hit is there: its match signals in `features` (word BM25, lexical, cosine) and "
            "a `reason` in words (query words found, meaning similarity, understood values it has)"
        ),
    ] = False,
    distinct: Annotated[
        bool, Query(description="one hit per product title: colour / size variants named alike show once")
    ] = False,
    variants: Variants = False,
    variants_max: VariantsMax = MAX_VARIANTS,
    highlight: Annotated[
        bool,
        Query(
            description="each hit's `highlight.title`: the title HTML-escaped with the words that matched the "
            "query in <em>...</em> (as Algolia's _highlightResult), and `highlight.description`: the stretch of "
            "the description holding the most of them (as _snippetResult), when it holds one"
        ),
    ] = False,
) -> Response:
    if is_blank(q):  # min_length=1 lets "   " (or a zero-width space) through: 10 arbitrary products
        raise invalid("q", "only whitespace")
    filters = parse_filters(category, brand, price_min, price_max, in_stock, attr)
    if facet_attr is not None and len(facet_attr) > MAX_FACET_KEYS:
        raise invalid("facet_attr", f"at most {MAX_FACET_KEYS} attribute keys (got {len(facet_attr)})")
    if offset + k > MAX_WINDOW:
        raise invalid(
            "offset", f"offset + k must be at most {MAX_WINDOW} (got {offset} + {k}): narrow the search with filters"
        )
    query = SearchQuery(
        q,
        k,
        mode,
        filters,
        user,
        facets,
        facet_depth,
        facet_attr,
        explain,
        offset,
        sort,
        sort_depth,
        lang,
        distinct,
        highlight,
        variants,
        variants_max,
    )
    return await answer(run_search, request.app.state.shelf, query)


def run_search(shelf: Shelf, p: SearchQuery) -> SearchResponse:
    """Search ``shelf`` (blocking: encoder, lexical and vector index) and build the response."""
    profiles = shelf.user_profiles
    user_vector = profiles.vector(p.user) if (profiles is not None and p.user) else None
    t0 = time.perf_counter()
    got = answer_search(
        shelf.searcher,
        p.q,
        p.k,
        p.filters,
        mode=p.mode,
        user_vector=user_vector,
        explain=p.explain,
        offset=p.offset,
        sort=p.sort,
        sort_depth=p.sort_depth,
        rules=shelf.rules,
        distinct=p.distinct,
        highlight=p.highlight,
    )
    counted = None
    if p.facets:
        counted = facet_search(
            shelf.searcher,
            p.q,
            p.filters,
            mode=p.mode,
            depth=p.facet_depth,
            attribute_keys=p.facet_attr,
            exclude=got.hidden,
            held=got.held,  # the rows the total read: holding_query once per request
        )
    took = (time.perf_counter() - t0) * 1000
    res, intent = got.results, got.intent
    shopper, setup = _personal_notices(shelf, p.user, user_vector is not None)
    notices = got.notices + shopper
    return SearchResponse(
        query=p.q,
        request_id=uuid.uuid4().hex,
        mode=p.mode,
        took_ms=round(took, 3),
        items=items_out(
            shelf.catalog,
            res,
            localise_all(got.reasons, p.lang),
            got.highlights,
            variants=p.variants,
            hidden=frozenset(got.hidden) if p.variants else frozenset(),  # read by the swatches only
            allowed=shelf.searcher.mask(got.filters) if p.variants else None,
            variants_max=p.variants_max,
        ),
        total=got.total,
        understood=UnderstoodOut.model_validate(intent.to_json()) if intent is not None else None,
        notices=[localise(n, p.lang) for n in notices],
        notice_codes=[code_of(n) for n in notices],
        setup_notices=got.setup_notices + setup,
        facets=FacetsOut.model_validate(asdict(counted)) if counted is not None else None,
        reranked_by=got.reranked_by,
        words_only=got.words_only,
        offset=p.offset,
        sort=p.sort,
        next_offset=got.next_offset,
        rules_applied=list(got.rules),
    )


@router.get("/suggest", response_model=SuggestResponse, responses=OVERLOAD)
async def suggest(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=128, description="what the shopper has typed so far")],
    k: Annotated[int, Query(ge=1, le=20, description="how many suggestions, at most")] = 8,
) -> Response:
    """Type-ahead: queries other shoppers typed and catalog phrases that start with ``q``."""
    return await answer(run_suggest, request.app.state.shelf, q, k)


@router.get("/suggest/examples", response_model=ExamplesResponse)
async def suggest_examples(
    request: Request, k: Annotated[int, Query(ge=1, le=MAX_EXAMPLES, description="how many examples")] = 3
) -> Response:
    """A few searches typical of this store, e.g. for the search box's hint."""
    return await answer(run_examples, request.app.state.shelf, k)


def run_examples(shelf: Shelf, k: int) -> ExamplesResponse:
    return ExamplesResponse(examples=shelf.suggestions().examples(shelf.catalog, k))


def run_suggest(shelf: Shelf, q: str, k: int) -> SuggestResponse:
    found = shelf.suggestions().suggest(q, k)
    return SuggestResponse(
        query=q, suggestions=[SuggestionOut(text=s.text, source=s.source, count=s.count) for s in found]
    )
