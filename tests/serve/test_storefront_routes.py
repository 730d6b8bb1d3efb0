"""The storefront's own routes and files: /, /static/*, /items/{id}, /shoppers (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

from _servekit import LOCAL, MakeClient
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
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
