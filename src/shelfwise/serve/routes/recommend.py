"""GET /recommend/user/{id}, /recommend/item/{id}, /recommend/cross/{id}, /recommend/session.

Reads ``shelf.recommender`` (a :class:`shelfwise.recommend.HybridRecommender`) and ``shelf.bandit``.
Parses, calls the recommender, formats; each item carries its reason. A response says in
``notice`` when it is a fallback (an unknown user gets popular items). Lists hold in-stock products
only unless ``in_stock=false``; an empty or short list says why (:mod:`shelfwise.serve.lists`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from shelfwise.catalog.schema import Filters
from shelfwise.catalog.variants import MAX_VARIANTS
from shelfwise.notice import NOT_PERSONALISED, Notice, code_of
from shelfwise.notice import TEXT_ONLY as TEXT_ONLY_CODE
from shelfwise.recommend.base import Recommendation
from shelfwise.recommend.between import said_live
from shelfwise.recommend.content import similar_by_text
from shelfwise.recommend.explore import is_explored
from shelfwise.recommend.hybrid import HybridRecommender
from shelfwise.recommend.session_answer import answer_session
from shelfwise.serve import examples as ex
from shelfwise.serve.convert import items_out
from shelfwise.serve.error_docs import NEEDS_RECOMMENDER, UNKNOWN_ITEM
from shelfwise.serve.examples import exemplified
from shelfwise.serve.impressions import explore_logged
from shelfwise.serve.lists import empty_notice, list_filters_of, short_cross
from shelfwise.serve.params import (
    InStockOnly,
    ItemId,
    MoreFilters,
    Variants,
    VariantsMax,
    invalid,
    more_filters,
)
from shelfwise.serve.respond import NO_RECOMMENDER, answer
from shelfwise.serve.schemas import ItemOut
from shelfwise.shelf import Shelf
from shelfwise.wording_zh import localise

router = APIRouter(prefix="/recommend", tags=["recommend"])

K = Annotated[int, Query(ge=1, le=200, description="how many items to answer (at most; fewer when fewer qualify)")]
Lang = Annotated[str, Query(pattern="^(en|zh)$", description="language of the reasons and notice: en (default) or zh")]
UNKNOWN_USER = Notice("unknown user: popular items", NOT_PERSONALISED)
ABOUT_ITEM = {**UNKNOWN_ITEM, **NEEDS_RECOMMENDER}
Category = Annotated[str | None, Query(description='category path prefix, e.g. "Menswear > Trousers"')]
More = Annotated[MoreFilters, Depends(more_filters)]  # brand, price_min, price_max, attr: as /search
NO_MORE = MoreFilters()
Live = Annotated[
    bool | None,
    Query(
        description="whether the shopper is in a session now: true fuses the list with the in-session weights "
        "(the next click), false with the between-sessions ones (the next order, from the history alone); unset: "
        "in session while the shopper's latest event is at most HybridConfig.idle_minutes (30) old"
    ),
]


class RecommendResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra=exemplified(ex.RECOMMEND))

    kind: str = Field(description="user, item, cross or session")
    id: str = Field(description="the user or item id asked about (session: its item ids joined by ',', or q)")
    took_ms: float = Field(description="server time, in milliseconds")
    items: list[ItemOut] = Field(description="recommended products, best first, each with its reason")
    notice: str | None = Field(None, description="a fallback or short list, in words (in lang); null otherwise")
    notice_code: str | None = Field(
        None,
        description="the notice's stable code (its text changes with lang): not-personalised (popular items "
        "instead: unknown shopper, empty session), unmatched-filter, no-results, short-list, text-only, "
        "unknown-items (/recommend/session: item ids the catalog lacks were left out)",
    )
    request_id: str = Field(
        description="this answer's id (32 hex digits, new per request, as /search's): send it as request_id with "
        "the events of a click, cart or purchase made from this list (POST /events) for exact attribution; on "
        "/recommend/user a list with explored slots is logged under it (with --impression-log) for off-policy "
        "evaluation (`shelfwise ope --impressions`)",
    )
    logged: bool | None = Field(
        default=None,
        description="/recommend/user: whether this list was queued to the impression log under request_id (it "
        "explored and was in the log's random sample; a full queue can still drop it, counted in /metrics); "
        "null on other routes",
    )


TEXT_ONLY = Notice(
    "no recommender in this shelf (built without behaviour history): related by text similarity only", TEXT_ONLY_CODE
)


def _in(lang: str, work: Callable[..., RecommendResponse], *args: Any) -> RecommendResponse:
    """``work(*args)``'s response with its reasons and notice in ``lang``."""
    out = work(*args)
    if lang == "en":
        return out
    items = [it.model_copy(update={"reason": localise(it.reason, lang)}) for it in out.items]
    return out.model_copy(update={"items": items, "notice": localise(out.notice, lang) if out.notice else None})


