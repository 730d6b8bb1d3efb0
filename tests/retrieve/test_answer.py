"""search_reasons: the "as asked" part reads the understanding's own field masks (one implementation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shelfwise.catalog.schema import Catalog, Filters, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index.text import Tokenizer
from shelfwise.notice import NO_WORD_MATCH, PRICE_UNMATCHED, UNMATCHED_FILTER, code_of
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.answer import (
    NEAREST,
    NEAREST_SPELLING,
    answer_search,
    by_price,
    one_per_title,
    search_reasons,
    shared_words,
    sold_out_last,
)
from shelfwise.retrieve.rules import read_rules
from shelfwise.retrieve.search_config import SearchConfig
from shelfwise.retrieve.understand import FieldMatch, QueryUnderstanding


def _understanding() -> QueryUnderstanding:
    products = [
        Product("a", "Wrap dress", category=("Women", "Dresses"), brand="Flora", attributes={"colour": "Black"}),
        Product("b", "Slip dress", category=("Women", "DRESSES"), brand="flora", attributes={"colour": "black"}),
        Product("c", "Rain coat", category=("Women", "Coats"), brand="Puddle", attributes={"colour": "Red"}),
    ]
    return QueryUnderstanding(Catalog(products), Tokenizer(), min_products=1)


def test_reasons_name_the_values_each_hit_carries_as_the_boost_reads_them() -> None:
    u = _understanding()
    matches = u.parse("black flora dress").matches
    assert {(m.field, m.value) for m in matches} >= {("attribute:colour", "Black"), ("brand", "Flora")}
    res = Results(np.array([2, 1, 0]), np.array([3.0, 2.0, 1.0], dtype=np.float32))
    reasons = search_reasons(res, matches, u)
    # case-insensitive, as the field masks are: "b" carries "black"/"flora"/"DRESSES" in other cases
    assert reasons[1] == reasons[2] and "colour Black" in reasons[1] and "brand Flora" in reasons[1]
    assert reasons[1].endswith(", as asked") and reasons[0] == ""  # "c" carries none of them
    for j, row in enumerate(res.ids.tolist()):  # a value is named exactly where its mask is set
        for m in matches:
            named = f"{m.field.removeprefix('attribute:')} {m.value}" in reasons[j]
            assert named == bool(u.field_mask(m)[row])


def test_reasons_without_matches_need_no_understanding() -> None:
    res = Results(
        np.array([0, 1]), np.array([1.0, 0.5], dtype=np.float32), {"cosine": np.array([0.5, 0.25], dtype=np.float32)}
    )
    assert search_reasons(res) == ["meaning 0.50", "meaning 0.25"]
    with pytest.raises(ValueError, match="understanding"):
        search_reasons(res, [FieldMatch("brand", "Flora", "flora")])


def test_pages_of_one_ranking_join_up_to_the_ranking_itself(tiny_searcher: HybridSearcher) -> None:
    whole = answer_search(tiny_searcher, "black trousers", 9, Filters())
    pages = [answer_search(tiny_searcher, "black trousers", 3, Filters(), offset=o) for o in (0, 3, 6)]
    joined = np.concatenate([p.results.ids for p in pages])
    assert joined.tolist() == whole.results.ids.tolist()
    assert [p.next_offset for p in pages] == [3, 6, 9]  # 12 products: a page after the ninth
    last = answer_search(tiny_searcher, "black trousers", 5, Filters(), offset=10)
    assert len(last.results) == 2 and last.next_offset is None
    beyond = answer_search(tiny_searcher, "black trousers", 5, Filters(), offset=50)
    assert len(beyond.results) == 0 and beyond.next_offset is None


def test_price_sort_orders_the_most_relevant_products_by_price(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    depth = 4
    hits = tiny_searcher.search("black trousers", depth, match_features=True)
    holding = hits.ids[hits.features["bm25"] > 0]  # the most relevant that hold a query word
    assert len(holding) == depth  # (every one of the top 4 does)
    up = answer_search(tiny_searcher, "black trousers", depth, Filters(), sort="price_asc", sort_depth=depth)
    down = answer_search(tiny_searcher, "black trousers", depth, Filters(), sort="price_desc", sort_depth=depth)
    assert sorted(up.results.ids.tolist()) == sorted(holding.tolist())  # the same products, re-ordered
    prices = tiny_catalog.price[up.results.ids]
    assert np.all(np.diff(prices) >= 0) and np.all(np.diff(tiny_catalog.price[down.results.ids]) <= 0)
    assert up.reranked_by is None and not up.results.features  # no explain: no features handed out
    # pages of a sorted query read one sorted list; past the sorted products: a notice, no next page
    first = answer_search(tiny_searcher, "black trousers", 2, Filters(), sort="price_asc", sort_depth=depth)
    second = answer_search(tiny_searcher, "black trousers", 3, Filters(), offset=2, sort="price_asc", sort_depth=depth)
    assert np.concatenate([first.results.ids, second.results.ids]).tolist() == up.results.ids.tolist()
    assert first.next_offset == 2 and second.next_offset is None
    assert any("most relevant products" in n for n in second.notices)
    # a price sort over everything the search reaches would list products with none of the words
    wide = answer_search(tiny_searcher, "black trousers", 12, Filters(), sort="price_desc", sort_depth=12)
    words = tiny_searcher.search("black trousers", 12, match_features=True)
    assert set(wide.results.ids.tolist()) == set(words.ids[words.features["bm25"] > 0].tolist())
    assert len(wide.results) < 12


def test_unpriced_products_sort_last_in_relevance_order() -> None:
    res = Results(np.array([0, 1, 2, 3]), np.array([4.0, 3.0, 2.0, 1.0], dtype=np.float32))
    price = np.array([np.nan, 5.0, np.nan, 2.0])
    assert by_price(res, price).ids.tolist() == [3, 1, 0, 2]
    assert by_price(res, price, descending=True).ids.tolist() == [1, 3, 0, 2]
    assert by_price(res, price).scores.tolist() == [1.0, 3.0, 4.0, 2.0]  # each hit keeps its own score


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"sort": "cheapest"}, "sort"),
        ({"offset": -1}, "offset"),
        ({"offset": 995}, "1000"),
        ({"sort_depth": 0}, "sort_depth"),
    ],
)
def test_pages_that_cannot_be_read_name_the_parameter(
    tiny_searcher: HybridSearcher, kwargs: dict[str, Any], word: str
) -> None:
    with pytest.raises(ValueError, match=word):
        answer_search(tiny_searcher, "dress", 10, Filters(), **kwargs)


def test_a_hit_holding_part_of_the_query_says_which_part() -> None:
    tok = Tokenizer()
    texts = ["耐克跑鞋 男", "雨鞋 耐磨 防滑", "Nike 耐克 短裤", "Black running shoes"]
    shared = shared_words(tok, ["耐克 跑鞋"], texts)
    assert shared[0] is None  # every word of the query
    assert shared[1] == ["耐", "鞋"]  # two single characters, not the query's words
    assert shared[2] == ["耐克"]  # a pair names its characters
    assert shared[3] == []
    # Latin words as typed (not stemmed), in the query's order; a reading in the catalog's language
    # counts as a whole reading: "red shoes" is held by a title holding 红色 and 鞋子
    assert shared_words(tok, ["running shoes"], ["Shoes for running"]) == [None]
    assert shared_words(tok, ["nike running shoes"], ["Running shoes"]) == [["running", "shoes"]]
    assert shared_words(tok, ["red shoes", "红色 鞋子"], ["红色高跟鞋子", "红色 上衣"]) == [None, ["红色"]]
    assert shared_words(tok, ["手機殼"], ["手机支架"]) == [["手机"]]  # Traditional folded, as indexed
    assert shared_words(tok, ["the"], ["anything"]) == [None]  # no term at all: nothing to name
    res = Results(
        np.array([0, 1]),
        np.array([1.0, 0.5], dtype=np.float32),
        {"bm25": np.array([3.0, 1.0], dtype=np.float32), "lexical": np.array([1.0, 0.4], dtype=np.float32)},
    )
    reasons = search_reasons(res, shared=shared[:2])
    assert reasons == ["has the query's words", "has some of the query's words (耐, 鞋)"]


def test_explained_chinese_hits_name_the_characters_they_share() -> None:
    titles = ["耐克跑鞋 男款", "耐磨雨鞋 防滑", "耐克 运动短裤", "陶瓷茶杯", "保温杯 不锈钢"] * 2
    catalog = Catalog([Product(id=f"z{i}", title=t) for i, t in enumerate(titles)])
    s = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    a = answer_search(s, "耐克 跑鞋", 10, Filters(), explain=True)
    assert a.reasons is not None
    by_title = {catalog.products[i].title: r for i, r in zip(a.results.ids.tolist(), a.reasons, strict=True)}
    assert by_title["耐克跑鞋 男款"].startswith("has the query's words;")
    assert by_title["耐磨雨鞋 防滑"].startswith("has some of the query's words (耐, 鞋);")
    assert by_title["耐克 运动短裤"].startswith("has some of the query's words (耐克);")


def test_personalised_reasons_say_how_close_each_hit_is_to_the_shoppers_taste(tiny_searcher: HybridSearcher) -> None:
    import dataclasses

    taste = tiny_searcher.item_vectors[0].copy()  # a shopper who liked p1 (black trousers)
    off = answer_search(tiny_searcher, "black", 3, Filters(), user_vector=taste, explain=True)
    assert off.reasons is not None and not any("your taste" in r for r in off.reasons)  # personal_weight 0: not applied
    tiny_searcher.config = dataclasses.replace(tiny_searcher.config, personal_weight=0.1)
    got = answer_search(tiny_searcher, "black", 3, Filters(), user_vector=taste, explain=True)
    assert got.reasons is not None and all("your taste" in r and "(catalog average " in r for r in got.reasons)
    first = got.results.ids.tolist().index(0) if 0 in got.results.ids.tolist() else None
    assert first is not None and "your taste 1.00" in got.reasons[first]  # p1 is the taste itself


def test_a_price_the_query_names_that_no_product_meets_is_said(tiny_searcher: HybridSearcher) -> None:
    got = answer_search(tiny_searcher, "dress under 10", 5, Filters())
    assert not len(got.results) and "no product matches the price the query names (10 or less)" in got.notices
    past = answer_search(tiny_searcher, "dress", 5, Filters(), offset=500)
    assert not len(past.results) and not past.notices  # past the end: nothing to explain


def test_a_price_sort_says_when_products_holding_the_words_lie_past_its_window() -> None:
    """The sort_depth most relevant products, cut to those holding a query word, can be fewer than
    the page: a page reading past them says so (it came back short, or empty, with no word)."""
    from shelfwise.catalog import Product
    from shelfwise.encode.hashing import HashingEncoder

    long = "a plain product with a long description of many other words " * 3
    products = [Product(f"h{i}", f"Black item {i}", long, price=10.0 + i) for i in range(6)]
    products += [Product(f"n{i}", f"Blackened blacker {i}", "", price=1.0 + i) for i in range(6)]
    searcher = HybridSearcher.build(Catalog(products), HashingEncoder(dim=128))
    top = searcher.search("black", 8, mode="dense", match_features=True)
    assert int((top.features["bm25"] > 0).sum()) == 2  # 2 of the 8 most relevant hold 'black'; 6 products do
    for offset in (0, 3):
        got = answer_search(
            searcher, "black", 3, Filters(), mode="dense", sort="price_asc", sort_depth=8, offset=offset
        )
        assert got.next_offset is None
        assert any("sorted by price among the 8 most relevant products" in n for n in got.notices)


def test_distinct_shows_each_product_title_once_across_pages() -> None:
    titles = ["Nevada dress", "nevada dress ", "Lily dress", "Nevada Dress", "Bossy dress", "Lily dress", "Tulip dress"]
    catalog = Catalog([Product(id=f"p{i}", title=t) for i, t in enumerate(titles)])
    s = HybridSearcher.build(catalog, HashingEncoder(32))
    everything = answer_search(s, "dress", 7, Filters()).results.ids.tolist()
    assert len(everything) == 7
    first = answer_search(s, "dress", 2, Filters(), distinct=True)
    second = answer_search(s, "dress", 2, Filters(), distinct=True, offset=2)
    shown = [catalog.products[r].title.strip().lower() for r in [*first.results.ids, *second.results.ids]]
    assert len(shown) == len(set(shown)) == 4 and first.next_offset == 2 and second.next_offset is None
    best = next(r for r in everything if catalog.products[r].title.strip().lower() == "nevada dress")
    assert best in [*first.results.ids.tolist(), *second.results.ids.tolist()]  # each title's best-ranked hit
    kept = one_per_title(Results(np.array([0, 1, 3, 2]), np.ones(4, dtype=np.float32)), catalog)
    assert kept.ids.tolist() == [0, 2]


def test_distinct_reaches_past_many_variants_and_keeps_pins_and_the_cheapest(tmp_path: Path) -> None:
    products = [Product(id=f"v{i}", title="Black dress", price=30.0 - i * 0.1) for i in range(40)]
    products += [Product(id=f"o{i}", title=f"Black dress {name}", price=50.0) for i, name in enumerate("abcdefghij")]
    catalog = Catalog(products)
    s = HybridSearcher.build(catalog, HashingEncoder(32))
    page = answer_search(s, "black dress", 5, Filters(), distinct=True)  # 40 variants of one title first
    assert len(page.results.ids) == 5 and page.next_offset == 5
    cheap = answer_search(s, "black dress", 11, Filters(), distinct=True, sort="price_asc")
    assert catalog.ids[int(cheap.results.ids[0])] == "v39"  # the cheapest variant stands for its title
    (tmp_path / "rules.json").write_text(json.dumps([{"query": "black dress", "match": "is", "pin": ["v7"]}]))
    rules = read_rules(tmp_path / "rules.json", catalog.ids)
    pinned = answer_search(s, "black dress", 5, Filters(), distinct=True, rules=rules)
    titles = [catalog.products[r].variant_key for r in pinned.results.ids.tolist()]
    assert catalog.ids[int(pinned.results.ids[0])] == "v7" and len(titles) == len(set(titles))


def test_a_search_no_word_matches_says_its_hits_are_the_nearest(tiny_searcher: HybridSearcher) -> None:
    """Algolia answers nothing here; a hybrid still shows the nearest products, and now says so."""
    purple = Filters(attributes=(("colour", "Purple"),))  # the yoga mat: it holds no word of "jeans"
    ans = answer_search(tiny_searcher, "jeans", 5, purple)
    assert ans.results.ids.tolist() == [9]
    nearest = [n for n in ans.notices if code_of(n) == NO_WORD_MATCH]
    assert nearest == [f"no product that passes the filters holds a word of 'jeans': {NEAREST}"]
    unfiltered = answer_search(tiny_searcher, "jeans", 5, Filters())
    assert not [n for n in unfiltered.notices if code_of(n) == NO_WORD_MATCH]  # "Blue denim jeans" holds it
    nothing = answer_search(tiny_searcher, "zzzz qqqq", 5, Filters())
    assert len(nothing.results.ids) and f"no product holds a word of 'zzzz qqqq': {NEAREST}" in nothing.notices
    meaning = answer_search(tiny_searcher, "jeans", 5, purple, mode="dense")  # no lexical side: nothing claimed
    assert not [n for n in meaning.notices if code_of(n) == NO_WORD_MATCH]
    words = answer_search(tiny_searcher, "jeanz", 5, Filters(), mode="bm25")  # a misspelling, words-only mode
    assert catalog_ids(tiny_searcher, words.results)[0] == "p2"  # "Blue denim jeans", by its character n-grams
    assert [n for n in words.notices if code_of(n) == NO_WORD_MATCH] == [
        f"no product holds a word of 'jeanz': {NEAREST_SPELLING}"  # no meaning in a words-only list
    ]
    price_only = answer_search(tiny_searcher, "under 50", 5, Filters())  # no word to hold: nothing to say
    assert len(price_only.results.ids) and not [n for n in price_only.notices if code_of(n) == NO_WORD_MATCH]


def test_a_price_no_product_has_is_said_once(tiny_searcher: HybridSearcher) -> None:
    asked = answer_search(tiny_searcher, "dress", 5, Filters(price_min=5000.0))
    assert not len(asked.results.ids)
    assert [n for n in asked.notices if code_of(n) == UNMATCHED_FILTER] == [
        "no product costs 5,000 or more (prices here: 19 to 99)"
    ]
    named = answer_search(tiny_searcher, "dress under 1", 5, Filters())  # the query names it: its own notice
    assert not len(named.results.ids)
    assert [code_of(n) for n in named.notices if code_of(n) in (UNMATCHED_FILTER, PRICE_UNMATCHED)] == [PRICE_UNMATCHED]


def catalog_ids(searcher: HybridSearcher, res: Results) -> list[str]:
    return [searcher.catalog.ids[i] for i in res.ids.tolist()]


def _stocked_searcher(candidates: int, *, sold_out_last: bool = True) -> tuple[Catalog, HybridSearcher]:
    """Twelve dresses, every third sold out, priced so that price and relevance orders differ."""
    products = [
        Product(id=f"d{i}", title=f"dress {'red ' * (12 - i)}", price=float(10 + (i * 7) % 12), in_stock=i % 3 != 1)
        for i in range(12)
    ]
    catalog = Catalog(products)
    config = SearchConfig(candidates=candidates, sold_out_last=sold_out_last, lexical_shortcut=0)
    return catalog, HybridSearcher.build(catalog, HashingEncoder(32), config=config)


def test_sold_out_products_follow_the_in_stock_ones_within_each_run() -> None:
    res = Results(np.arange(6), np.linspace(1, 0, 6, dtype=np.float32))
    stock = np.array([False, True, True, False, True, True])
    assert sold_out_last(res, stock, 3).ids.tolist() == [1, 2, 0, 4, 5, 3]  # runs of 3: [0 1 2] [3 4 5]
    assert sold_out_last(res, stock, 6).ids.tolist() == [1, 2, 4, 5, 0, 3]
    assert sold_out_last(res, stock, 3).scores.tolist() == res.scores[[1, 2, 0, 4, 5, 3]].tolist()
    assert sold_out_last(res, np.ones(6, dtype=bool), 3) is res  # nothing sold out: untouched


def test_search_pages_show_sold_out_products_last_and_still_join_up() -> None:
    catalog, s = _stocked_searcher(candidates=4)
    whole = answer_search(s, "red dress", 12, Filters()).results.ids.tolist()
    relevance = s.search("red dress", 12).ids.tolist()
    assert sorted(whole) == sorted(relevance) and whole != relevance
    for start in range(0, 12, 4):  # each run of `candidates` hits: in-stock first, each group in relevance order
        run = relevance[start : start + 4]
        stocked = [r for r in run if catalog.in_stock[r]]
        assert whole[start : start + 4] == stocked + [r for r in run if not catalog.in_stock[r]]
    for k in (1, 2, 3, 5):  # pages of any size join up to the whole list: no hit shown twice or skipped
        pages = [answer_search(s, "red dress", k, Filters(), offset=o).results.ids.tolist() for o in range(0, 12, k)]
        assert [r for p in pages for r in p] == whole
    _, off = _stocked_searcher(candidates=4, sold_out_last=False)
    assert answer_search(off, "red dress", 12, Filters()).results.ids.tolist() == relevance


def test_price_sorts_and_distinct_prefer_what_is_in_stock() -> None:
    catalog, s = _stocked_searcher(candidates=100)
    up = answer_search(s, "red dress", 12, Filters(), sort="price_asc", sort_depth=12).results.ids.tolist()
    stock = catalog.in_stock[up]
    assert stock[: int(stock.sum())].all() and not stock[int(stock.sum()) :].any()  # every in-stock one first
    for group in (up[: int(stock.sum())], up[int(stock.sum()) :]):
        assert np.all(np.diff(catalog.price[group]) >= 0)  # each group cheapest first
    variants = Catalog([Product("gone", "Lily dress", in_stock=False), Product("here", "Lily dress")])
    v = HybridSearcher.build(variants, HashingEncoder(32))
    shown = answer_search(v, "lily dress", 5, Filters(), distinct=True).results.ids.tolist()
    assert [variants.ids[r] for r in shown] == ["here"]  # the title's in-stock variant stands for it


def test_a_pinned_sold_out_product_still_leads(tmp_path: Path) -> None:
    catalog, s = _stocked_searcher(candidates=4)
    sold = next(r for r in s.search("red dress", 12).ids.tolist() if not catalog.in_stock[r])
    rule = {"query": "red dress", "match": "is", "pin": [catalog.ids[sold]]}
    (tmp_path / "rules.json").write_text(json.dumps([rule]))
    rules = read_rules(tmp_path / "rules.json", catalog.ids)
    first = answer_search(s, "red dress", 3, Filters(), rules=rules).results.ids.tolist()
    assert first[0] == sold  # the store's pin outranks the sold-out demotion
    assert all(catalog.in_stock[r] for r in first[1:])  # the rest: in stock first, as before
