"""HTTP routes for recommendations, on the tiny fixtures."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from shelfwise.bandit import SlotConfig, SlotExplorer
from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import ALSConfig, HybridConfig, build_recommender
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf


def client(catalog: Catalog, searcher: HybridSearcher, log: EventLog, with_recommender: bool = True) -> TestClient:
    shelf = Shelf(catalog=catalog, searcher=searcher, events=log)
    if with_recommender:
        enc = HashingEncoder(dim=128)
        rec = build_recommender(
            catalog, log, enc.encode(catalog.texts()), HybridConfig(als=ALSConfig(factors=4, iterations=2)), encoder=enc
        )
        shelf.recommender = rec
        shelf.user_profiles = rec.profiles
    return TestClient(create_app(shelf), base_url="http://localhost")


def test_recommend_routes(tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog) -> None:
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    r = c.get("/recommend/user/u2", params={"k": 4})
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 4 and all(it["reason"] for it in items)
    assert not {it["id"] for it in items} & {"p5", "p6", "p12"}  # seen items excluded
    r = c.get("/recommend/item/p1", params={"k": 2})
    assert r.json()["items"][0]["id"] == "p3"
    assert r.json()["items"][0]["reason"] == "bought together with Black slim trousers (2 times)"
    r = c.get("/recommend/cross/p9", params={"k": 5})
    # complements from other categories than the seed's own (Sport > Shoes): the yoga mat bought with them
    assert r.status_code == 200 and [it["id"] for it in r.json()["items"]] == ["p10"]
    assert all(it["category"] != ["Sport", "Shoes"] for it in r.json()["items"])
    r = c.get("/recommend/user/newbie", params={"k": 2})
    assert [it["id"] for it in r.json()["items"]] == ["p1", "p3"]
    assert r.json()["items"][0]["reason"].startswith("popular in")
    r = c.get("/recommend/session", params={"q": "yoga exercise mat", "k": 3})
    assert "p10" in [it["id"] for it in r.json()["items"]]
    r = c.get("/recommend/user/u2", params={"category": "Men", "k": 3})
    assert all(it["category"][0] == "Men" for it in r.json()["items"])


def test_recommend_lists_carry_each_items_variants_when_asked() -> None:
    """One item per title (the default), and with variants=true the other colours' ids, for swatches."""
    products = [Product(id=f"v{i}", title="Strap top", attributes={"colour": c}) for i, c in enumerate("ABC")]
    catalog = Catalog([*products, Product(id="b", title="Belt"), Product(id="s", title="Scarf")])
    events = [Event(f"u{n}", EventType.PURCHASE, float(n), f"v{n % 3}") for n in range(9)]
    events += [Event("u0", EventType.PURCHASE, 20.0, "b"), Event("u1", EventType.PURCHASE, 21.0, "s")]
    c = client(catalog, HybridSearcher.build(catalog, HashingEncoder(dim=128)), EventLog.from_events(events, catalog))
    plain = c.get("/recommend/user/newcomer", params={"k": 5}).json()["items"]
    assert [it["title"] for it in plain].count("Strap top") == 1 and all(it["variants"] is None for it in plain)
    for path in ("/recommend/user/newcomer", "/recommend/session?item=b", "/recommend/item/b"):
        items = c.get(path, params={"k": 5, "variants": "true"}).json()["items"]
        top = next(it for it in items if it["title"] == "Strap top")
        assert sorted([top["id"], *(v["id"] for v in top["variants"])]) == ["v0", "v1", "v2"]
        assert all(it["variants"] == [] for it in items if it["title"] != "Strap top")
        assert top["variant_label"] == catalog.products[catalog.row(top["id"])].attributes["colour"]
        assert sorted(v["label"] for v in top["variants"]) == sorted(set("ABC") - {top["variant_label"]})


