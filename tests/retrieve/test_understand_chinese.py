"""Query understanding on a Chinese catalog: values match inside run-on Chinese text."""

import pytest

from shelfwise.catalog.schema import Catalog, Product
from shelfwise.encode.hashing import HashingEncoder
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.understand import QueryUnderstanding, chinese_number, parse_price


def _catalog() -> Catalog:
    def p(pid: str, title: str, cat: str, colour: str, price: float, kind: str = "休闲") -> Product:
        return Product(pid, title, category=("服装", cat), price=price, attributes={"颜色": colour, "风格": kind})

    return Catalog(
        [
            p("1", "黑色休闲裤子", "裤子", "黑色", 89.0),
            p("2", "黑色直筒裤子", "裤子", "黑色", 129.0),
            p("3", "白色运动裤子", "裤子", "白色", 99.0, "运动"),
            p("4", "白色运动T恤", "T恤", "白色", 59.0, "运动"),
            p("5", "黑色纯棉T恤", "T恤", "黑色", 49.0),
            p("6", "红色大衣", "大衣", "红色", 399.0, "大"),
            p("7", "灰色大衣", "大衣", "灰色", 299.0, "大"),
        ]
    )


def _found(qu: QueryUnderstanding, query: str) -> set[tuple[str, str, str]]:
    return {(m.field, m.value, m.phrase) for m in qu.parse(query).matches}


def test_catalog_values_match_inside_run_on_chinese() -> None:
    qu = QueryUnderstanding(_catalog())
    expected = {("attribute:颜色", "黑色", "黑色"), ("category", "裤子", "裤子")}
    assert _found(qu, "黑色裤子") == expected
    assert _found(qu, "黑色 裤子") == expected  # with a space: the same
    assert _found(qu, "我想要黑色的裤子") == expected
    assert _found(qu, "黑色T恤") == {("attribute:颜色", "黑色", "黑色"), ("category", "T恤", "t恤")}
    assert _found(qu, "黑色shirt恤") == {("attribute:颜色", "黑色", "黑色")}  # not inside a Latin word
    assert _found(qu, "黑色") == {("attribute:颜色", "黑色", "黑色")}
    assert _found(qu, "黑色大衣") == {("attribute:颜色", "黑色", "黑色"), ("category", "大衣", "大衣")}
    # a one-character value only as a run of its own: "大" is not read out of "大衣" or "大号"
    assert _found(qu, "大号") == set()
    assert _found(qu, "大 外套") == {("attribute:风格", "大", "大")}
    assert qu.parse("紫色帽子").is_empty()


def test_phrase_is_what_the_shopper_typed_and_price_particle_goes() -> None:
    qu = QueryUnderstanding(_catalog())
    intent = qu.parse("100以内的 运动")
    assert intent.price_max == 100.0 and intent.text == "运动"
    assert {(m.field, m.value, m.phrase) for m in intent.matches} == {("attribute:风格", "运动", "运动")}
    intent = qu.parse("黑色裤子100元以内")
    assert intent.price_max == 100.0 and intent.text == "黑色裤子"
    assert [m.phrase for m in intent.matches] == ["黑色", "裤子"]
    # Traditional characters fold to the catalog's Simplified values; the phrase keeps what was typed
    assert _found(qu, "黑色運動褲子") == {
        ("attribute:颜色", "黑色", "黑色"),
        ("attribute:风格", "运动", "運動"),
        ("category", "裤子", "褲子"),
    }


def test_chinese_search_reports_and_uses_the_understood_values() -> None:
    cat = _catalog()
    s = HybridSearcher.build(cat, HashingEncoder(64))
    intent = s.understand("黑色裤子")
    assert intent is not None
    assert intent.to_json()["matches"] == [
        {"field": "attribute:颜色", "value": "黑色", "phrase": "黑色"},
        {"field": "category", "value": "裤子", "phrase": "裤子"},
    ]
    top = [cat.ids[i] for i in s.search("黑色裤子", 2).ids.tolist()]
    assert sorted(top) == ["1", "2"]  # black and trousers both
    assert all(cat.products[i].price <= 100 for i in s.search("黑色裤子100元以内", 5).ids.tolist())  # type: ignore[operator]


