"""A /recommend/* list's filters (in stock by default) and the words of an empty or short one."""

from __future__ import annotations

from dataclasses import replace

from shelfwise.catalog import Catalog
from shelfwise.catalog.schema import Filters
from shelfwise.notice import NO_RESULTS, SHORT_LIST, UNKNOWN_ITEMS, UNMATCHED_FILTER, Notice, code_of
from shelfwise.serve.lists import DEFAULT_STOCK, EMPTY, empty_notice, filters_said, list_filters_of, short_cross
from shelfwise.serve.params import MoreFilters


def _sold_out_one(catalog: Catalog) -> Catalog:
    return Catalog([replace(p, in_stock=i != 0) for i, p in enumerate(catalog.products)])


def test_in_stock_is_the_default_unless_every_product_is_in_stock(tiny_catalog: Catalog) -> None:
    some_sold_out = _sold_out_one(tiny_catalog)
    assert list_filters_of(some_sold_out, None, None, MoreFilters()).in_stock  # not sent: in stock only
    assert list_filters_of(some_sold_out, None, True, MoreFilters()).in_stock
    assert not list_filters_of(some_sold_out, None, False, MoreFilters()).in_stock
    assert list_filters_of(tiny_catalog, None, None, MoreFilters()).is_empty()  # nothing to leave out
    got = list_filters_of(some_sold_out, "A > B", None, MoreFilters(brand=["x"], price_max=5.0))
    assert (got.category, got.brands, got.price_max) == (("A", "B"), ("x",), 5.0)


def test_only_the_filters_in_force_are_named() -> None:
    assert filters_said(Filters()) == ""
    assert filters_said(Filters(in_stock=True)) == " (with the in-stock filter)"
    assert filters_said(Filters(in_stock=True), stock_default=True) == f" ({DEFAULT_STOCK})"
    two = Filters(category=("A",), price_min=1.0, in_stock=True)
    assert filters_said(two, stock_default=True) == f" (with the category / price filters; {DEFAULT_STOCK})"


def test_a_cross_list_is_short_only_with_some_but_fewer_than_asked() -> None:
    assert short_cross(0, 10, Filters(), False) is None and short_cross(10, 10, Filters(), False) is None
    said = short_cross(3, 10, Filters(category=("A",)), False)
    assert said is not None and code_of(said) == SHORT_LIST
    assert str(said).startswith("only 3 of the 10 asked for: ") and str(said).endswith("(with the category filter)")


def test_an_empty_list_says_which_filter_matches_nothing(tiny_catalog: Catalog) -> None:
    plain = empty_notice(tiny_catalog, "item", None, None, False)
    assert (str(plain), code_of(plain)) == (EMPTY["item"], NO_RESULTS)
    nowhere = empty_notice(tiny_catalog, "user", Filters(category=("Nowhere",)), None, False)
    assert code_of(nowhere) == UNMATCHED_FILTER and "'Nowhere'" in str(nowhere)
    left_out = Notice("unknown item ids left out: 'zz'", UNKNOWN_ITEMS)
    kept = empty_notice(tiny_catalog, "session", None, left_out, False)
    assert code_of(kept) == UNKNOWN_ITEMS and str(kept) == f"{left_out}; {EMPTY['session']}"