def test_recommend_variants_say_whether_they_pass_the_filters() -> None:
    """in_stock=true: a sold-out colour is still a swatch of the product, flagged matches=false."""
    stock = {"v0": True, "v1": False, "v2": True}
    products = [
        Product(id=f"v{i}", title="Strap top", category=("Tops",), attributes={"colour": c}, in_stock=stock[f"v{i}"])
        for i, c in enumerate("ABC")
    ]
    catalog = Catalog([*products, Product(id="b", title="Belt", category=("Belts",))])
    events = [Event(f"u{n}", EventType.PURCHASE, float(n), f"v{n % 3}") for n in range(9)]
    events += [Event(f"u{n}", EventType.PURCHASE, 20.0 + n, "b") for n in range(3)]
    c = client(catalog, HybridSearcher.build(catalog, HashingEncoder(dim=128)), EventLog.from_events(events, catalog))
    for path in ("/recommend/user/newcomer", "/recommend/item/b"):
        items = c.get(path, params={"k": 5, "variants": "true", "in_stock": "true"}).json()["items"]
        top = next(it for it in items if it["title"] == "Strap top")
        assert top["id"] != "v1" and {v["id"]: v["matches"] for v in top["variants"]} == {
            x: stock[x] for x in ("v0", "v1", "v2") if x != top["id"]
        }
        free = c.get(path, params={"k": 5, "variants": "true", "in_stock": "false"}).json()["items"]
        assert all(v["matches"] for it in free for v in it["variants"])


def test_recommend_errors(tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog) -> None:
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    assert c.get("/recommend/item/nope").status_code == 404
    assert c.get("/recommend/user/u1", params={"k": 0}).status_code == 422
    bare = client(tiny_catalog, tiny_searcher, tiny_log, with_recommender=False)
    r = bare.get("/recommend/user/u1")
    assert r.status_code == 503 and "`shelfwise index ... --events FILE`" in r.json()["detail"]  # the shelf way first
    assert "`shelfwise index ... --events FILE`" in bare.get("/shoppers").json()["notice"]


