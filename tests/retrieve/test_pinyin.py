"""A query typed in pinyin read as the catalog's Chinese words it spells."""

from __future__ import annotations

import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index import BM25Index
from shelfwise.retrieve import HybridSearcher, translate
from shelfwise.retrieve.pinyin import PinyinReader

TITLES = [
    "苹果手机壳 透明",
    "华为手机壳 防摔",
    "手机支架 桌面",
    "富光保温杯 不锈钢",
    "儿童保温杯 吸管",
    "保温被 加厚",
    "即可 速溶咖啡",
    "女士运动鞋子",
    "男童鞋子 回力",
    "Nike 篮球鞋",
]


def _reader() -> PinyinReader:
    idx = BM25Index().fit(TITLES)
    return PinyinReader(idx.terms, idx.term_doc_freq)


def test_pinyin_is_read_as_the_catalogs_words() -> None:
    r = _reader()
    english = {"nike", "women"}.__contains__
    assert r.read("shoujike", english) == "手机壳"  # 机壳 (ji ke), not 即可: the chain goes on through 手机
    assert r.read("bao wen bei", english) == "保温杯"  # spaces between syllables: one word still
    assert r.read("baowenbei", english) == "保温杯"  # 杯 (3 products) over 被 (1)
    assert r.read("xiezi", english) == "鞋子"
    assert r.read("shoujike baowenbei", english) == "手机壳 保温杯"  # no 壳保 pair: two words
    assert r.read("nike xiezi", english) == "鞋子"  # "nike" cuts into ni + ke but is English
    assert r.syllables("shoujike") == ["shou", "ji", "ke"] and r.syllables("iphone") is None
    assert r.read("ｂａｏｗｅｎｂｅｉ", english) == "保温杯"  # full-width letters (a Chinese IME's) fold
    assert r.read("baowen杯", english) == "保温"  # letters typed next to characters are read apart from them


def test_what_is_not_read_as_pinyin() -> None:
    r = _reader()
    english = {"nike", "bao"}.__contains__
    assert r.read("nike", english) == ""  # every word English: stays English
    assert r.read("shou", english) == ""  # one syllable names too many characters
    assert r.read("iphone case", english) == ""  # not syllables of the catalog's characters
    assert r.read("bao", english) == ""
    assert r.read("bao wen bei", english) == "保温杯"  # "bao" is English too, but "wen bei" are not


def test_search_reads_a_pinyin_query_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "available", lambda: False)  # no dictionary: pinyin needs none
    catalog = Catalog([Product(id=f"z{i}", title=t) for i, t in enumerate(TITLES * 2)])
    s = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    assert s.bilingual.added("shoujike") == "手机壳"
    assert {catalog.products[i].title for i in s.search("shoujike", 4).ids} == {"苹果手机壳 透明", "华为手机壳 防摔"}
    assert s.notices("shoujike") == ["Pinyin also searched as the Chinese words it spells: '手机壳'"]
    assert s.bilingual.pinyin_of("baowen杯") == "保温"  # letters typed beside characters: read in a search too
    assert s.bilingual.pinyin_of("ｓｈｏｕｊｉｋｅ") == "手机壳" and s.bilingual.pinyin_of("手机壳") == ""
    english = HybridSearcher.build(Catalog([Product(id="e1", title="Black phone case")]), HashingEncoder(dim=64))
    assert english.bilingual.added("shoujike") == ""  # an English catalog has no characters to spell