def _recommender(shelf: Shelf) -> HybridRecommender:
    rec = shelf.recommender
    if rec is None:
        raise HTTPException(
            503,
            "no recommender on this server: build the shelf with `shelfwise index ... --events FILE` (it saves one), "
            "or serve with `--events FILE` (behaviour history) or `--recommender DIR` "
            "(saved by `shelfwise recommend ... --save DIR`)",
            headers=NO_RECOMMENDER,
        )
    return rec


def _stock(request: Request, in_stock: bool) -> bool | None:
    """``in_stock`` as the shopper sent it, None when not sent (the default: in stock only)."""
    return in_stock if "in_stock" in request.query_params else None


def _row(shelf: Shelf, item_id: str) -> int:
    row = shelf.catalog.get_row(item_id)
    if row is None:
        raise HTTPException(404, f"unknown item id {item_id!r}")
    return row


def _out(
    shelf: Shelf,
    kind: str,
    ident: str,
    rec: Recommendation,
    t0: float,
    notice: Notice | None = None,
    filters: Filters | None = None,
    variants: bool = False,
    variants_max: int = MAX_VARIANTS,
    request_id: str | None = None,
    stock_default: bool = False,
) -> RecommendResponse:
    """The response; an empty list says why, naming the ``filters`` in force (``stock_default``: the
    in-stock one is the default, not sent)."""
    took = round((time.perf_counter() - t0) * 1000, 3)
    explored = frozenset(r for r, why in zip(rec.ids.tolist(), rec.reasons, strict=True) if is_explored(why))
    allowed = shelf.searcher.mask(filters) if variants else None  # variants the filters exclude: greyed swatches
    items = items_out(
        shelf.catalog,
        rec.results,
        rec.reasons,
        explored=explored,
        variants=variants,
        allowed=allowed,
        variants_max=variants_max,
    )
    if not items:
        notice = empty_notice(shelf.catalog, kind, filters, notice, stock_default)
    said_code = code_of(notice) if notice is not None else None
    rid = request_id or uuid.uuid4().hex
    return RecommendResponse(
        kind=kind, id=ident, took_ms=took, items=items, notice=notice, notice_code=said_code, request_id=rid
    )


@router.get("/user/{user_id:path}", response_model=RecommendResponse, responses=NEEDS_RECOMMENDER)
async def for_user(
    request: Request,
    user_id: Annotated[str, Path(description="the shopper's id, as in events (no history yet: popular items)")],
    k: K = 10,
    category: Category = None,
    in_stock: InStockOnly = True,
    exclude_seen: Annotated[bool, Query(description="leave out items in the shopper's history")] = True,
    explore: Annotated[bool, Query(description="give a share of slots to new/long-tail items (bandit)")] = True,
    live: Live = None,
    lang: Lang = "en",
    variants: Variants = False,
    variants_max: VariantsMax = MAX_VARIANTS,
    more: More = NO_MORE,
) -> Response:
    """Personalised; an unknown user (no history) gets popular items (cold start), and the response
    says so in ``notice``. When a bandit is loaded (``shelf.bandit``) and ``explore`` is true, some
    lower slots explore long-tail items. ``live`` says whether the shopper is in a session now."""
    shelf = request.app.state.shelf
    return await answer(
        _in,
        lang,
        _for_user,
        shelf,
        user_id,
        k,
        category,
        _stock(request, in_stock),
        exclude_seen,
        explore,
        live,
        variants,
        variants_max,
        more,
    )


def _for_user(
    shelf: Shelf,
    user_id: str,
    k: int,
    category: str | None,
    in_stock: bool | None,
    exclude_seen: bool,
    explore: bool,
    live: bool | None,
    variants: bool,
    variants_max: int,
    more: MoreFilters = NO_MORE,
) -> RecommendResponse:
    rec = _recommender(shelf)
    if not user_id.strip():
        raise invalid("user_id", "blank (no user id)", "path")
    filters = list_filters_of(shelf.catalog, category, in_stock, more)
    t0 = time.perf_counter()
    explorer = shelf.bandit
    request_id = uuid.uuid4().hex
    out: Recommendation
    logged = False
    if explore and explorer is not None:
        out, logged = explore_logged(
            shelf, rec, explorer, request_id, user_id, k, filters, exclude_seen=exclude_seen, live=live
        )
    else:
        out = rec.recommend(said_live(rec, user_id, live), k, filters, exclude_seen=exclude_seen)
    known = rec.profiles is not None and user_id in rec.profiles
    said = _out(
        shelf,
        "user",
        user_id,
        out,
        t0,
        None if known else UNKNOWN_USER,
        filters,
        variants,
        variants_max,
        request_id,
        stock_default=in_stock is None,
    )
    said.logged = logged
    return said


