from dataclasses import asdict
from pathlib import Path

import pytest
from _servekit import LOCAL, MakeClient
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.catalog.variants import MAX_VARIANTS
from shelfwise.encode import HashingEncoder
from shelfwise.events import EventLog
from shelfwise.events.schema import Event
from shelfwise.recommend import HybridConfig, build_recommender
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve import facets as facets_module
from shelfwise.retrieve.facets import facet_search
from shelfwise.retrieve.synonyms import read_synonyms
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf
from shelfwise.snapshot import ShelfConfig


def client(catalog: Catalog, searcher: HybridSearcher) -> TestClient:
    return TestClient(create_app(Shelf(catalog=catalog, searcher=searcher)), base_url="http://localhost")


def test_search_health_docs(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    c = client(tiny_catalog, tiny_searcher)
    r = c.get("/search", params={"q": "black trousers", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["items"][0]["id"] == "p1" and len(body["items"]) == 3 and body["took_ms"] >= 0
    r = c.get("/search", params={"q": "dress", "category": "Women > Dresses", "price_max": 70})
    assert {it["id"] for it in r.json()["items"]} <= {"p5", "p12"}
    r = c.get("/search", params={"q": "black", "attr": "colour:Black", "mode": "bm25"})
    assert r.json()["items"] and all(it["id"] in {"p1", "p3", "p6", "p11"} for it in r.json()["items"])
    assert c.get("/health").json()["items"] == 12
    assert "/search" in c.get("/openapi.json").json()["paths"]
    assert "Shelfwise" in c.get("/").text
    assert c.get("/report").status_code == 404


def test_search_bad_input(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    c = client(tiny_catalog, tiny_searcher)
    assert c.get("/search", params={"q": ""}).status_code == 422
    for blank in (" ", "  \t\n"):  # was 200 with arbitrary products (a bidet for "  " on Home Depot)
        r = c.get("/search", params={"q": blank})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "q"]
    assert c.get("/search", params={"q": "x", "mode": "magic"}).status_code == 422
    r = c.get("/search", params={"q": "x", "price_min": 10, "price_max": 5})
    assert r.status_code == 422 and "price_min" in r.text
    assert c.get("/search", params={"q": "x", "attr": "nocolon"}).status_code == 422
    for bound in ("price_min", "price_max"):  # inf passed ge=0 and silently filtered everything out
        r = c.get("/search", params={"q": "x", bound: "inf"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", bound]


def test_search_reports_what_it_understood(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    c = client(tiny_catalog, tiny_searcher)
    body = c.get("/search", params={"q": "black dress under 70"}).json()
    u = body["understood"]
    assert u["price_max"] == 70 and u["text"] == "black dress"
    assert {"field": "attribute:colour", "value": "Black", "phrase": "black"} in u["matches"]
    assert body["items"] and all(it["price"] <= 70 for it in body["items"])
    assert c.get("/search", params={"q": "zzz"}).json()["understood"] is None


def test_chinese_query_on_english_only_index_gets_a_notice(tiny_catalog: Catalog) -> None:
    from shelfwise.encode.hashing import HashingEncoder

    searcher = HybridSearcher.build(tiny_catalog, HashingEncoder(64), encoder_spec="minilm")  # as if English-only
    body = client(tiny_catalog, searcher).get("/search", params={"q": "黑色裤子"}).json()
    assert body["setup_notices"] and "English-only" in body["setup_notices"][0]  # for the operator
    assert not any("English-only" in n for n in body["notices"])  # not for the shopper
    assert client(tiny_catalog, searcher).get("/search", params={"q": "black"}).json()["notices"] == []


def test_search_answers_its_response_model_as_json(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """The route writes its validated model itself (one thread hop, one serialization): the body is
    the SearchResponse schema the OpenAPI document names, with FastAPI's content type."""
    from shelfwise.serve.schemas import SearchResponse

    c = client(tiny_catalog, tiny_searcher)
    r = c.get("/search", params={"q": "black trousers", "k": 2})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    parsed = SearchResponse.model_validate(r.json())
    assert parsed.query == "black trousers" and [it.id for it in parsed.items][:1] == ["p1"]
    assert set(r.json()) == set(SearchResponse.model_fields)
    ref = c.get("/openapi.json").json()["paths"]["/search"]["get"]["responses"]["200"]["content"]
    assert ref["application/json"]["schema"] == {"$ref": "#/components/schemas/SearchResponse"}


def test_empty_result_names_the_filter_no_product_matches(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """0 hits under a filter nothing in the catalog has (a typo, the file format's "/" path, an attribute key
    spelled otherwise) say so in ``notices``; they were a silent empty list."""
    c = client(tiny_catalog, tiny_searcher)
    r = c.get("/search", params={"q": "trousers", "category": "Men/Trousers"}).json()
    assert r["items"] == [] and r["notices"] == [
        'no product is in category \'Men/Trousers\' (levels are separated by " > ", e.g. "Men > Trousers")'
    ]
    r = c.get("/search", params={"q": "black", "attr": "color:Black"}).json()
    assert r["items"] == [] and r["notices"] == ["no product has attribute 'color' (attributes here: colour)"]
    r = c.get("/search", params={"q": "jeans", "brand": "Levis"}).json()
    assert r["items"] == [] and r["notices"] == ["no product has brand 'Levis'"]
    # every part exists, only their combination is empty: nothing to blame, no notice
    r = c.get("/search", params={"q": "dress", "category": "Women", "brand": "Acme"}).json()
    assert r["items"] == [] and r["notices"] == []
    # results found: the filter parts are not checked at all
    assert c.get("/search", params={"q": "dress", "category": "Women"}).json()["notices"] == []
    # each notice has its code, for clients that style or reword it: the text changes with lang
    r = c.get("/search", params={"q": "jeans", "brand": "Levis", "lang": "zh"}).json()
    assert r["notice_codes"] == ["unmatched-filter"] and r["notices"] != ["no product has brand 'Levis'"]
    assert c.get("/search", params={"q": "dress"}).json()["notice_codes"] == []


def test_notice_codes_name_what_each_notice_says(
    make_client: MakeClient, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    c = make_client()
    r = c.get("/search", params={"q": "dress", "sort": "price_asc", "sort_depth": 1, "k": 5}).json()
    assert r["notice_codes"] == ["sort-window"] and len(r["notices"]) == 1
    shelf = Shelf.build(tiny_catalog, EventLog.from_events(tiny_events, tiny_catalog), ShelfConfig(encoder="hashing"))
    fitted = TestClient(create_app(shelf, warmup=False), base_url=LOCAL)
    r = fitted.get("/search", params={"q": "black", "user": "nobody", "lang": "zh"}).json()  # no history yet
    assert r["notice_codes"] == ["not-personalised"] and "nobody" not in r["notices"][0]  # worded in Chinese


def test_explain_gives_match_features_and_a_reason(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """Search hits carried an always-empty ``reason``; ``explain=true`` fills it and the match signals."""
    c = client(tiny_catalog, tiny_searcher)
    plain = c.get("/search", params={"q": "black dress", "k": 3}).json()["items"]
    assert all(it["features"] is None and it["reason"] == "" for it in plain)  # the default answer is unchanged
    items = c.get("/search", params={"q": "black dress", "k": 3, "explain": "true"}).json()["items"]
    assert [it["id"] for it in items] == [it["id"] for it in plain]  # same hits, same order
    top = items[0]
    assert top["id"] == "p6" and set(top["features"]) == {"bm25", "lexical", "cosine"} and top["features"]["bm25"] > 0
    dense = tiny_searcher.dense
    avg = float(dense.index.vectors.mean(axis=0) @ dense.embed("black dress"))  # an unrelated product's cosine
    assert top["features"]["cosine"] > avg
    meaning = f"meaning {top['features']['cosine']:.2f} (catalog average {avg:.2f})"
    assert top["reason"] == f"has the query's words; {meaning}; colour Black, category Dresses, as asked"
    # the average is the one of the text searched (the price phrase taken out), not of the query typed
    priced = c.get("/search", params={"q": "black dress under 200", "k": 1, "explain": "true"}).json()["items"][0]
    assert f"(catalog average {avg:.2f})" in priced["reason"]
    typo = c.get("/search", params={"q": "blak trousers", "k": 4, "explain": "true", "mode": "bm25"}).json()["items"]
    spelled = [it for it in typo if it["features"]["bm25"] == 0 and it["features"]["lexical"] > 0]
    assert spelled and all(it["reason"].startswith("partly spelled like the query (character match ") for it in spelled)


def test_search_names_the_reranker_that_set_the_order(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    from shelfwise.rank import LTRConfig, fit_reranker

    queries = {"q1": "black trousers", "q2": "summer dress"}
    rel = {"q1": {"p1": 2.0, "p3": 1.0}, "q2": {"p5": 2.0, "p12": 1.0}}
    c = client(tiny_catalog, tiny_searcher)
    assert c.get("/search", params={"q": "black trousers"}).json()["reranked_by"] is None
    tiny_searcher.reranker = fit_reranker(tiny_searcher, queries, rel, config=LTRConfig(depth=12))
    try:
        body = c.get("/search", params={"q": "black trousers", "explain": True}).json()
        assert body["reranked_by"] == "ltr" and body["items"][0]["features"]  # first-stage signals, reranked order
    finally:
        tiny_searcher.reranker = None


def test_search_pages_and_sorts_by_price(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    c = client(tiny_catalog, tiny_searcher)
    whole = c.get("/search", params={"q": "black trousers", "k": 6}).json()
    one = c.get("/search", params={"q": "black trousers", "k": 3}).json()
    two = c.get("/search", params={"q": "black trousers", "k": 3, "offset": 3}).json()
    assert [it["id"] for it in one["items"] + two["items"]] == [it["id"] for it in whole["items"]]
    assert (one["offset"], one["next_offset"], two["offset"], two["next_offset"]) == (0, 3, 3, 6)
    by = c.get("/search", params={"q": "black trousers", "k": 6, "sort": "price_desc", "sort_depth": 6}).json()
    holding = {
        it["id"]
        for it in c.get("/search", params={"q": "black trousers", "k": 6, "explain": "true"}).json()["items"]
        if it["features"]["bm25"] > 0
    }
    assert by["sort"] == "price_desc" and {it["id"] for it in by["items"]} == holding
    prices = [it["price"] for it in by["items"]]
    assert prices == sorted(prices, reverse=True)
    for bad in ({"sort": "cheap"}, {"offset": -1}, {"offset": 995, "k": 10}, {"sort_depth": 0}):
        r = c.get("/search", params={"q": "x", **bad})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][1] in {"sort", "offset", "sort_depth"}


def test_suggest_completes_typed_text_and_counts_live_queries(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    from shelfwise.events import Event, EventType

    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher)
    c = TestClient(create_app(shelf), base_url="http://localhost")
    body = c.get("/suggest", params={"q": "Tro", "k": 5}).json()
    assert body["query"] == "Tro" and body["suggestions"]
    assert all(s["text"].startswith("tro") and s["source"] == "catalog" for s in body["suggestions"])
    assert shelf.suggester is not None  # made at start-up (warm-up), fed live from then on
    shelf.suggester.update([Event(u, EventType.QUERY, 1.0, query="trousers for hiking") for u in ("a", "b")])
    top = c.get("/suggest", params={"q": "tro"}).json()["suggestions"][0]
    assert top == {"text": "trousers for hiking", "source": "queries", "count": 2}
    assert c.get("/suggest", params={"q": ""}).status_code == 422
    assert c.get("/suggest", params={"q": "x", "k": 0}).status_code == 422


def test_suggest_examples_are_the_stores_own(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """GET /suggest/examples (the storefront's search hint): the tiny store's product types, the last with
    a price cap at its median price (47 -> 50)."""
    c = client(tiny_catalog, tiny_searcher)
    assert c.get("/suggest/examples").json() == {"examples": ["dresses", "trousers", "accessories under 50"]}
    assert c.get("/suggest/examples", params={"k": 1}).json()["examples"] == ["dresses under 50"]
    assert c.get("/suggest/examples", params={"k": 0}).status_code == 422
    assert c.get("/suggest/examples", params={"k": 11}).status_code == 422


def test_search_names_the_store_rules_it_applied(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    from shelfwise.retrieve.rules import Rule, Rules

    rows = {pid: i for i, pid in enumerate(tiny_catalog.ids)}
    shelf = Shelf(
        catalog=tiny_catalog, searcher=tiny_searcher, rules=Rules([Rule("promo", "dress", "is", pin=("p9",))], rows)
    )
    c = TestClient(create_app(shelf), base_url="http://localhost")
    body = c.get("/search", params={"q": "dress", "k": 3, "explain": "true"}).json()
    assert body["rules_applied"] == ["promo"] and body["items"][0]["id"] == "p9"
    assert body["items"][0]["reason"].startswith("placed here by the store's rule 'promo'")
    assert c.get("/search", params={"q": "red dress"}).json()["rules_applied"] == []


def test_products_a_rule_hides_are_not_counted_in_the_facets(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    """A hidden product (a recall) was left out of the hits but still counted in the facets: its brand
    offered as a facet value whose click found nothing."""
    from shelfwise.retrieve.rules import Rule, Rules

    rows = {pid: i for i, pid in enumerate(tiny_catalog.ids)}
    shelf = Shelf(
        catalog=tiny_catalog, searcher=tiny_searcher, rules=Rules([Rule("recall", "shoes", "is", hide=("p9",))], rows)
    )
    c = TestClient(create_app(shelf), base_url="http://localhost")
    body = c.get("/search", params={"q": "shoes", "facets": "true"}).json()
    assert body["rules_applied"] == ["recall"] and "p9" not in [it["id"] for it in body["items"]]
    brands = {b["value"]: b["count"] for b in body["facets"]["brand"]}
    plain = TestClient(create_app(Shelf(catalog=tiny_catalog, searcher=tiny_searcher)), base_url="http://localhost")
    before = plain.get("/search", params={"q": "shoes", "facets": "true"}).json()["facets"]["brand"]
    assert {b["value"]: b["count"] for b in before}["Swift"] == brands.get("Swift", 0) + 1  # the running shoes


def test_distinct_and_words_only_in_the_response() -> None:
    titles = ["Black dress", "black dress", "Black Dress ", "Red dress", "Blue jeans"]
    catalog = Catalog([Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    c = client(catalog, HybridSearcher.build(catalog, HashingEncoder(32)))
    every = c.get("/search", params={"q": "dress", "k": 10}).json()["items"]
    once = c.get("/search", params={"q": "dress", "k": 10, "distinct": "true"}).json()["items"]
    keys = [it["title"].strip().lower() for it in once]
    assert len(every) - len(once) == 2 and len(keys) == len(set(keys)) and "black dress" in keys
    assert all(it["variants"] is None for it in once)  # only when asked
    swatches = c.get("/search", params={"q": "dress", "distinct": "true", "variants": "true"}).json()["items"]
    by_id = {it["id"]: [v["id"] for v in it["variants"]] for it in swatches}
    black = next(i for i in by_id if i in ("p0", "p1", "p2"))
    assert by_id[black] == [p for p in ("p0", "p1", "p2") if p != black] and by_id["p3"] == []
    totals = [c.get("/search", params={"q": "dress", "distinct": d}).json()["total"] for d in ("false", "true")]
    assert totals == [4, 2]  # variants one by one; with distinct the titles (black dress, red dress)
    assert c.get("/search", params={"q": "dress", "mode": "bm25"}).json()["words_only"] is True
    assert c.get("/search", params={"q": "dress", "mode": "dense"}).json()["words_only"] is False


def test_search_highlights_the_matched_words_of_each_title_when_asked(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    c = client(tiny_catalog, tiny_searcher)
    items = c.get("/search", params={"q": "black trousers", "k": 3, "highlight": "true"}).json()["items"]
    titles = {it["id"]: it["title"] for it in items}
    for it in items:  # the title as it is, with the words the query matched in <em>
        marked = it["highlight"]["title"]
        assert set(it["highlight"]) <= {"title", "description"}
        assert marked.replace("<em>", "").replace("</em>", "") == titles[it["id"]].replace("&", "&amp;")
    assert "<em>" in items[0]["highlight"]["title"]
    plain = c.get("/search", params={"q": "black trousers", "k": 3}).json()["items"]
    assert all(it["highlight"] is None for it in plain)


def test_every_parameter_error_names_its_parameter_in_one_shape(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """A 422 for a bad parameter answers FastAPI's own shape, ``detail: [{loc, msg, type}]``, with
    ``loc`` naming it: the price range, ``attr`` and ``facet_attr`` checks and the blank user id
    answered a bare string, so a client had to parse two shapes and could not tell which field."""
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher)
    enc = HashingEncoder(dim=64)
    shelf.recommender = build_recommender(tiny_catalog, tiny_log, enc.encode(tiny_catalog.texts()), HybridConfig())
    c = TestClient(create_app(shelf), base_url="http://localhost")
    cases = [
        ("/search", {"q": "x", "price_min": 10, "price_max": 5}, ["query", "price_max"], "price_min 10"),
        ("/search", {"q": "x", "attr": "nocolon"}, ["query", "attr"], "key:value"),
        (
            "/search",
            {"q": "x", "facets": "true", "facet_attr": [f"a{i}" for i in range(11)]},
            ["query", "facet_attr"],
            "10",
        ),
        ("/recommend/item/p1", {"color": "Black"}, ["query", "color"], "unknown parameter"),
        ("/recommend/item/p1", {"attr": "nocolon"}, ["query", "attr"], "key:value"),
        ("/recommend/user/%20", {}, ["path", "user_id"], "blank"),
    ]
    for path, params, loc, said in cases:
        r = c.get(path, params=params)
        assert r.status_code == 422, (path, params)
        (detail,) = r.json()["detail"]
        assert detail["loc"] == loc and said in detail["msg"] and detail["type"] == "value_error", detail
    # the route as documented, not its converter
    assert "/recommend/item/{item_id} takes" in c.get("/recommend/item/p1", params={"x": 1}).json()["detail"][0]["msg"]


def test_invisible_queries_are_blank(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """A query of zero-width spaces, a byte-order mark or control characters alone passed the
    whitespace check (str.strip keeps them) and answered arbitrary products with no notice (on the
    demo shelf: 10 products for q=%E2%80%8B, and for q=%00)."""
    c = client(tiny_catalog, tiny_searcher)
    for q in ("\u200b", "\u200b \ufeff", "\x00", "\u2060\t", "\u200d\u200c"):
        r = c.get("/search", params={"q": q})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "q"], repr(q)
    assert c.get("/search", params={"q": "dre\u200bss"}).status_code == 200  # a word around one is still a query
    assert c.get("/search", params={"q": "连衣裙"}).status_code == 200


def test_search_gives_a_total_without_facets(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    c = client(tiny_catalog, tiny_searcher)
    body = c.get("/search", params={"q": "black", "k": 2}).json()
    assert body["total"] == 4 and len(body["items"]) == 2 and body["facets"] is None  # p1, p3, p6, p11 hold 'black'
    with_facets = c.get("/search", params={"q": "black", "k": 2, "facets": True}).json()
    assert with_facets["total"] == with_facets["facets"]["matched"] == 4
    assert c.get("/search", params={"q": "black", "category": "Men"}).json()["total"] == 3
    schema = c.get("/openapi.json").json()["components"]["schemas"]["SearchResponse"]["properties"]["total"]
    assert "nbHits" in schema["description"]


def test_a_product_a_rule_hides_is_no_swatch_either() -> None:
    """A rule's hidden products are never shown for its query: not as a hit, nor as a hit's variant."""
    from shelfwise.retrieve.rules import Rule, Rules

    titles = ["Black dress", "black dress", "Black Dress ", "Red dress"]
    catalog = Catalog([Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    rules = Rules([Rule("recall", "dress", "is", hide=("p1",))], {pid: i for i, pid in enumerate(catalog.ids)})
    shelf = Shelf(catalog=catalog, searcher=HybridSearcher.build(catalog, HashingEncoder(32)), rules=rules)
    c = TestClient(create_app(shelf), base_url="http://localhost")
    items = c.get("/search", params={"q": "dress", "distinct": "true", "variants": "true"}).json()["items"]
    shown = {it["id"]: [v["id"] for v in it["variants"]] for it in items}
    black = next(i for i in shown if i in ("p0", "p2"))
    assert "p1" not in shown and shown[black] == [p for p in ("p0", "p2") if p != black]
    other = c.get("/search", params={"q": "black", "distinct": "true", "variants": "true"}).json()["items"]
    assert any(
        "p1" in (it["id"], *(v["id"] for v in it["variants"])) for it in other
    )  # another query: the rule does not apply


def test_total_counts_a_word_held_as_the_stores_synonym(tmp_path: Path) -> None:
    titles = ["Television 55 inch", "TV stand oak", "Wall mount for television", "Radio"]  # made up
    catalog = Catalog([Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    searcher = HybridSearcher.build(catalog, HashingEncoder(32))
    c = client(catalog, searcher)
    assert c.get("/search", params={"q": "tv"}).json()["total"] == 1  # only the stand says "tv"
    (tmp_path / "synonyms.txt").write_text("tv, television\n", encoding="utf-8")
    searcher.synonyms = read_synonyms(tmp_path / "synonyms.txt")
    got = c.get("/search", params={"q": "tv"}).json()
    assert got["total"] == 3 and {it["id"] for it in got["items"][:3]} == {"p0", "p1", "p2"}
    assert c.get("/search", params={"q": "tv stand"}).json()["total"] == 1


def test_variants_say_whether_they_pass_the_requests_filters() -> None:
    """A variant the filters exclude is still listed (the product comes in it), flagged matches=false: a
    colour filter, in_stock, a price range, and the price the query names all count."""
    rows = [
        ("d0", "Black", 20.0, True),
        ("d1", "Red", 40.0, True),
        ("d2", "Black", 25.0, False),
        ("d3", "Blue", 60.0, True),
    ]
    products = [Product(id=i, title="Wrap dress", price=p, in_stock=s, attributes={"colour": c}) for i, c, p, s in rows]
    catalog = Catalog([*products, Product(id="j", title="Blue jeans", price=30.0, attributes={"colour": "Blue"})])
    c = client(catalog, HybridSearcher.build(catalog, HashingEncoder(32)))

    def swatches(**params: str) -> tuple[str, str | None, dict[str, bool]]:
        body = c.get("/search", params={"q": "wrap dress", "distinct": "true", "variants": "true", **params}).json()
        top = body["items"][0]
        return top["id"], top["variant_label"], {v["id"]: v["matches"] for v in top["variants"]}

    shown, own, flags = swatches()
    assert own == catalog.products[catalog.row(shown)].attributes["colour"] and all(flags.values()) and len(flags) == 3
    shown, own, flags = swatches(attr="colour:Black")
    assert shown in ("d0", "d2") and own == "Black" and flags == {x: x in ("d0", "d2") for x in rows_ids(shown)}
    shown, _, flags = swatches(in_stock="true", attr="colour:Black")
    assert shown == "d0" and flags == {"d1": False, "d2": False, "d3": False}
    shown, _, flags = swatches(price_min="30")
    assert flags == {x: x in ("d1", "d3") for x in rows_ids(shown)}
    body = c.get("/search", params={"q": "wrap dress under 30", "distinct": "true", "variants": "true"}).json()
    assert body["understood"]["price_max"] == 30
    top = body["items"][0]
    assert {v["id"]: v["matches"] for v in top["variants"]} == {x: x in ("d0", "d2") for x in rows_ids(top["id"])}
    labels = {v["id"]: (v["label"], v["price"], v["in_stock"]) for v in top["variants"]}
    assert labels.get("d2", ("Black", 25.0, False)) == ("Black", 25.0, False)
    plain = c.get("/search", params={"q": "jeans", "variants": "true"}).json()["items"]
    assert plain[0]["id"] == "j" and plain[0]["variants"] == [] and plain[0]["variant_label"] is None


def test_variants_are_capped_per_item_those_the_filters_admit_first() -> None:
    """A title with many rows does not put every one on every card: at most variants_max (default
    MAX_VARIANTS) per item, those the request's filters admit first, and variants_total says how many."""
    n = MAX_VARIANTS + 20
    socks = [
        Product(id=f"s{i:03d}", title="Wool sock", price=5.0, attributes={"colour": f"shade {i}"}, in_stock=i >= 60)
        for i in range(n)
    ]
    catalog = Catalog(socks)
    c = client(catalog, HybridSearcher.build(catalog, HashingEncoder(32)))
    ask = {"q": "wool sock", "k": 1, "distinct": "true", "variants": "true"}
    top = c.get("/search", params=ask).json()["items"][0]
    assert len(top["variants"]) == MAX_VARIANTS and top["variants_total"] == n - 1
    stocked = c.get("/search", params={**ask, "in_stock": "true"}).json()["items"][0]
    admitted = [v["matches"] for v in stocked["variants"]]
    assert stocked["variants_total"] == n - 1 and admitted == sorted(admitted, reverse=True)
    assert sum(admitted) == sum(p.in_stock for p in socks) - 1  # every in-stock colour made the cut, first
    few = c.get("/search", params={**ask, "variants_max": 3}).json()["items"][0]
    assert len(few["variants"]) == 3 and few["variants_total"] == n - 1
    assert c.get("/search", params={**ask, "variants_max": 0}).status_code == 422
    assert c.get("/search", params={"q": "wool sock", "k": 1}).json()["items"][0]["variants_total"] is None


def rows_ids(shown: str) -> list[str]:
    """The wrap dress's variants other than ``shown``."""
    return [x for x in ("d0", "d1", "d2", "d3") if x != shown]


@pytest.mark.parametrize("q", ["black", "dress under 70", "the"])
def test_the_total_and_the_facets_read_the_query_words_rows_once(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, q: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With facets=true the total (count_matches) and the facets (facet_search) both start from the
    rows holding the query's words (holding_query): one request reads them once, and the facets
    are those facet_search counts reading them itself."""
    calls: list[str] = []
    real = facets_module.holding_query

    def counted(searcher: HybridSearcher, text: str) -> object:
        calls.append(text)
        return real(searcher, text)

    c = client(tiny_catalog, tiny_searcher)
    want = facet_search(tiny_searcher, q, Filters())
    monkeypatch.setattr(facets_module, "holding_query", counted)
    body = c.get("/search", params={"q": q, "facets": True}).json()
    assert len(calls) == 1, calls
    assert body["facets"]["matched"] == want.matched and body["facets"]["brand"] == [asdict(b) for b in want.brand]
    assert body["facets"]["category"] == [asdict(v) for v in want.category]
    assert body["total"] == (want.matched if q != "the" else len(tiny_catalog))


def test_a_sold_out_only_match_leads_with_a_coded_notice_in_the_shoppers_language() -> None:
    """耳机 on a Chinese store answered total 1 with the only earphones (sold out) below a keyboard and
    a raincoat, and no notice."""
    rows = [("e1", "无线蓝牙耳机", False), ("k1", "机械键盘", True), ("r1", "男士雨衣", True), ("m1", "无线鼠标", True)]
    catalog = Catalog([Product(id=i, title=t, in_stock=s) for i, t, s in rows])
    c = client(catalog, HybridSearcher.build(catalog, HashingEncoder(32)))
    got = c.get("/search", params={"q": "耳机", "lang": "zh"}).json()
    assert got["total"] == 1 and got["items"][0]["id"] == "e1" and got["items"][0]["in_stock"] is False
    assert "sold-out-matches" in got["notice_codes"]
    assert got["notices"][got["notice_codes"].index("sold-out-matches")] == "唯一含有 '耳机' 全部词语的商品已售罄"
    stocked = c.get("/search", params={"q": "耳机", "in_stock": "true"}).json()
    assert "e1" not in [it["id"] for it in stocked["items"]] and "sold-out-matches" in stocked["notice_codes"]
    assert "sold-out-matches" not in c.get("/search", params={"q": "鼠标"}).json()["notice_codes"]