def test_unknown_user_notice_and_session_exclude_seen(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    r = c.get("/recommend/user/newbie", params={"k": 2})
    assert r.json()["notice"] == "unknown user: popular items"
    assert c.get("/recommend/user/newbie", params={"k": 2, "explore": "false"}).json()["notice"] == r.json()["notice"]
    assert c.get("/recommend/user/u2", params={"k": 2}).json()["notice"] is None
    assert c.get("/recommend/item/p1", params={"k": 2}).json()["notice"] is None
    empty = c.get("/recommend/user/u2", params={"k": 2, "category": "No such category"}).json()
    assert (
        empty["items"] == []
        and empty["notice"]
        == "nothing to recommend to this shopper: no product is in category 'No such category'; top-level "
        "categories: Kids, Men, Sport, Women"
    )
    # an empty session (no items, no query) gets popular items, and says so
    cold = c.get("/recommend/session", params={"k": 3}).json()
    assert cold["items"] and cold["notice"] == "no session items and no query: popular items"
    assert c.get("/recommend/session", params={"item": "p1", "k": 3}).json()["notice"] is None
    seen = {"p1", "p3"}
    default = c.get("/recommend/session", params={"item": sorted(seen), "k": 12}).json()["items"]
    assert default and not {it["id"] for it in default} & seen  # unchanged default: session items left out
    again = c.get("/recommend/session", params={"item": sorted(seen), "k": 12, "exclude_seen": "false"}).json()
    assert seen <= {it["id"] for it in again["items"]}
    assert c.get("/recommend/session", params={"item": "p1", "exclude_seen": "maybe"}).status_code == 422


def test_ids_with_a_slash_are_addressable(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """A SKU such as "AB/123" (URL-encoded as AB%2F123, as the storefront sends it) reached no route: the
    generic 404 "Not Found" on /items, /recommend/item, /recommend/cross and /recommend/user."""
    from dataclasses import replace as copy_with

    from shelfwise.events import Event, EventType

    products = [copy_with(p, id=f"AB/{p.id}") if p.id in ("p1", "p3") else p for p in tiny_catalog.products]
    catalog = Catalog(products)
    searcher = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    events = [
        Event(user_id=u, item_id=i, type=EventType.PURCHASE, timestamp=t, session_id=f"s{u}")
        for t, (u, i) in enumerate([("shop/1", "AB/p1"), ("shop/1", "AB/p3"), ("u2", "AB/p1"), ("u2", "AB/p3")])
    ]
    c = client(catalog, searcher, EventLog.from_events(events, catalog))
    page = c.get("/items/AB%2Fp1").json()
    assert page["title"] == "Black slim trousers"
    assert not {"score", "reason", "features"} & set(page)  # looked up, not ranked: no score of 0 or empty reason
    product = c.get("/openapi.json").json()["components"]["schemas"]["ProductOut"]
    assert "score" not in product["properties"] and "score" not in product.get("required", [])
    related = c.get("/recommend/item/AB%2Fp1", params={"k": 3}).json()
    assert related["id"] == "AB/p1" and related["items"][0]["id"] == "AB/p3"
    cross = c.get("/recommend/cross/AB%2Fp1", params={"k": 3}).json()
    assert 0 < len(cross["items"]) < 3 and cross["notice"].startswith(f"only {len(cross['items'])} of the 3 asked for")
    mine = c.get("/recommend/user/shop%2F1", params={"k": 3}).json()
    assert mine["id"] == "shop/1" and mine["notice"] is None  # a known shopper, not "unknown user"
    assert c.get("/items/nope%2Fnope").status_code == 404
    assert c.get("/recommend/user/").status_code == 422
    ops = c.get("/openapi.json").json()["paths"]
    assert "/items/{item_id}" in ops and "/recommend/item/{item_id}" in ops  # documented as before


def test_related_items_by_text_before_any_behaviour(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    c = TestClient(create_app(Shelf(catalog=tiny_catalog, searcher=tiny_searcher)), base_url="http://localhost")
    body = c.get("/recommend/item/p5", params={"k": 3}).json()
    assert body["notice"].startswith("no recommender in this shelf") and len(body["items"]) == 3
    assert "p5" not in [it["id"] for it in body["items"]]
    assert all(it["reason"].startswith("similar text to Red summer dress (cosine ") for it in body["items"])
    women = c.get("/recommend/item/p5", params={"k": 5, "category": "Women"}).json()["items"]
    assert women and all(tiny_catalog.products[tiny_catalog.row(it["id"])].category[0] == "Women" for it in women)
    assert c.get("/recommend/cross/p5").status_code == 503  # complements need baskets
    assert c.get("/recommend/item/nope").status_code == 404


def test_reasons_and_notices_in_chinese_with_lang_zh(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    c = TestClient(create_app(Shelf(catalog=tiny_catalog, searcher=tiny_searcher)), base_url="http://localhost")
    body = c.get("/recommend/item/p5", params={"k": 2, "lang": "zh"}).json()
    assert body["notice"] == "本店暂无推荐模型：按商品描述的相似度推荐"
    assert all(it["reason"].startswith("与Red summer dress的描述相似（相似度 ") for it in body["items"])
    assert c.get("/recommend/item/p5", params={"k": 2}).json()["items"][0]["reason"].startswith("similar text to")
    assert c.get("/recommend/item/p5", params={"lang": "fr"}).status_code == 422
    found = c.get("/search", params={"q": "dress", "category": "Nowhere", "lang": "zh"}).json()
    assert found["notices"] and found["notices"][0].startswith("没有商品属于品类 'Nowhere'")


def test_cold_start_gets_popular_items_when_tuning_weighted_popularity_zero(
    tiny_catalog: Catalog, tiny_log: EventLog
) -> None:
    """Fit-time tuning can weigh popularity 0 (the demo shelf's did: repeat, content, sequence, sknn),
    and only popularity scores an empty context: an unknown shopper got [] (1 exploration item of
    k=3) and an empty session [], both under a notice promising popular items."""
    shelf = Shelf(catalog=tiny_catalog, searcher=HybridSearcher.build(tiny_catalog, HashingEncoder(dim=64)))
    enc = HashingEncoder(dim=128)
    tuned = {"repeat": 1.0, "content": 1.0, "sknn": 1.0, "popularity": 0.0}
    config = HybridConfig(als=ALSConfig(factors=4, iterations=2)).with_weights(tuned).with_weights(tuned, new=True)
    rec = build_recommender(tiny_catalog, tiny_log, enc.encode(tiny_catalog.texts()), config, encoder=enc)
    shelf.recommender, shelf.user_profiles = rec, rec.profiles
    c = TestClient(create_app(shelf), base_url="http://localhost")
    for params in ({"k": 3}, {"k": 3, "explore": "false"}):
        body = c.get("/recommend/user/newbie", params=params).json()
        assert body["notice"] == "unknown user: popular items"
        assert [it["id"] for it in body["items"]][:2] == ["p1", "p3"]  # the most bought, as with default weights
        assert len(body["items"]) == 3 and body["items"][0]["reason"].startswith("popular in")
    cold = c.get("/recommend/session", params={"k": 3}).json()
    assert len(cold["items"]) == 3 and cold["notice"] == "no session items and no query: popular items"
    known = c.get("/recommend/user/u2", params={"k": 3, "explore": "false"}).json()["items"]
    assert known and not any(it["reason"].startswith("popular in") for it in known)  # tuned weights still rule


def test_session_with_a_blank_query_is_an_empty_session(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """q=" " was encoded as a query: arbitrary products, each "matches what you searched for", under
    the notice "no session items and no query: popular items"."""
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    empty = c.get("/recommend/session", params={"k": 3}).json()
    for q in (" ", "\t \n", "\u200b", "\ufeff \u200d", "\x00"):  # zero-width and control characters show nothing too
        blank = c.get("/recommend/session", params={"k": 3, "q": q}).json()
        assert blank["items"] == empty["items"] and blank["notice"] == "no session items and no query: popular items"
        assert not any(it["reason"] == "matches what you searched for" for it in blank["items"])


def test_an_empty_fallback_list_says_why_it_is_empty(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """An unknown shopper under a category no product is in got [] with "unknown user: popular items"
    (a known one got the reason: no product is in that category)."""
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    why = "no product is in category 'No such category'; top-level categories: Kids, Men, Sport, Women"
    for user in ("newbie", "u2"):
        body = c.get(f"/recommend/user/{user}", params={"k": 2, "category": "No such category"}).json()
        assert body["items"] == [] and body["notice"] == f"nothing to recommend to this shopper: {why}"


def test_recommend_notices_carry_a_stable_code(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """/search gives each notice a code (its text changes with lang); /recommend/* gave text only, so
    telling "popular items instead" (retitle the rail) from "nothing matched" meant matching English."""
    c = client(tiny_catalog, tiny_searcher, tiny_log)

    def code(path: str, **params: str | int) -> tuple[str | None, str | None]:
        body = c.get(path, params={"k": 2, **params}).json()
        return body["notice_code"], body["notice"]

    for lang in ("en", "zh"):
        assert code("/recommend/user/newbie", lang=lang)[0] == "not-personalised"
        assert code("/recommend/session", lang=lang)[0] == "not-personalised"
    assert code("/recommend/user/u2") == (None, None)
    assert code("/recommend/user/u2", category="Nowhere")[0] == "unmatched-filter"
    assert code("/recommend/user/newbie", category="Nowhere")[0] == "unmatched-filter"
    said, text = code("/recommend/cross/p9", k=5)
    assert said == "short-list" and text and text.startswith("only 1 of the 5 asked for")
    bare = TestClient(create_app(Shelf(catalog=tiny_catalog, searcher=tiny_searcher)), base_url="http://localhost")
    assert bare.get("/recommend/item/p5", params={"k": 2}).json()["notice_code"] == "text-only"


def test_session_items_the_catalog_lacks_are_left_out_and_named(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """One delisted item answered 404 for the whole session (the storefront lost its rail); Gorse and
    Algolia skip unknown ids. The known items still count; the answer names what was left out."""
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    known = c.get("/recommend/session", params={"item": ["p1"], "k": 3}).json()
    mixed = c.get("/recommend/session", params={"item": ["p1", "gone", "gone"], "k": 3})
    assert mixed.status_code == 200
    body = mixed.json()
    assert [it["id"] for it in body["items"]] == [it["id"] for it in known["items"]]  # p1 still drives it
    assert body["notice"] == "item ids not in the catalog, left out: 'gone'" and body["notice_code"] == "unknown-items"
    zh = c.get("/recommend/session", params={"item": ["gone"], "k": 3, "lang": "zh"}).json()
    assert zh["items"] and zh["notice"] == "商品目录中没有的编号已略过：'gone'"  # popular items, and said
    many = c.get("/recommend/session", params={"item": [f"x{i}" for i in range(7)], "k": 3, "lang": "zh"}).json()
    assert many["notice"].endswith("等 7 个")
    empty = c.get("/recommend/session", params={"item": ["gone"], "k": 3, "category": "No such category"}).json()
    assert empty["items"] == [] and empty["notice_code"] == "unknown-items"  # not lost to the empty list's notice
    assert empty["notice"].startswith("item ids not in the catalog, left out: 'gone'; nothing to recommend")
    params = {"item": ["gone"], "k": 3, "category": "No such category", "lang": "zh"}
    zh_empty = c.get("/recommend/session", params=params).json()["notice"]
    assert zh_empty.startswith("商品目录中没有的编号已略过：'gone'；暂无可推荐的商品") and "nothing" not in zh_empty


def test_live_says_whether_a_session_is_under_way(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """``live`` picks the fusion as ``Context.live`` does in Python: false the between-sessions weights,
    true the in-session ones; unset, the clock decides (the tiny log's events are long idle: between)."""
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    rec = c.app.state.shelf.recommender  # type: ignore[attr-defined]
    rec.config = rec.config.with_weights({"popularity": 1.0}, 0.0, new=True, between=True)
    ctx = rec.context("u2")
    want = {live: rec.recommend(dataclasses.replace(ctx, live=live), 5).ids.tolist() for live in (False, True)}
    assert want[False] != want[True]  # the two fusions list u2 differently
    for bandit in (None, SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.2, head_fraction=0.2))):
        c.app.state.shelf.bandit = bandit  # type: ignore[attr-defined]
        for live in (False, True):
            r = c.get("/recommend/user/u2", params={"k": 5, "live": str(live).lower()})
            assert r.status_code == 200
            items = r.json()["items"]
            model = [tiny_catalog.get_row(it["id"]) for it in items if not it.get("explored")]
            assert len(model) == (5 if bandit is None else 4) and model == want[live][: len(model)]
    c.app.state.shelf.bandit = None  # type: ignore[attr-defined]
    unset = c.get("/recommend/user/u2", params={"k": 5}).json()["items"]
    assert [tiny_catalog.get_row(it["id"]) for it in unset] == want[False]
    assert c.get("/recommend/user/u2", params={"live": "maybe"}).status_code == 422


def test_every_list_answers_a_request_id_of_its_own(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """/search and every /recommend route give each answer its own request_id (for POST /events)."""
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    paths = [
        "/search?q=black",
        "/search?q=black",
        "/recommend/user/u2",
        "/recommend/item/p1",
        "/recommend/cross/p9",
        "/recommend/session?q=yoga",
    ]
    ids = [c.get(p).json()["request_id"] for p in paths]
    assert all(isinstance(i, str) and len(i) == 32 and int(i, 16) >= 0 for i in ids) and len(set(ids)) == len(ids)
    bare = client(tiny_catalog, tiny_searcher, tiny_log, with_recommender=False)
    assert len(bare.get("/recommend/item/p1").json()["request_id"]) == 32  # related by text alone


def test_recommend_routes_take_the_search_filters(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """/search filters by brand, price_min / price_max and attr=key:value; /recommend/* took only category
    and in_stock and answered 422 'unknown parameter' to the rest, so a client sending one filter set to
    both (a brand page's search box and its rails) had to drop them for the rails."""
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    by_id = {p.id: p for p in tiny_catalog.products}
    shown: dict[tuple[str, str], int] = {}  # (route, filter) -> items listed
    asks = [
        ("/recommend/user/newbie", {}),
        ("/recommend/user/u2", {}),
        ("/recommend/item/p1", {}),
        ("/recommend/cross/p1", {}),
        ("/recommend/session", {"item": "p1"}),
    ]
    for path, extra in asks:
        for filt, ok in [
            ({"brand": "acme"}, lambda p: p.brand == "Acme"),
            ({"brand": ["Flora", "Swift"]}, lambda p: p.brand in {"Flora", "Swift"}),
            ({"price_min": 30, "price_max": 60}, lambda p: 30 <= p.price <= 60),
            ({"attr": "colour:Black"}, lambda p: p.attributes.get("colour") == "Black"),
        ]:
            r = c.get(path, params={**extra, **filt, "k": 12})
            assert r.status_code == 200, (path, filt, r.json())
            got = [by_id[it["id"]] for it in r.json()["items"]]
            assert all(ok(p) for p in got), (path, filt, [p.id for p in got])
            assert got or r.json()["notice_code"] in {"no-results", "unmatched-filter"}, (path, filt)
            shown[path, str(filt)] = len(got)
        bad = c.get(path, params={**extra, "attr": "colour"})  # the same checks as /search, in its one shape
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "attr"]
        bad = c.get(path, params={**extra, "price_min": 50, "price_max": 10})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "price_max"]
    # every filter here is one the tiny catalog can satisfy (3+ products each, in stock): lists that all came
    # back empty with a notice would pass the checks above. A complement (cross) may lack one of a brand or
    # price; the other routes fall back to popular / similar items and fill theirs.
    assert all(n > 0 for (route, _), n in shown.items() if "cross" not in route), shown
    assert any(n > 0 for (route, _), n in shown.items() if "cross" in route), shown
    r = c.get("/recommend/user/u1", params={"brand": "Nobrand"})
    assert r.json()["items"] == [] and r.json()["notice_code"] == "unmatched-filter"
    assert "Nobrand" in r.json()["notice"]
    params = c.get("/openapi.json").json()["paths"]["/recommend/item/{item_id}"]["get"]["parameters"]
    assert {"brand", "price_min", "price_max", "attr"} <= {p["name"] for p in params}


def test_a_list_emptied_by_a_brand_or_price_filter_says_filters(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """The empty-list notice named only 'the category / in-stock filter', which a brand or price filter
    the catalog holds (so not an unmatched-filter) also empties."""
    c = client(tiny_catalog, tiny_searcher, tiny_log)
    r = c.get("/recommend/cross/p1", params={"brand": "Flora", "price_max": 20}).json()
    assert r["items"] == [] and r["notice"].endswith("(with the brand / price filters)"), r
    zh = c.get("/recommend/cross/p1", params={"brand": "Flora", "price_max": 20, "lang": "zh"}).json()
    assert "filter" not in zh["notice"] and zh["notice"].endswith("（在所选的品牌 / 价格筛选下）"), zh["notice"]
    r = c.get("/recommend/cross/p1", params={"category": "Women", "in_stock": True, "price_max": 20}).json()
    assert r["items"] == [] and r["notice"].endswith(
        "(with the category / price filters)"
    )  # all in stock: no stock filter


def test_a_session_query_the_recommender_cannot_read_is_a_422_naming_q(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """A recommender built without a query encoder answered q= with a bare-string 422, the one
    parameter error not in FastAPI's ``[{loc, msg, type}]`` shape."""
    rec = build_recommender(
        tiny_catalog,
        tiny_log,
        HashingEncoder(dim=64).encode(tiny_catalog.texts()),
        HybridConfig(als=ALSConfig(factors=4, iterations=2)),
    )
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher, events=tiny_log)
    shelf.recommender = rec
    c = TestClient(create_app(shelf, warmup=False), base_url="http://localhost")
    r = c.get("/recommend/session", params={"q": "yoga mat"})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["query", "q"] and "encoder" in detail["msg"], detail
    assert c.get("/recommend/session", params={"item": "p1"}).status_code == 200