def _about_item(
    shelf: Shelf,
    kind: str,
    item_id: str,
    k: int,
    category: str | None,
    in_stock: bool | None,
    variants: bool,
    variants_max: int,
    more: MoreFilters = NO_MORE,
) -> RecommendResponse:
    if kind == "item" and shelf.recommender is None:  # day one, no behaviour yet: related by text alone
        row = _row(shelf, item_id)
        filters = list_filters_of(shelf.catalog, category, in_stock, more)
        t0 = time.perf_counter()
        mask = shelf.searcher.mask(filters)
        out = similar_by_text(shelf.searcher.dense.index, shelf.catalog, row, k, mask)
        return _out(
            shelf, kind, item_id, out, t0, TEXT_ONLY, filters, variants, variants_max, stock_default=in_stock is None
        )
    rec = _recommender(shelf)
    row = _row(shelf, item_id)
    filters = list_filters_of(shelf.catalog, category, in_stock, more)
    t0 = time.perf_counter()
    out = rec.similar(row, k, filters) if kind == "item" else rec.cross(row, k, filters)
    short = short_cross(len(out.results), k, filters, in_stock is None) if kind == "cross" else None
    return _out(shelf, kind, item_id, out, t0, short, filters, variants, variants_max, stock_default=in_stock is None)


@router.get("/item/{item_id:path}", response_model=RecommendResponse, responses=ABOUT_ITEM)
async def related(
    request: Request,
    item_id: ItemId,
    k: K = 10,
    category: Category = None,
    in_stock: InStockOnly = True,
    lang: Lang = "en",
    variants: Variants = False,
    variants_max: VariantsMax = MAX_VARIANTS,
    more: More = NO_MORE,
) -> Response:
    """Related items: bought together, similar taste, similar text."""
    shelf, stock = request.app.state.shelf, _stock(request, in_stock)
    return await answer(
        _in, lang, _about_item, shelf, "item", item_id, k, category, stock, variants, variants_max, more
    )


@router.get("/cross/{item_id:path}", response_model=RecommendResponse, responses=ABOUT_ITEM)
async def cross(
    request: Request,
    item_id: ItemId,
    k: K = 10,
    category: Category = None,
    in_stock: InStockOnly = True,
    lang: Lang = "en",
    variants: Variants = False,
    variants_max: VariantsMax = MAX_VARIANTS,
    more: More = NO_MORE,
) -> Response:
    """Complements from other categories (not look-alikes)."""
    shelf, stock = request.app.state.shelf, _stock(request, in_stock)
    return await answer(
        _in, lang, _about_item, shelf, "cross", item_id, k, category, stock, variants, variants_max, more
    )


@router.get("/session", response_model=RecommendResponse, responses=NEEDS_RECOMMENDER)
async def session(
    request: Request,
    item: Annotated[
        list[str] | None, Query(description="item ids viewed/bought in this session, oldest first (order counts)")
    ] = None,
    q: Annotated[str, Query(max_length=512, description="what the shopper searched for")] = "",
    k: K = 10,
    category: Category = None,
    in_stock: InStockOnly = True,
    exclude_seen: Annotated[bool, Query(description="leave out the session's own items")] = True,
    lang: Lang = "en",
    variants: Variants = False,
    variants_max: VariantsMax = MAX_VARIANTS,
    more: More = NO_MORE,
) -> Response:
    """Cold-start shopper: recommendations from the session's items and/or query text
    (``exclude_seen=false`` lets the session's items be recommended again)."""
    shelf = request.app.state.shelf
    return await answer(
        _in,
        lang,
        _session,
        shelf,
        item or [],
        q,
        k,
        category,
        _stock(request, in_stock),
        exclude_seen,
        variants,
        variants_max,
        more,
    )


def _session(
    shelf: Shelf,
    item: list[str],
    q: str,
    k: int,
    category: str | None,
    in_stock: bool | None,
    exclude_seen: bool,
    variants: bool,
    variants_max: int,
    more: MoreFilters = NO_MORE,
) -> RecommendResponse:
    rec = _recommender(shelf)
    filters = list_filters_of(shelf.catalog, category, in_stock, more)
    t0 = time.perf_counter()
    try:
        got = answer_session(rec, shelf.catalog, item, k, filters, query=q, exclude_seen=exclude_seen)
    except ValueError as exc:  # a query this recommender cannot read (built without an encoder)
        raise invalid("q", str(exc)) from exc
    return _out(
        shelf,
        "session",
        ",".join(item) or q,
        got.recommendation,
        t0,
        got.notice,
        filters,
        variants,
        variants_max,
        stock_default=in_stock is None,
    )
