"""/recommend/* leave sold-out products out by default (a shopper cannot buy them); in_stock=false
lists them too; a catalog with no stock data (every product in stock) answers as before."""

from __future__ import annotations

import re
from dataclasses import replace

from fastapi.testclient import TestClient

from shelfwise.bandit import SlotConfig, SlotExplorer
from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.events import EventLog
from shelfwise.recommend import ALSConfig, HybridConfig, build_recommender
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf

SOLD_OUT = {"p3", "p7", "p8", "p10", "p11"}  # the belt bought with p1, the mat bought with p9, three tail items
PATHS = (
    ("/recommend/user/newbie", {}),  # the popular fallback
    ("/recommend/user/u2", {}),
    ("/recommend/user/u1", {}),
    ("/recommend/item/p1", {}),
    ("/recommend/cross/p1", {}),
    ("/recommend/session", {}),  # empty: popular items
    ("/recommend/session", {"item": "p1"}),
)


def _client(catalog: Catalog, log: EventLog, explore: bool) -> TestClient:
    enc = HashingEncoder(dim=128)
    shelf = Shelf(catalog=catalog, searcher=HybridSearcher.build(catalog, enc), events=log)
    config = HybridConfig(als=ALSConfig(factors=4, iterations=2))
    rec = build_recommender(catalog, log, enc.encode(catalog.texts()), config)  # same rows as tiny_catalog
    shelf.recommender, shelf.user_profiles = rec, rec.profiles
    if explore:  # most of each list explored, from the tail: a sold-out tail item would be drawn
        shelf.bandit = SlotExplorer(catalog, config=SlotConfig(explore_share=0.6, head_fraction=0.2, first_slot=1))
    return TestClient(create_app(shelf, warmup=False), base_url="http://localhost")


def _stocked(catalog: Catalog) -> Catalog:
    return Catalog([replace(p, in_stock=p.id not in SOLD_OUT) for p in catalog.products])


def test_recommendations_leave_sold_out_products_out_by_default(tiny_catalog: Catalog, tiny_log: EventLog) -> None:
    catalog = _stocked(tiny_catalog)
    for explore in (False, True):
        c = _client(catalog, tiny_log, explore)
        shown_all: set[str] = set()
        explored: set[str] = set()
        for path, params in PATHS:
            for _ in range(5 if explore else 1):  # exploration draws at random: several lists
                body = c.get(path, params={"k": 12, **params}).json()
                assert not {it["id"] for it in body["items"]} & SOLD_OUT, (path, params, body["items"])
                assert all(it["in_stock"] for it in body["items"])
                free = c.get(path, params={"k": 12, "in_stock": "false", **params}).json()["items"]
                shown_all |= {it["id"] for it in free}
                explored |= {it["id"] for it in free if it.get("explored")}
        assert shown_all & SOLD_OUT  # in_stock=false lists them (they rank: the test can tell)
        assert not explore or explored & SOLD_OUT  # and explored slots draw them
    c = _client(catalog, tiny_log, False)
    assert c.get("/recommend/user/newbie", params={"k": 2, "in_stock": "false"}).json()["items"][1]["id"] == "p3"
    assert c.get("/recommend/item/p1", params={"k": 1, "in_stock": "false"}).json()["items"][0]["id"] == "p3"
    empty = c.get("/recommend/cross/p9", params={"k": 5}).json()  # its one complement, the mat, is sold out
    assert (
        empty["items"] == []
        and empty["notice"] == "no complements from other categories (in-stock products only, by default)"
    )
    assert [it["id"] for it in c.get("/recommend/cross/p9", params={"k": 5, "in_stock": "false"}).json()["items"]] == [
        "p10"
    ]


def test_a_short_list_says_the_in_stock_filter_was_on(tiny_catalog: Catalog, tiny_log: EventLog) -> None:
    c = _client(_stocked(tiny_catalog), tiny_log, False)
    body = c.get("/recommend/cross/p1", params={"k": 5}).json()
    assert 0 < len(body["items"]) < 5 and body["notice_code"] == "short-list"
    assert body["notice"].endswith("(in-stock products only, by default)")


