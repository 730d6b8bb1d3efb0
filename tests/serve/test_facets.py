"""Facet counts (shelfwise.retrieve.facets) and /search?facets=true, on the tiny made-up catalog."""

from __future__ import annotations

import numpy as np
import pytest
from _servekit import MakeClient

from shelfwise.catalog import Catalog, Filters
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.facets import default_attribute_keys, facet_counts, facet_search, nice_number, price_edges


def _counts(values: tuple) -> dict[str, int]:  # type: ignore[type-arg]
    return {v.value: v.count for v in values}


def test_counts_over_every_row(tiny_catalog: Catalog) -> None:
    rows = np.arange(len(tiny_catalog))
    f = facet_counts(tiny_catalog, rows, Filters(), ["colour"])
    assert f.depth == 12 and f.priced == 12
    assert _counts(f.category) == {"Men": 5, "Women": 4, "Kids": 1, "Sport": 2}
    assert _counts(f.brand)["Acme"] == 4 and _counts(f.attributes["colour"])["Black"] == 4
    assert sum(r.count for r in f.price) >= 12 and f.price[0].min is None and f.price[-1].max is None


def test_counts_are_disjunctive_and_match_the_filters(tiny_catalog: Catalog) -> None:
    rows = np.arange(len(tiny_catalog))
    sel = Filters(category=("Men",), brands=("acme",), attributes=(("colour", "Black"),))
    f = facet_counts(tiny_catalog, rows, sel, ["colour"])
    assert f.category_path == ("Men",)
    # next level under Men, among Acme + black products
    assert _counts(f.category) == {"Trousers": 2, "Accessories": 1}
    # brand counted over Men + black (not narrowed by the brand pick itself); the pick is marked
    assert _counts(f.brand) == {"Acme": 3} and f.brand[0].selected
    # colour over Men + Acme: black 3, white 1
    assert _counts(f.attributes["colour"]) == {"Black": 3, "White": 1}
    # every count equals what picking that value returns among the rows
    mask = tiny_catalog.mask(sel)
    assert mask is not None and int(mask.sum()) == 3
    for r in f.price:
        narrowed = Filters(sel.category, sel.brands, r.min, r.max, attributes=sel.attributes)
        m = tiny_catalog.mask(narrowed)
        assert m is not None and int(m.sum()) == r.count


def test_selected_value_absent_from_results_is_kept() -> None:
    from shelfwise.catalog import Product

    cat = Catalog([Product("a", "Jeans", brand="Acme"), Product("b", "Dress", brand="Flora")])
    f = facet_counts(cat, np.array([0]), Filters(brands=("Nordic",)), [])
    assert [(v.value, v.count, v.selected) for v in f.brand] == [("Acme", 1, False), ("Nordic", 0, True)]
    assert f.price == () and f.priced == 0  # no prices: no ranges


def test_price_edges_are_rounded_and_inside() -> None:
    assert nice_number(0.0247) == 0.025 and nice_number(37) == 40 and nice_number(0) == 0
    edges = price_edges(np.array([0.0085, 0.015, 0.017, 0.024, 0.025, 0.03, 0.05, 0.25, np.nan]))
    assert edges == sorted(set(edges)) and all(0.0085 < e < 0.25 for e in edges) and len(edges) >= 2
    assert price_edges(np.array([5.0, 5.0, 5.0])) == [] and price_edges(np.array([1.0])) == []


def test_default_attribute_keys(tiny_catalog: Catalog) -> None:
    assert default_attribute_keys(tiny_catalog) == ("colour",)


def test_facet_search_uses_the_query(tiny_searcher: HybridSearcher) -> None:
    f = facet_search(tiny_searcher, "dress", Filters(), mode="bm25", depth=50)
    assert f.category[0].value == "Women" and f.depth < 12  # bm25: the matching rows only


def test_search_route_returns_facets(make_client: MakeClient) -> None:
    c = make_client()
    body = c.get("/search", params={"q": "black", "mode": "bm25", "facets": "true", "category": "Men"}).json()
    f = body["facets"]
    assert f["category_path"] == ["Men"] and {v["value"] for v in f["category"]} <= {
        "Trousers",
        "Accessories",
        "Shirts",
    }
    assert f["attributes"]["colour"] and f["depth"] >= len(body["items"])
    assert all(set(r) == {"min", "max", "count", "selected"} for r in f["price"])
    assert "facets" not in c.get("/search?q=black").json() or c.get("/search?q=black").json()["facets"] is None
    one = c.get("/search", params={"q": "black", "facets": "true", "facet_attr": "nope"}).json()["facets"]
    assert one["attributes"] == {"nope": []}
    r = c.get("/search", params=[("q", "x"), ("facets", "true"), *[("facet_attr", f"k{i}") for i in range(11)]])
    assert r.status_code == 422


