"""A Chinese query's words for the no-word-match notice: its jieba words, not its characters."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.catalog.schema import Filters
from shelfwise.encode import HashingEncoder
from shelfwise.eval.searches import held_by_catalog
from shelfwise.index.bm25 import BM25Index
from shelfwise.notice import NO_WORD_MATCH, code_of
from shelfwise.retrieve import HybridSearcher, SearchTrace, query_words
from shelfwise.retrieve.answer import answer_search

# clothes whose titles hold each character of 笔记本电脑 but none of its words (笔记本, 电脑)
CLOTHES = [
    ("c1", "本命年红色高领毛衣女", "毛衣"),
    ("c2", "电光蓝儿童防晒衣 夏季", "防晒衣"),
    ("c3", "笔挺西装裤男 商务休闲", "裤子"),
    ("c4", "记忆棉拖鞋 居家防滑", "拖鞋"),
    ("c5", "补脑不如补觉 趣味文字T恤", "T恤"),
    ("c6", "女士碎花连衣裙 夏装新款", "连衣裙"),
    ("c7", "加厚保暖羽绒服 冬季外套", "羽绒服"),
]


@pytest.fixture(scope="module")
def clothes() -> HybridSearcher:
    products = [Product(i, t, category=("服装", c)) for i, t, c in CLOTHES]
    return HybridSearcher.build(Catalog(products), HashingEncoder(64))


def _fires(s: HybridSearcher, query: str, filters: Filters | None = None) -> bool:
    ans = answer_search(s, query, 5, filters or Filters())
    assert len(ans.results.ids)  # the nearest products are still shown
    return any(code_of(n) == NO_WORD_MATCH for n in ans.notices)


def test_a_query_sharing_only_characters_with_the_catalog_matches_no_word(clothes: HybridSearcher) -> None:
    parts = clothes.lexical.score_parts("笔记本电脑")
    assert (parts.words > 0).sum() >= 4  # every clothes title above shares a character: the old check "matched"
    assert _fires(clothes, "笔记本电脑")
    trace = SearchTrace()
    clothes.search("笔记本电脑", 5, trace=trace)
    assert trace.words_matched is False
    assert _fires(clothes, "洗碗机")  # characters no product holds at all


def test_a_real_partial_match_is_no_notice(clothes: HybridSearcher) -> None:
    for q in ("连衣裙", "红色连衣裙", "红色电脑", "笔记本 羽绒服", "裙", "連衣裙", "iphone 连衣裙"):
        assert not _fires(clothes, q), q  # 连衣裙 / 红色 / 羽绒服 held; 裙 a one-character word; 連 folded
    dresses_out = Filters(category=("服装", "毛衣"))  # the filter leaves the sweater only
    assert _fires(clothes, "连衣裙", dresses_out)


def test_particles_alone_claim_nothing(clothes: HybridSearcher) -> None:
    trace = SearchTrace()
    clothes.search("的", 5, trace=trace)
    assert trace.words_matched is None


def test_the_check_changes_no_ranking(clothes: HybridSearcher) -> None:
    for q in ("笔记本电脑", "红色连衣裙", "夏季 T恤"):
        plain = clothes.search(q, 7)
        traced = clothes.search(q, 7, trace=SearchTrace())
        assert plain.ids.tolist() == traced.ids.tolist()
        assert np.array_equal(plain.scores, traced.scores)


def test_without_jieba_character_pairs_are_the_words(clothes: HybridSearcher, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query_words, "_jieba", lambda: None)
    tok, index = clothes.lexical.tokenizer, clothes.lexical.words
    assert query_words.query_words("红色裙", tok, index) == [("红色",), ("色裙",)]
    assert _fires(clothes, "笔记本电脑")
    assert not _fires(clothes, "红色连衣裙")


def test_jieba_words_need_each_of_their_character_pairs(clothes: HybridSearcher) -> None:
    tok, index = clothes.lexical.tokenizer, clothes.lexical.words
    words = query_words.query_words("红色的连衣裙", tok, index)
    assert ("红色",) in words and ("连衣", "衣裙") in words
    assert not any(w == ("的",) for w in words)  # a particle is no word


def test_holds_reads_postings_for_the_rows_asked() -> None:
    idx = BM25Index().fit(["红色 毛衣", "蓝色 裤子", "红色 裤子", "绿色 帽子"])
    rows = np.array([3, 0, 2, 1], dtype=np.int64)
    assert idx.holds("红色", rows).tolist() == [False, True, True, False]
    assert idx.holds("裤子", rows).tolist() == [False, False, True, True]
    assert idx.holds("没有", rows).tolist() == [False] * 4
    assert idx.holds("红色", rows[:0]).tolist() == []


def test_the_store_report_reads_chinese_searches_by_their_words(clothes: HybridSearcher) -> None:
    held = held_by_catalog(clothes)
    assert not held("笔记本电脑") and not held("洗碗机")
    assert held("红色连衣裙") and held("裙") and held("夏季")
    idx = clothes.lexical.words
    assert query_words.held_by_any([("羽绒", "绒服")], idx) and not query_words.held_by_any([("羽绒", "衣裙")], idx)