@pytest.mark.parametrize(
    ("query", "rest", "lo", "hi"),
    [
        ("五十元以下", "", None, 50.0),  # Chinese numerals where a price stands
        ("两百元以内 鞋", "鞋", None, 200.0),
        ("一百块以内的保温杯", "保温杯", None, 100.0),
        ("低于五十块", "", None, 50.0),
        ("不超过两百", "", None, 200.0),
        ("三百以内", "", None, 300.0),
        ("百元以内", "", None, 100.0),
        ("五十到一百元的鞋", "鞋", 50.0, 100.0),
        ("鞋 高于三百五十元 黑色", "鞋 黑色", 350.0, None),
        ("5千以内 手机", "手机", None, 5000.0),
        ("100块钱以内", "", None, 100.0),
        ("五十元代金券 100元以下", "五十元代金券", None, 100.0),  # other numerals stay as typed
        # not prices: sums up to 10 (a workbook), a product type, ages, a brand
        ("10以内加减法", "10以内加减法", None, None),
        ("20以内的加减法", "20以内的加减法", None, None),
        ("十以内加减法", "十以内加减法", None, None),
        ("千元机", "千元机", None, None),
        ("一到三岁 童鞋", "一到三岁 童鞋", None, None),
        ("三只松鼠", "三只松鼠", None, None),
    ],
)
def test_chinese_price_phrases(query: str, rest: str, lo: float | None, hi: float | None) -> None:
    assert parse_price(query) == (rest, lo, hi)


def test_chinese_numbers() -> None:
    values = {"五十": 50, "两百": 200, "一百零五": 105, "一百五": 150, "十五": 15, "一百一十五": 115, "两千五": 2500}
    for text, value in values.items():
        assert chinese_number(text) == value, text
    assert chinese_number("三万五") == 35000 and chinese_number("一二") is None


def test_a_price_phrase_in_a_store_without_prices_is_said_to_be_searched_as_words() -> None:
    unpriced = Catalog([Product(f"u{i}", t) for i, t in enumerate(["纪念钞 面值100元", "保温杯", "运动鞋"])])
    s = HybridSearcher.build(unpriced, HashingEncoder(64))
    assert s.notices("100元以下") == [
        "the query names a price (100 or less), but no product here has a price: it was searched as words"
    ]
    assert "(20 to 50)" in s.notices("20-50元 保温杯")[0] and "(300 or more)" in s.notices("300元以上")[0]
    assert s.notices("保温杯") == []
    priced = HybridSearcher.build(_catalog(), HashingEncoder(64))
    assert priced.notices("100元以下") == []  # a filter there: nothing to say


def test_a_chinese_value_inside_a_longer_word_is_not_read_as_that_value() -> None:
    rows = [
        ("小米 13 手机 黑色", "小米"),
        ("小米 Redmi 手机 5G", "小米"),
        ("小米手环 8", "小米"),
        ("东北黄小米 5斤 新米", "五谷坊"),
        ("山西黄小米 小米粥 杂粮", "五谷坊"),
        ("小米粥 即食 杂粮", "五谷坊"),
        ("苹果手机 iPhone 15", "苹果"),
        ("苹果手机壳 透明", "苹果"),
        ("红富士苹果 10斤 新鲜水果", "果园"),
        ("烟台红富士苹果 脆甜", "果园"),
    ]
    catalog = Catalog([Product(str(i), t, brand=b) for i, (t, b) in enumerate(rows)])
    u = HybridSearcher.build(catalog, HashingEncoder(dim=32)).understanding
    brands = lambda q: [m.value for m in u.parse(q).matches if m.field == "brand"]  # noqa: E731
    assert brands("小米") == ["小米"] and brands("小米手机") == ["小米"] and brands("苹果手机") == ["苹果"]
    assert brands("黄小米") == [] and brands("小米粥") == [] and brands("红富士苹果") == []


@pytest.mark.parametrize(
    ("query", "rest", "lo", "hi"),
    [
        ("手机 1000元左右", "手机", 800.0, 1200.0),
        ("1000左右的手机", "手机", 800.0, 1200.0),
        ("大约500元左右 耳机", "耳机", 400.0, 600.0),
        ("五十元左右", "", 40.0, 60.0),
        ("phone around $300", "phone", 240.0, 360.0),
        ("about 50 dollars shoes", "shoes", 40.0, 60.0),
        ("100元内 耳机", "耳机", None, 100.0),
        ("38码左右 鞋", "38码左右 鞋", None, None),  # a shoe size, not a price
        ("about 50 shoes", "about 50 shoes", None, None),  # no currency: not read as a price
        ("about 5 ft ladder", "about 5 ft ladder", None, None),
    ],
)
def test_about_a_price_is_a_range_around_it(query: str, rest: str, lo: float | None, hi: float | None) -> None:
    assert parse_price(query) == (rest, lo, hi)
