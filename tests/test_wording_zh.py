"""Every shopper-facing reason and notice template the code writes has its Chinese (lang=zh), with the
variable parts (titles, categories, words) kept."""

from __future__ import annotations

import re

import pytest

from shelfwise.catalog.schema import NONE_IN_STOCK_BY_DEFAULT
from shelfwise.index.text import has_cjk
from shelfwise.recommend.cold_items import cold_reason
from shelfwise.recommend.content import QUERY_REASON
from shelfwise.recommend.explore import EXPLORE_REASON, explored_reason
from shelfwise.recommend.wording import _WORDS, NEUTRAL
from shelfwise.retrieve.answer import NEAREST, NEAREST_SPELLING
from shelfwise.serve import lists
from shelfwise.serve.routes import recommend as routes
from shelfwise.wording_zh import localise, localise_all

T = "Zebra Lamp 3000"  # a made-up title: kept as it is


def _reasons() -> list[str]:
    out = [QUERY_REASON, EXPLORE_REASON, "popular in Home > Lighting", "similar product description"]
    out += ["popular in the catalog"]  # a product with no category
    out += [f"similar text to {T}", f"similar text to {T} (cosine 0.87)"]
    for w in (*_WORDS, NEUTRAL):
        out += [w.together_with(T), w.frequently_together(), w.shoppers_like_you(), w.next_after(T)]
        out += [w.together_with(T, 1.0), w.together_with(T, 1234.0)]  # "(once)", "(1,234 times)"
        out += [w.next_after(None), w.next_in_sessions(), w.similar_shoppers(), w.before]
        out += [w.together_with(f"items like {T}") + f" (e.g. another {T})"]
        out += [w.together_with("items in Lighting") + f" (e.g. {T})"]
        out += [w.frequently_together() + f" (e.g. {T})"]  # cross, a store with no categories
        out += [cold_reason(T, w.done)]  # "new, similar to X you bought"
        out += [explored_reason(w.together_with(T))]  # a relevance-gated explored item names its evidence
        out += [w.in_recent(3, 5), w.in_recent(2, 2), w.in_recent(1, 1)]  # "you bought this in 3 of your last 5 orders"
    return out


def _notices() -> list[str]:
    from shelfwise.recommend.session_answer import EMPTY_SESSION

    out = [routes.UNKNOWN_USER, EMPTY_SESSION, lists.SHORT_CROSS, routes.TEXT_ONLY, *lists.EMPTY.values()]
    out += [
        "Chinese words also searched in English: 'black trousers' (CC-CEDICT)",
        "English words also searched in Chinese: '红色 鞋子' (CC-CEDICT)",
        "Pinyin also searched as the Chinese words it spells: '手机壳'",
        "Taiwan wording also searched as mainland wording: 'U盘'",
        "Mainland wording also searched as Taiwan wording: '滑鼠'",
        "also searched, by the store's synonyms: 'couch settee'",
        "the query names a price (100 or less), but no product here has a price: it was searched as words",
        "sorted by price among the 100 most relevant products: this page reads past them (raise sort_depth)",
        "no product is in category 'Men > Shoes'; top-level categories: Women, Kids",
        "no product has brand 'Acme'",
        "no product has brand 'Acme' or 'Zed'",
        "no product has attribute 'colour' (attributes here: size, fit)",
        "no product has colour 'Mauve'",
        "no product is in stock, so in_stock=true matches none",
        'no product is in category \'Men/Shoes\' (levels are separated by " > ", e.g. "Men > Trousers")',
        "no history yet for shopper 'guest-ab12': results are not personalised",
        f"only 3 of the 10 asked for: {lists.SHORT_CROSS}",
        f"no product holds a word of 'jeans': {NEAREST}",
        f"no product holds a word of 'jeans': {NEAREST_SPELLING}",
        "no product costs 5,000 or more (prices here: 19 to 99)",
        "no product costs 1 to 2.50 (prices here: 19 to 99)",
        f"no product that passes the filters holds a word of 'jeans': {NEAREST}",
        "the one product holding every word of '耳机' is sold out",
        "the one product holding every word of 'jeans' is sold out: in_stock=true hides them",
        "all 3 products holding every word of 'red dress' are sold out",
        "all 3 products holding every word of 'red dress' are sold out: in_stock=true hides them",
    ]
    return out


