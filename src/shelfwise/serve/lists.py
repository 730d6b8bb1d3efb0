"""What a /recommend/* list says besides its items: the filters it is drawn under (in stock only by
default) and, when it is empty or short, why, naming those filters. Request side, no transport: the
routes (:mod:`shelfwise.serve.routes.recommend`) parse, call these and format."""

from __future__ import annotations

from shelfwise.catalog.schema import Catalog, Filters
from shelfwise.notice import NO_RESULTS, SHORT_LIST, UNKNOWN_ITEMS, UNMATCHED_FILTER, Notice, code_of
from shelfwise.serve.params import MoreFilters, list_filters

EMPTY = {
    "user": "nothing to recommend to this shopper",
    "item": "no related items",
    "cross": "no complements from other categories",
    "session": "nothing to recommend for this session",
}
SHORT_CROSS = "no other product of another category shares baskets with it or with items like it"
DEFAULT_STOCK = "in-stock products only, by default"  # the in-stock filter the shopper did not send


def list_filters_of(catalog: Catalog, category: str | None, in_stock: bool | None, more: MoreFilters) -> Filters:
    """A recommendation list's filters: ``category``, the search filters in ``more``, and in stock only
    unless ``in_stock`` is false (None, not sent, is the routes' default: a shopper cannot buy a
    sold-out product; /search lists them instead, moved down its relevance order:
    :func:`~shelfwise.retrieve.stock.sold_out_last`). Where every product is in stock (a catalog with
    no stock column) there is nothing to leave out, and the filter is dropped: the list, its notices
    and its cost stay as they were before the default changed."""
    return list_filters(category, in_stock is not False and not catalog.all_in_stock, more)


def filters_said(filters: Filters, stock_default: bool = False) -> str:
    """The filters in force on a short or empty list, in words, and how the in-stock one was set:
    " (with the category / price filters; in-stock products only, by default)"; "" when none is
    (localised in ``wording_zh``)."""
    named = (
        ("category", bool(filters.category)),
        ("brand", bool(filters.brands)),
        ("price", filters.price_min is not None or filters.price_max is not None),
        ("attribute", bool(filters.attributes)),
        ("in-stock", filters.in_stock and not stock_default),
    )
    names = [name for name, on in named if on]
    said = [f"with the {' / '.join(names)} filter{'s' if len(names) > 1 else ''}"] if names else []
    said += [DEFAULT_STOCK] if filters.in_stock and stock_default else []
    return f" ({'; '.join(said)})" if said else ""


def short_cross(n: int, k: int, filters: Filters, stock_default: bool) -> Notice | None:
    """The notice of a /recommend/cross list of ``n`` (some, fewer than the ``k`` asked for); None otherwise."""
    if not 0 < n < k:
        return None
    return Notice(f"only {n} of the {k} asked for: {SHORT_CROSS}{filters_said(filters, stock_default)}", SHORT_LIST)


def empty_notice(
    catalog: Catalog, kind: str, filters: Filters | None, notice: Notice | None, stock_default: bool
) -> Notice:
    """Why a ``kind`` list (a key of :data:`EMPTY`) is empty: the filter part no product has
    (:meth:`~shelfwise.catalog.schema.Catalog.unmatched_filters`), else the filters in force, said;
    a /recommend/session ``notice`` of item ids left out is kept in front (they may be why). An empty
    list with no word reads like an outage, and a fallback's notice does not say why."""
    said, code = EMPTY[kind], NO_RESULTS
    if filters is not None and not filters.is_empty():
        why = catalog.unmatched_filters(filters, in_stock_by_default=stock_default)  # e.g. no such category
        said += ": " + "; ".join(why) if why else filters_said(filters, stock_default)
        code = UNMATCHED_FILTER if why else code
    if notice is not None and code_of(notice) == UNKNOWN_ITEMS:
        said, code = f"{notice}; {said}", UNKNOWN_ITEMS
    return Notice(said, code)
