"""The storefront's own routes and files: /, /static/*, /items/{id}, /shoppers (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

from _servekit import LOCAL, MakeClient
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.events import EventLog
from shelfwise.recommend.hybrid import build_recommender
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.serve.app import STATIC, STATIC_FILES
from shelfwise.shelf import Shelf


def test_page_and_static_files_are_local(make_client: MakeClient) -> None:
    c = make_client()
    page = c.get("/")
    assert page.status_code == 200 and "/static/store.js" in page.text and "/static/store.css" in page.text
    for name, kind in STATIC_FILES.items():
        r = c.get(f"/static/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
    assert c.get("/static/../app.py").status_code == 404 and c.get("/static/nope.js").status_code == 404
    for f in ["index.html", *STATIC_FILES]:  # nothing is loaded from another host: the page works offline
        text = (STATIC / f).read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import""", text), f


def test_page_is_worded_for_any_store() -> None:
    """The page was worded for the H&M demo whatever the store: a fashion search hint, "Complete the look"
    and a footer about H&M's scaled prices; the hint now comes from GET /suggest/examples."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    for fashion in ("black trousers", "黑色裤子", "Complete the look", "H&amp;M", "H&M"):
        assert fashion not in page, fashion
    assert 'data-i18n="goesWellWith">Goes well with</h2>' in page and 'placeholder="Search products"' in page
    assert 'api("/suggest/examples?k=3")' in (STATIC / "store.js").read_text(encoding="utf-8")


def test_items_route(make_client: MakeClient) -> None:
    c = make_client()
    body = c.get("/items/p6").json()
    assert body["title"] == "Black evening dress" and body["price"] == 99.0 and body["description"]
    assert body["image"] is None and body["category"] == ["Women", "Dresses"]
    assert c.get("/items/nope").status_code == 404
    assert body["variants"] is None and body["variants_total"] is None  # not asked


def test_items_route_gives_a_products_swatches_when_asked() -> None:
    """A product page opened from a link (GET /items/{id}?variants=true) gets the swatches a list card has:
    the same objects, labels and cap; no filter, so every one matches."""
    colours = [("w0", "Black", 20.0, True), ("w1", "Red", 30.0, False), ("w2", "Blue", 25.0, True)]
    wrap = [Product(id=i, title="Wrap dress", price=p, in_stock=s, attributes={"colour": c}) for i, c, p, s in colours]
    catalog = Catalog([*wrap, Product(id="belt", title="Leather belt", price=9.0)])
    c = TestClient(
        create_app(Shelf(catalog, HybridSearcher.build(catalog, HashingEncoder(32))), warmup=False), base_url=LOCAL
    )
    body = c.get("/items/w1", params={"variants": "true"}).json()
    assert body["id"] == "w1" and body["variant_label"] == "Red" and body["variants_total"] == 2
    assert body["variants"] == [
        {"id": "w0", "label": "Black", "price": 20.0, "in_stock": True, "image": None, "matches": True},
        {"id": "w2", "label": "Blue", "price": 25.0, "in_stock": True, "image": None, "matches": True},
    ]
    listed = c.get("/search", params={"q": "wrap dress", "k": 1, "distinct": "true", "variants": "true"}).json()
    top = listed["items"][0]
    page = c.get(f"/items/{top['id']}", params={"variants": "true"}).json()
    assert [page[f] for f in ("variants", "variant_label", "variants_total")] == [
        top[f] for f in ("variants", "variant_label", "variants_total")
    ]  # the page's swatches are the card's
    one = c.get("/items/w1", params={"variants": "true", "variants_max": 1}).json()
    assert [v["id"] for v in one["variants"]] == ["w0"] and one["variants_total"] == 2
    alone = c.get("/items/belt", params={"variants": "true"}).json()
    assert alone["variants"] == [] and alone["variant_label"] is None and alone["variants_total"] == 0
    assert c.get("/items/w1", params={"variants": "true", "variants_max": 0}).status_code == 422


def test_shoppers_route(tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog) -> None:
    rec = build_recommender(tiny_catalog, tiny_log, tiny_searcher.item_vectors)
    shelf = Shelf(tiny_catalog, tiny_searcher, events=tiny_log, recommender=rec, user_profiles=rec.profiles)
    c = TestClient(create_app(shelf, warmup=False), base_url=LOCAL)
    body = c.get("/shoppers?k=2").json()
    assert [s["id"] for s in body["shoppers"]] == ["u1", "u2"] and body["shoppers"][0]["items"] == 3
    assert body["notice"] is None and c.get("/shoppers?k=0").status_code == 422


def test_report_answers_head(tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """The page asks ``HEAD /report`` before showing its "Evaluation report" link (it linked a 404 page)."""
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher)
    bare = TestClient(create_app(shelf, warmup=False), base_url="http://localhost")
    assert bare.head("/report").status_code == 404
    (tmp_path / "r.html").write_text("<h1>my report</h1>", encoding="utf-8")
    served = TestClient(create_app(shelf, warmup=False, report=tmp_path / "r.html"), base_url="http://localhost")
    head = served.head("/report")
    assert head.status_code == 200 and head.text == "" and "my report" in served.get("/report").text
    assert 'id="report-link"' in served.get("/").text
    fav = served.get("/favicon.ico")  # every browser visit asks: an empty answer, not a 404 in the access log
    assert fav.status_code == 204 and fav.content == b""