@pytest.mark.parametrize("text", _reasons() + _notices())
def test_every_template_has_its_chinese(text: str) -> None:
    zh = localise(text, "zh")
    assert zh != text and has_cjk(zh)
    english = re.sub(
        r"Zebra Lamp 3000|Home > Lighting|Lighting|black trousers|couch settee|Men > Shoes|Acme|U盘", "", zh
    )
    assert not re.search(r"\b(with|together|shoppers|popular|similar|bought|viewed|searched|product)\b", english)
    for kept in (T, "Home > Lighting", "'couch settee'", "'手机壳'", "0.87"):
        if kept in text:
            assert kept in zh  # the variable part as it was


def test_english_and_unknown_texts_stay_as_they_are() -> None:
    assert localise("bought together with X", "en") == "bought together with X"
    assert localise("a sentence no template knows", "zh") == "a sentence no template knows"
    assert localise_all(None, "zh") is None and localise_all(["popular"], "zh") == ["热门商品"]
    with pytest.raises(ValueError, match="lang"):
        localise("popular", "fr")


def test_the_category_notice_keeps_the_categories_there_are() -> None:
    zh = localise("no product is in category 'Shoes'; top-level categories: Kids, Men", "zh")
    assert zh == "没有商品属于品类 'Shoes'；一级品类：Kids、Men"
    long = "no product is in category 'X'; top-level categories: A, B, C, D, E, F, G, H, ... (11 in all)"
    assert localise(long, "zh") == "没有商品属于品类 'X'；一级品类：A、B、C、D、E、F、G、H 等 11 个"  # no English left
    assert localise("no product costs 5,000 or more (prices here: 19 to 99)", "zh") == (
        "没有商品的价格在 5,000 及以上（本店价格：19 至 99）"
    )
    assert (
        localise("no product matches the price the query names (<= 10)", "zh") == "没有商品符合搜索词中的价格（<= 10）"
    )


@pytest.mark.parametrize("kind", sorted(lists.EMPTY))
def test_an_empty_list_with_a_filter_is_said_in_chinese(kind: str) -> None:
    """/recommend/* with category= or in_stock=: the empty-list notice gets what the filter matched
    (it stayed English whole under lang=zh)."""
    head = localise(lists.EMPTY[kind], "zh")
    unmatched = f"{lists.EMPTY[kind]}: no product is in category 'Shoes'; top-level categories: Kids, Men"
    assert localise(unmatched, "zh") == f"{head}：没有商品属于品类 'Shoes'；一级品类：Kids、Men"
    two = f"{lists.EMPTY[kind]}: no product is in category 'Shoes'; there: A, B; no product has brand 'Acme'"
    assert localise(two, "zh") == f"{head}：没有商品属于品类 'Shoes'；该层级的品类：A、B；没有商品属于品牌 'Acme'"
    filtered = localise(f"{lists.EMPTY[kind]} (with the category / in-stock filters)", "zh")
    assert filtered == f"{head}（在所选的品类 / 有货筛选下）"


@pytest.mark.parametrize(
    ("said", "zh"),
    [
        (" (with the category filter)", "（在所选的品类筛选下）"),
        (" (in-stock products only, by default)", "（默认只列有货商品）"),
        (
            " (with the category / brand / price / attribute filters; in-stock products only, by default)",
            "（在所选的品类 / 品牌 / 价格 / 属性筛选下；默认只列有货商品）",
        ),
        (" (with the in-stock filter)", "（在所选的有货筛选下）"),
    ],
)
def test_the_filters_in_force_are_named_in_chinese(said: str, zh: str) -> None:
    """Only the filters in force, and whether in stock was the default or asked (it said 'category /
    in-stock' whatever was set)."""
    assert localise(lists.EMPTY["item"] + said, "zh") == localise(lists.EMPTY["item"], "zh") + zh
    assert localise(lists.EMPTY["item"] + " (with the colour filter)", "zh").endswith("(with the colour filter)")
    assert (
        localise(NONE_IN_STOCK_BY_DEFAULT, "zh")
        == "本店没有有货的商品（推荐默认只列有货商品；in_stock=false 可列出售罄商品）"
    )


def test_a_short_cross_list_with_a_filter_is_said_in_chinese() -> None:
    text = f"only 3 of the 10 asked for: {lists.SHORT_CROSS} (with the category / in-stock filters)"
    zh = localise(text, "zh")
    assert zh.startswith("只找到 3 件（共需 10 件）：") and not re.search(r"[a-z]{3,}", zh)
    default = localise(f"only 3 of the 10 asked for: {lists.SHORT_CROSS} ({lists.DEFAULT_STOCK})", "zh")
    assert default.endswith("（默认只列有货商品）") and not re.search(r"[a-z]{3,}", default)


def test_a_product_with_no_category_is_popular_in_the_whole_store() -> None:
    assert localise("popular in the catalog", "zh") == "全店热门商品"  # was 'the catalog中的热门商品'
