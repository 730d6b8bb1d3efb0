"""The storefront's own wording in English and Simplified Chinese (static/i18n.js) and the catalog
language GET /health gives the page to pick one (no browser needed; the browser checks are in
test_storefront_browser.py)."""

from __future__ import annotations

import json
import re

import pytest
from _servekit import LOCAL, zh_catalog
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.serve.app import STATIC
from shelfwise.shelf import Shelf

CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _strings() -> dict[str, dict[str, str]]:
    """The table between the markers in i18n.js (plain JSON, as the file says)."""
    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    m = re.search(r"/\* strings:begin \*/(.*)/\* strings:end \*/", text, re.S)
    assert m, "i18n.js: no /* strings:begin */ ... /* strings:end */ table"
    table = json.loads(m.group(1))
    assert isinstance(table, dict)
    return table


def test_every_english_text_has_a_chinese_one_with_the_same_placeholders() -> None:
    table = _strings()
    assert set(table) == {"en", "zh-CN"}
    en, zh = table["en"], table["zh-CN"]
    assert sorted(set(en) - set(zh)) == [] and sorted(set(zh) - set(en)) == []
    for key, text in en.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(zh[key])), key
        assert CJK.search(zh[key]), f"zh-CN {key!r} is not in Chinese: {zh[key]!r}"
        assert not CJK.search(text), f"en {key!r} has Chinese: {text!r}"


def test_the_page_writes_its_texts_through_the_table() -> None:
    """Every key the page names exists, and every key is named somewhere (no text left unused)."""
    en = _strings()["en"]
    js = (STATIC / "store.js").read_text(encoding="utf-8")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    called = set(re.findall(r"\bt\(\"(\w+)\"", js)) | {"title"}  # setLanguage writes the title
    in_page = set(re.findall(r'data-i18n(?:-html)?="(\w+)"', page))
    in_page |= {k for attr in re.findall(r'data-i18n-attr="([^"]+)"', page) for k in re.findall(r":(\w+)", attr)}
    assert sorted((called | in_page) - set(en)) == []
    literals = set(re.findall(r'"(\w+)"', js)) | in_page | called  # keys chosen in a ternary or a list
    assert sorted(set(en) - literals) == []
    # the English page text is the table's (what a browser without JavaScript shows is the same)
    for key in re.findall(r'data-i18n="(\w+)"', page):
        assert re.search(rf'data-i18n="{key}"[^>]*>{re.escape(en[key]).replace("←", "(&larr;|←)")}<', page), key
    code = re.sub(r"(^|\s)//.*", "", js)  # comments may quote the English
    for stale in ('"Add to cart"', '"Show more"', "`Top ${", '"Most relevant"', '"Settings saved"', "In stock only"):
        assert stale not in code, stale


@pytest.mark.parametrize("which", ["en", "zh", "mixed"])
def test_health_names_the_catalogs_language(tiny_catalog: Catalog, which: str) -> None:
    catalog = tiny_catalog if which == "en" else zh_catalog()
    if which == "mixed":  # Chinese titles are a third of the products: mixed, not zh
        catalog = Catalog(list(tiny_catalog.products) + list(catalog.products)[:3])
    searcher = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    client = TestClient(create_app(Shelf(catalog, searcher), warmup=False), base_url=LOCAL)
    assert client.get("/health").json()["language"] == which
    searcher.language = None  # an index saved before language profiles were recorded: profiled once
    assert client.get("/health").json()["language"] == which