def test_a_catalog_without_stock_data_answers_as_before(tiny_catalog: Catalog, tiny_log: EventLog) -> None:
    """Every product in stock (no stock column): the default, in_stock=false and true give one answer,
    the short list's notice unchanged (no filter said)."""
    c = _client(tiny_catalog, tiny_log, False)
    for path, params in (*PATHS, ("/recommend/cross/p9", {})):
        got = {
            said: c.get(path, params={"k": 5, **params, **extra}).json()
            for said, extra in (("default", {}), ("off", {"in_stock": "false"}), ("on", {"in_stock": "true"}))
        }
        for body in got.values():
            body.pop("took_ms"), body.pop("request_id")
        assert got["default"] == got["off"] == got["on"], path
    cross = c.get("/recommend/cross/p9", params={"k": 5}).json()
    assert cross["notice"] == (
        "only 1 of the 5 asked for: no other product of another category shares baskets with it or with items like it"
    )


def test_openapi_says_recommend_routes_default_to_in_stock(tiny_catalog: Catalog, tiny_log: EventLog) -> None:
    paths = _client(tiny_catalog, tiny_log, False).get("/openapi.json").json()["paths"]
    for route in (
        "/recommend/user/{user_id}",
        "/recommend/item/{item_id}",
        "/recommend/cross/{item_id}",
        "/recommend/session",
    ):
        (param,) = [p for p in paths[route]["get"]["parameters"] if p["name"] == "in_stock"]
        assert param["schema"]["default"] is True and "sold-out" in param["description"]
    (search,) = [p for p in paths["/search"]["get"]["parameters"] if p["name"] == "in_stock"]
    assert search["schema"]["default"] is False  # search keeps them, after the in-stock ones


DEFAULT_STOCK = "in-stock products only, by default"


def test_the_notices_name_only_the_filters_in_force_and_how_they_were_set(
    tiny_catalog: Catalog, tiny_log: EventLog
) -> None:
    """A shopper who never sent in_stock was told 'in_stock=true matches none'; a category-only list
    on a catalog with no stock column was said to be under 'the category / in-stock filter'."""
    nothing = _client(Catalog([replace(p, in_stock=False) for p in tiny_catalog.products]), tiny_log, False)
    default = nothing.get("/recommend/item/p1", params={"k": 3}).json()
    assert default["items"] == [] and default["notice_code"] == "unmatched-filter"
    assert default["notice"] == (
        "no related items: no product is in stock (recommendations list in-stock products only by default; "
        "in_stock=false lists sold-out ones too)"
    )
    asked = nothing.get("/recommend/item/p1", params={"k": 3, "in_stock": "true"}).json()
    assert asked["notice"] == "no related items: no product is in stock, so in_stock=true matches none"
    zh = nothing.get("/recommend/item/p1", params={"k": 3, "lang": "zh"}).json()["notice"]
    assert (
        "in_stock=true" not in zh and "默认" in zh and not re.search(r"[a-z]{4,}", zh.replace("in_stock=false", ""))
    ), zh
    stocked = _client(_stocked(tiny_catalog), tiny_log, False)
    said = {
        name: stocked.get("/recommend/cross/p1", params={"k": 5, **extra}).json()["notice"]
        for name, extra in (
            ("default", {}),
            ("asked", {"in_stock": "true"}),
            ("category", {"category": "Men"}),
            ("category-asked", {"category": "Men", "in_stock": "true"}),
        )
    }
    assert said["default"].endswith(f" ({DEFAULT_STOCK})"), said
    assert said["asked"].endswith(" (with the in-stock filter)"), said
    assert said["category"].endswith(f" (with the category filter; {DEFAULT_STOCK})"), said
    assert said["category-asked"].endswith(" (with the category / in-stock filters)"), said
    zh_default = stocked.get("/recommend/cross/p1", params={"k": 5, "lang": "zh"}).json()["notice"]
    assert zh_default.endswith("（默认只列有货商品）") and not re.search(r"[a-z]{3,}", zh_default), zh_default
    every = _client(tiny_catalog, tiny_log, False)  # no stock column: no stock filter in force, none named
    body = every.get("/recommend/cross/p9", params={"k": 5, "category": "Men"}).json()
    assert body["items"] == [] and body["notice"] == "no complements from other categories (with the category filter)"
    zh_cat = every.get("/recommend/cross/p9", params={"k": 5, "category": "Men", "lang": "zh"}).json()["notice"]
    assert zh_cat.endswith("（在所选的品类筛选下）"), zh_cat
