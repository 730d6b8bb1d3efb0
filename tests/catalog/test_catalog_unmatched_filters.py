"""``Catalog.unmatched_filters``: an empty result says which filter no product matches, and what exists."""

from __future__ import annotations

from shelfwise.catalog import Catalog, Product
from shelfwise.catalog.schema import Filters


def test_each_unmatched_part_is_named_with_what_exists(tiny_catalog: Catalog) -> None:
    why = tiny_catalog.unmatched_filters(Filters(category=("Mens",)))
    assert why == ["no product is in category 'Mens'; top-level categories: Kids, Men, Sport, Women"]
    why = tiny_catalog.unmatched_filters(Filters(category=("men", "Jeans")))
    assert why == ["no product is in category 'men > Jeans'; there: Accessories, Shirts, Trousers"]
    # a "/" path (the file format's other spelling) gets the API's separator
    why = tiny_catalog.unmatched_filters(Filters(category=("Men/Trousers",)))
    assert why == ['no product is in category \'Men/Trousers\' (levels are separated by " > ", e.g. "Men > Trousers")']
    assert tiny_catalog.unmatched_filters(Filters(brands=("Levis", "Wrangler"))) == [
        "no product has brand 'Levis' or 'Wrangler'"
    ]
    assert tiny_catalog.unmatched_filters(Filters(attributes=(("color", "Black"),))) == [
        "no product has attribute 'color' (attributes here: colour)"
    ]
    assert tiny_catalog.unmatched_filters(Filters(attributes=(("colour", "Blackish"),))) == [
        "no product has colour 'Blackish'"
    ]
    both = tiny_catalog.unmatched_filters(Filters(category=("Nope",), brands=("Levis",)))
    assert len(both) == 2 and both[0].startswith("no product is in category 'Nope'")


def test_matching_parts_say_nothing(tiny_catalog: Catalog) -> None:
    # every part exists (case-insensitively, as the filter matches); their combination may still be empty
    f = Filters(category=("women", "dresses"), brands=("acme", "Nobody"), attributes=(("colour", "black"),))
    assert tiny_catalog.unmatched_filters(f) == []
    assert tiny_catalog.unmatched_filters(Filters(price_min=19.0, price_max=20.0, in_stock=True)) == []
    m = tiny_catalog.mask(Filters(category=("Women",), brands=("Acme",)))
    assert m is not None and not m.any() and tiny_catalog.unmatched_filters(Filters(category=("Women",))) == []


def test_price_or_stock_filter_on_a_catalog_without_them_is_named() -> None:
    # a titles-only catalog (Home Depot's: no price column) answered price_max=10 with 0 hits and no notice
    bare = Catalog([Product(id="a", title="cordless drill", in_stock=False), Product(id="b", title="hammer")])
    assert bare.unmatched_filters(Filters(price_min=5.0)) == [
        "no product has a price, so a price filter matches none (map a price column with --fields)"
    ]
    assert bare.unmatched_filters(Filters(in_stock=True)) == []  # "b" is in stock
    none_stocked = Catalog([Product(id="a", title="drill", price=9.0, in_stock=False)])
    assert none_stocked.unmatched_filters(Filters(in_stock=True, price_max=10.0)) == [
        "no product is in stock, so in_stock=true matches none"
    ]


def test_a_price_range_no_product_falls_in_is_named_with_the_prices_there_are(tiny_catalog: Catalog) -> None:
    # price_min=5000 answered 0 hits and no notice
    assert tiny_catalog.unmatched_filters(Filters(price_min=5000.0)) == [
        "no product costs 5,000 or more (prices here: 19 to 99)"
    ]
    why = tiny_catalog.unmatched_filters
    assert why(Filters(price_max=1.0)) == ["no product costs 1 or less (prices here: 19 to 99)"]
    assert tiny_catalog.unmatched_filters(Filters(price_min=1.0, price_max=2.5)) == [
        "no product costs 1 to 2.50 (prices here: 19 to 99)"
    ]
    assert why(Filters(price_max=0.0)) == ["no product costs 0 or less (prices here: 19 to 99)"]


def test_the_level_separator_hint_shows_the_catalogs_own_path() -> None:
    home = Catalog([Product(id="a", title="pan", category=("Home", "Kitchen", "Pans"))])
    assert home.unmatched_filters(Filters(category=("Home/Kitchen",))) == [
        'no product is in category \'Home/Kitchen\' (levels are separated by " > ", e.g. "Home > Kitchen")'
    ]
