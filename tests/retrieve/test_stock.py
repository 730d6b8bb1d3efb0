"""Where sold-out hits go (they stop above in-stock hits that hold fewer of the query's words) and
the notice when every product holding the query's words is sold out."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog.schema import Catalog, Filters, Product
from shelfwise.encode import HashingEncoder
from shelfwise.notice import SOLD_OUT_MATCHES, code_of
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.answer import answer_search
from shelfwise.retrieve.facets import held_by
from shelfwise.retrieve.search_config import SearchConfig
from shelfwise.retrieve.stock import sold_out_last, words_held
from shelfwise.wording_zh import localise

# a made-up Chinese store: one pair of earphones, sold out, among things that share a character with 耳机
SHOP = [
    ("e1", "无线蓝牙耳机", False),
    ("k1", "机械键盘 青轴", True),
    ("r1", "男士雨衣 防水", True),
    ("m1", "无线鼠标", True),
    ("p1", "手机壳 透明", True),
    ("c1", "充电器 快充", True),
]


def _shop(rows: list[tuple[str, str, bool]] = SHOP, **config: int) -> HybridSearcher:
    catalog = Catalog([Product(id=i, title=t, in_stock=s) for i, t, s in rows])
    return HybridSearcher.build(catalog, HashingEncoder(32), config=SearchConfig(lexical_shortcut=0, **config))


def test_a_sold_out_hit_sinks_past_in_stock_hits_holding_as_many_words_and_stops_at_fewer() -> None:
    res = Results(np.arange(8), np.linspace(1, 0, 8, dtype=np.float32))
    stock = np.array([False, True, True, False, True, False, True, True])
    words = np.array([2, 2, 1, 1, 2, 2, 1, 0])
    # 0 (2 words) passes 1 (2), stops at 2 (1); 3 (1) passes 4 (2), stops at 7 (0); 5 (2) stops at 6 (1)
    assert sold_out_last(res, stock, 8, words).ids.tolist() == [1, 0, 2, 4, 5, 6, 3, 7]
    assert sold_out_last(res, stock, 8, np.zeros(8, dtype=np.int64)).ids.tolist() == [1, 2, 4, 6, 7, 0, 3, 5]
    assert sold_out_last(res, stock, 8).ids.tolist() == [1, 2, 4, 6, 7, 0, 3, 5]  # all alike: in-stock first
    assert sold_out_last(res, stock, 4, words).ids.tolist() == [1, 0, 2, 3, 4, 5, 6, 7]  # runs of 4: [0..3] [4..7]
    moved = sold_out_last(res, stock, 8, words)
    assert moved.scores.tolist() == res.scores[moved.ids].tolist()  # each hit keeps its score
    in_stock = [r for r in moved.ids.tolist() if stock[r]]
    assert in_stock == sorted(in_stock)  # the in-stock hits keep their order


def test_words_held_counts_the_query_words_of_each_hit() -> None:
    s = _shop()
    ids = np.arange(len(s.catalog), dtype=np.int64)
    held = held_by(s, "无线耳机")
    words = words_held(s, "无线耳机", ids, held)
    assert words is not None
    top = int(words.max())
    assert words[0] == top > words[3] > words[1] > 0  # earphones: all; mouse: 无线; keyboard: 机
    assert words[2] == words[5] == 0  # the raincoat and the charger hold none of them
    assert words_held(s, "  ", ids, held_by(s, "  ")) is None  # a query of no word: nothing to compare


def test_the_only_match_sold_out_leads_above_irrelevant_in_stock_hits_and_says_so() -> None:
    """耳机 on a Chinese store: the only earphones (sold out) came after a keyboard and a raincoat,
    with total 1 and no word of why."""
    s = _shop()
    got = answer_search(s, "耳机", 10, Filters())
    assert got.total == 1 and s.catalog.ids[int(got.results.ids[0])] == "e1"
    said = [n for n in got.notices if code_of(n) == SOLD_OUT_MATCHES]
    assert said == ["the one product holding every word of '耳机' is sold out"]
    assert localise(said[0], "zh") == "唯一含有 '耳机' 全部词语的商品已售罄"
    hidden = answer_search(s, "耳机", 10, Filters(in_stock=True))
    assert "e1" not in [s.catalog.ids[r] for r in hidden.results.ids.tolist()] and hidden.total == 0
    assert [n for n in hidden.notices if code_of(n) == SOLD_OUT_MATCHES] == [
        "the one product holding every word of '耳机' is sold out: in_stock=true hides them"
    ]
    assert not [n for n in answer_search(s, "耳机", 2, Filters(), offset=2).notices if code_of(n) == SOLD_OUT_MATCHES]


def test_no_notice_while_one_match_is_in_stock_and_in_stock_first_where_all_match() -> None:
    rows = [("a", "red dress", False), ("b", "red dress long", True), ("c", "red dress short", False)]
    s = _shop(rows)
    got = answer_search(s, "red dress", 10, Filters())
    assert not [n for n in got.notices if code_of(n) == SOLD_OUT_MATCHES]
    assert s.catalog.ids[int(got.results.ids[0])] == "b"  # all hold every word: in stock first, as before
    gone = _shop([(i, t, False) for i, t, _ in rows])
    said = [n for n in answer_search(gone, "red dress", 10, Filters()).notices if code_of(n) == SOLD_OUT_MATCHES]
    assert said == ["all 3 products holding every word of 'red dress' are sold out"]
    assert localise(said[0], "zh") == "含有 'red dress' 全部词语的 3 件商品都已售罄"


def test_pages_join_up_where_sold_out_hits_stop_early() -> None:
    kinds = ["red wool dress", "red dress", "wool scarf", "dress shoe"]  # 3, 2, 1, 1 of the query's words
    rows = [(f"p{i}", kinds[i % 4] + " soft" * i, i % 3 != 1) for i in range(12)]  # lengths differ: no ties
    s = _shop(rows, candidates=4)
    whole = answer_search(s, "red wool dress", 12, Filters()).results.ids.tolist()
    assert sorted(whole) == sorted(s.search("red wool dress", 12).ids.tolist())
    for k in (1, 2, 3, 5):
        pages = [
            answer_search(s, "red wool dress", k, Filters(), offset=o).results.ids.tolist() for o in range(0, 12, k)
        ]
        assert [r for p in pages for r in p] == whole