@pytest.mark.parametrize("k", [1, 5])
def test_items_carry_image_and_stock(make_client: MakeClient, k: int) -> None:
    items = make_client().get(f"/search?q=dress&k={k}").json()["items"]
    assert len(items) == k and all(it["image"] is None and it["in_stock"] is True for it in items)


def test_facets_count_every_product_holding_the_words(tiny_searcher: HybridSearcher) -> None:
    f = facet_search(tiny_searcher, "black", Filters(), depth=1)  # the top 1 alone, plus every "black" product
    held = [p.id for p in tiny_searcher.catalog.products if "black" in p.text().lower()]
    assert f.matched == len(held) >= 4 and f.depth >= f.matched
    assert sum(v.count for v in f.category) == f.depth  # every counted product has a top-level category
    under = facet_search(tiny_searcher, "black under 40", Filters(), depth=1)  # the query's price applies
    assert under.matched < f.matched
    assert facet_search(tiny_searcher, "zzzqqq", Filters(), depth=3).matched == 0  # no word held: the top 3 only


def test_the_openapi_says_what_facets_count(make_client: MakeClient) -> None:
    api = make_client().get("/openapi.json").json()
    param = next(p for p in api["paths"]["/search"]["get"]["parameters"] if p["name"] == "facet_depth")
    assert "holding all the query's words" in param["description"]
    assert (
        "holding all the query's words"
        in api["components"]["schemas"]["FacetsOut"]["properties"]["depth"]["description"]
    )


def test_in_stock_facets_leave_out_what_is_not_in_stock() -> None:
    from shelfwise.catalog import Product
    from shelfwise.encode.hashing import HashingEncoder

    products = [Product(f"b{i}", f"Black coat {i}", in_stock=i % 3 != 0) for i in range(9)]
    searcher = HybridSearcher.build(Catalog([*products, Product("w", "White coat")]), HashingEncoder(dim=64))
    assert facet_search(searcher, "black", Filters(), depth=1).matched == 9
    assert facet_search(searcher, "black", Filters(in_stock=True), depth=1).matched == 6


def test_a_dense_searcher_counts_its_own_top_only(tiny_searcher: HybridSearcher) -> None:
    import dataclasses

    dense = dataclasses.replace(tiny_searcher.config, mode="dense")
    saved, tiny_searcher.config = tiny_searcher.config, dense
    try:
        assert facet_search(tiny_searcher, "black", Filters(), depth=2).matched == 0  # mode None: the searcher's
    finally:
        tiny_searcher.config = saved


def test_values_of_one_attribute_are_alternatives(make_client: MakeClient, tiny_catalog: Catalog) -> None:
    """attr=colour:Black&attr=colour:White answered [] with no notice (a product has one colour, and
    the values were ANDed), while repeated brands are alternatives and the facet counts, disjunctive,
    showed White's count beside a selected Black as what picking it would add."""
    c = make_client()
    colour = {p.id: p.attributes["colour"] for p in tiny_catalog.products}
    both = c.get("/search", params=[("q", "dress"), ("k", 20), ("attr", "colour:Black"), ("attr", "colour:white")])
    ids = [it["id"] for it in both.json()["items"]]
    assert ids and {colour[i] for i in ids} == {"Black", "White"}
    one = {it["id"] for it in c.get("/search", params={"q": "dress", "k": 20, "attr": "colour:Black"}).json()["items"]}
    assert one < set(ids)
    facets = c.get(
        "/search", params=[("q", "dress"), ("facets", "true"), ("attr", "colour:Black"), ("attr", "colour:White")]
    ).json()["facets"]
    assert {v["value"] for v in facets["attributes"]["colour"] if v["selected"]} == {"Black", "White"}
    # keys still combine: Black or White, and in Women
    women = c.get(
        "/search",
        params=[("q", "dress"), ("k", 20), ("attr", "colour:Black"), ("attr", "colour:White"), ("category", "Women")],
    )
    assert all(it["category"][0] == "Women" for it in women.json()["items"])
    # an empty answer names a key only when none of its values exists
    gone = c.get("/search", params=[("q", "dress"), ("attr", "colour:Black"), ("attr", "colour:Mauve")]).json()
    assert gone["items"] and not gone["notices"]
    none = c.get("/search", params=[("q", "dress"), ("attr", "colour:Teal"), ("attr", "colour:Mauve")]).json()
    assert none["items"] == [] and none["notices"] == ["no product has colour 'Teal' or 'Mauve'"]
