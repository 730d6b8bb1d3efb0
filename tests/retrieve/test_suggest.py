"""Type-ahead suggestions: catalog phrases, shoppers' queries (min shoppers), live counts, saving."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.catalog.schema import Catalog, Product
from shelfwise.events.schema import Event, EventType
from shelfwise.retrieve.suggest import SuggestConfig, Suggester

TITLES = [
    "Cordless drill driver kit",
    "Cordless drill with battery",
    "Cordless drill and impact driver",
    "Stainless steel sink",
    "Stainless steel dishwasher",
    "Black stainless steel range",
    "White wall paint, 1 gal.",
    "White wall paint, 5 gal.",
    "儿童玩具积木",
    "儿童玩具汽车",
    "連衣裙 夏季",
    "连衣裙 长款",
]


def _catalog() -> Catalog:
    return Catalog([Product(str(i), t, brand="Ryobi" if i < 3 else "") for i, t in enumerate(TITLES)])


def texts(s: Suggester, typed: str, k: int = 8) -> list[str]:
    return [x.text for x in s.suggest(typed, k)]


def test_catalog_phrases_complete_what_was_typed() -> None:
    s = Suggester.fit(_catalog())
    assert texts(s, "cordless d") == ["cordless drill"]  # "cordless drill driver": 1 product, "drill driver" 2
    got = texts(s, "Stain")
    assert got[0] == "stainless steel" and "stainless" not in got  # every "stainless" is "stainless steel"
    assert not any(t.endswith((" with", " and")) for t in texts(s, "cordless drill"))  # no stop word at an end
    assert "ryobi" in texts(s, "ry")  # a brand is always suggestible
    assert texts(s, "儿童")[0] == "儿童玩具"
    assert texts(s, "連衣") == ["连衣裙"]  # Traditional typed, folded; both spellings counted together
    assert s.suggest("cordless d")[0].source == "catalog" and s.suggest("cordless d")[0].count == 3
    assert texts(s, "   ") == [] and texts(s, "zzz") == []


def test_the_end_of_the_typed_text_is_completed_when_the_whole_starts_no_phrase() -> None:
    s = Suggester.fit(_catalog())
    assert texts(s, "red cord") == ["red cordless drill"]
    assert texts(s, "long black stai") == ["long black stainless steel"]
    assert texts(s, "红色连衣") == ["红色连衣裙"]
    assert texts(s, "red c") == []  # one letter left would complete to anything


def test_a_chinese_word_is_never_cut_in_two() -> None:
    """The typed start is kept and its end completed only where words meet: 连衣 + 衣柜 made "连衣柜"."""
    titles = ["连衣裙 夏季", "连衣裙 长款", "衣柜 实木", "衣柜 简约", "温州 特产", "温州 皮鞋"]
    titles += ["保温杯 大", "保温杯 小"]
    cat = Catalog([Product(str(i), t) for i, t in enumerate(titles)])
    s = Suggester.fit(cat)
    assert texts(s, "连衣") == ["连衣裙"]
    assert texts(s, "保温") == ["保温杯"]  # not 保 + 温州 ("保温州")
    assert texts(s, "夏季连衣") == ["夏季连衣裙"]  # 夏季 | 连衣: completed after the word the shopper finished


def test_shoppers_queries_come_first_once_enough_shoppers_typed_them() -> None:
    s = Suggester.fit(_catalog(), [("u1", "cordless drill 18v"), ("u1", "Cordless Drill 18V")])
    assert "cordless drill 18v" not in texts(s, "cordless")  # one shopper only
    s.update([Event("u2", EventType.QUERY, 1.0, query="cordless drill 18v")])
    top = s.suggest("cordless", 3)[0]
    assert (top.text, top.source, top.count) == ("cordless drill 18v", "queries", 3)
    s.update([Event("u3", EventType.CLICK, 2.0, item_id="1", query="cordless drill 18V")])
    assert s.suggest("cordless", 3)[0].count == 4  # counted live


def test_saved_and_loaded_the_same(tmp_path: Path) -> None:
    s = Suggester.fit(_catalog(), [("u1", "paint roller"), ("u2", "paint roller"), ("u3", "paint tray")])
    s.save(tmp_path / "suggest.json")
    back = Suggester.load(tmp_path / "suggest.json")
    for typed in ("p", "white", "儿", "paint"):
        assert back.suggest(typed) == s.suggest(typed)
    back.add([("u4", "paint tray")])  # the pending shopper of "paint tray" was saved too
    assert "paint tray" in texts(back, "paint")


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="min_users"):
        SuggestConfig(min_users=0)
    with pytest.raises(ValueError, match="keep_ratio"):
        SuggestConfig(keep_ratio=0)
    with pytest.raises(ValueError, match="k must be"):
        Suggester.fit(_catalog()).suggest("a", 0)


def _store(titles_cats_prices: list[tuple[str, tuple[str, ...], float | None]]) -> Catalog:
    return Catalog([Product(str(i), t, category=c, price=p) for i, (t, c, p) in enumerate(titles_cats_prices)])


def test_examples_are_the_stores_product_types_and_the_last_has_a_price() -> None:
    """The search box's hint: a grocery's aisles, not the fashion demo's "black trousers"."""
    cat = _store(
        [
            ("Organic bananas", ("Produce", "Fresh Fruits"), 1.99),
            ("Honeycrisp apples", ("Produce", "Fresh Fruits"), 5.99),
            ("Lemons", ("Produce", "Fresh Fruits"), 3.49),
            ("Whole milk", ("Dairy", "Milk"), 4.29),
            ("Skim milk", ("Dairy", "Milk"), 3.79),
            ("Brown eggs", ("Dairy", "Eggs"), 4.49),
        ]
    )
    s = Suggester.fit(cat)
    assert s.examples(cat) == ["fresh fruits", "milk", "eggs under 5"]  # median 4.05 -> a round 5
    assert s.examples(cat, 1) == ["fresh fruits under 5"]
    bucket = _store([(f"thing {i}", ("Home", "其他"), None) for i in range(5)] + [("保温杯", ("Home", "杯子"), None)])
    assert Suggester.fit(bucket).examples(bucket, 2) == ["杯子"]  # the catch-all bucket is no kind of product
    assert s.examples(cat, 10)[-1] == "eggs under 5"  # no more types than the store has
    s.add([("u1", "bananas"), ("u2", "bananas"), ("u1", "milk under 4"), ("u2", "milk under 4")])
    s.add([("u3", "bananas")])
    assert s.examples(cat) == ["bananas", "milk under 4", "fresh fruits under 5"]  # shoppers' queries first
    assert s.examples(cat, 2) == ["bananas", "milk under 4"]  # a price it names already: not a second one
    for k in (0, 11):
        with pytest.raises(ValueError, match="k must be"):
            s.examples(cat, k)


def test_examples_without_categories_or_prices_are_title_phrases_in_the_catalogs_language() -> None:
    """A Taobao-like store (titles only): Chinese phrases, no listing boilerplate, no sizes, no price."""
    titles = ["包邮 不锈钢 保温杯 500ml", "不锈钢 保温杯 儿童", "包邮 不锈钢 饭盒", "儿童 水杯 500ml", "正品 包邮 水杯"]
    cat = _store([(t, (), None) for t in titles])
    got = Suggester.fit(cat).examples(cat)
    assert got[0] == "不锈钢" and set(got) <= {"不锈钢", "保温杯", "儿童", "水杯", "不锈钢保温杯"} and len(got) == 3
    priced = _store([(t, (), 30.0 + i) for i, t in enumerate(titles)])
    assert Suggester.fit(priced).examples(priced, 1) == ["不锈钢50元以下"]  # median 32 -> 50, a Chinese cap


def test_a_query_turning_suggestible_does_not_re_sort_every_query(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Live: each query that reaches min_users shoppers was made suggestible by re-sorting every
    suggestible query (0.29 s a batch at 500k queries, on the event consumer's thread that also
    feeds recommendations); now it joins a small list of the newest, merged in now and then."""
    from shelfwise.retrieve import suggest

    sorted_texts = []
    real = suggest._Sorted.__init__

    def counting(self: object, counts: dict[str, int]) -> None:
        sorted_texts.append(len(counts))
        real(self, counts)  # type: ignore[arg-type]

    s = Suggester({}, {f"old query {i:05d}": 2 + i % 7 for i in range(20_000)})
    monkeypatch.setattr(suggest._Sorted, "__init__", counting)
    for i in range(300):
        s.update([Event(u, EventType.QUERY, 1.0, query=f"new query {i}") for u in ("u1", "u2")])
    assert sum(sorted_texts) < 300 * 1_000  # was 300 x 20,000
    assert [x.text for x in s.suggest("new query 29", 2)] == ["new query 29", "new query 290"]
    s.update([Event("u3", EventType.QUERY, 1.0, query="new query 7") for _ in range(3)])  # counted live
    assert [(x.text, x.count) for x in s.suggest("new query", 2)] == [("new query 7", 5), ("new query 0", 2)]
    assert s.suggest("old query 0000", 2)[0].text == "old query 00006"  # the most typed (8) first
    s.save(tmp_path / "suggest.json")  # the newest queries are saved with the others
    assert Suggester.load(tmp_path / "suggest.json").suggest("new query", 2) == s.suggest("new query", 2)


def test_shoppers_queries_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from shelfwise.retrieve import suggest

    monkeypatch.setattr(suggest, "MAX_QUERIES", 2_000)
    s = Suggester({}, {"drill bits": 50})
    for i in range(5_000):
        s.add([(u, f"query {i}") for u in ("u1", "u2")])
    assert len(s._counts) <= 2_000 * (1 + 1 / suggest.FRESH_SHARE) + 1_024
    assert texts(s, "drill") == ["drill bits"]  # the most typed stay


def test_forgetting_the_oldest_pending_query_stays_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """At MAX_PENDING each new query forgets the oldest: a plain dict's first key was deleted each
    time, and finding the next first key walked every hole left so far (20,000 new queries took 0.08 s,
    then 0.18, 0.29 ... 0.70 s, until the dict happened to resize; load 0.4). Now constant."""
    import time

    from shelfwise.retrieve import suggest

    monkeypatch.setattr(suggest, "MAX_PENDING", 200_000)
    s = Suggester({})
    n = 0

    def block(size: int) -> float:
        nonlocal n
        t0 = time.perf_counter()
        for start in range(n, n + size, 500):
            s.add([("u1", f"query {j}") for j in range(start, start + 500)])
        n += size
        return time.perf_counter() - t0

    block(200_000)
    times = [block(20_000) for _ in range(7)]
    assert max(times[-2:]) < 4 * min(times[:2]), times  # was ~8x by the 7th block
    assert len(s._pending) == 200_000
    s.add([("u2", f"query {n - 1}"), ("u2", "query 0")])  # the newest is still pending, the oldest forgotten
    assert texts(s, f"query {n - 1}") == [f"query {n - 1}"] and texts(s, "query 0", 1) != ["query 0"]


def test_the_saved_suggester_holds_no_shopper_id(tmp_path: Path) -> None:
    s = Suggester.fit(_catalog(), [("alice@example.com", "paint roller"), ("bob-42", "garden hose")])
    s.save(tmp_path / "suggest.json")
    text = (tmp_path / "suggest.json").read_text(encoding="utf-8")
    assert "alice@example.com" not in text and "bob-42" not in text and "paint roller" in text
    back = Suggester.load(tmp_path / "suggest.json")
    back.add([("alice@example.com", "paint roller")])  # the same shopper again: still one shopper
    assert "paint roller" not in texts(back, "paint")
    back.add([("carol", "paint roller")])  # a second shopper: suggestible
    assert "paint roller" in texts(back, "paint")


ZH_TITLES = [
    "保温杯 不锈钢 大容量",
    "儿童保温杯 带吸管",
    "保温饭盒 上班族",
    "保暖内衣 女 加厚",
    "保暖内衣 男 冬季",
    "包邮 手机壳",
    "手机壳 硅胶",
    "不粘锅 平底",
    "不粘锅 炒锅",
    "银行卡套 卡包",
    "银行卡套 真皮",
]


def test_pinyin_typed_without_tones_completes_to_the_chinese_phrases_it_spells() -> None:
    s = Suggester.fit(Catalog([Product(str(i), t) for i, t in enumerate(ZH_TITLES)]))
    assert texts(s, "baow") == ["保温杯"]
    assert texts(s, "bao") == ["保暖内衣", "保温杯"]  # most held first
    assert texts(s, "bao wen") == texts(s, "BaoWen") == ["保温杯"]  # spaces, case
    assert texts(s, "shouj") == ["手机"]
    assert texts(s, "buzhan") == texts(s, "bunian") == ["不粘锅"]  # character by character, and in context
    assert texts(s, "yinhang") == ["银行卡"]  # 行 read in context ("yinxing" by character)
    assert texts(s, "baow", 1) == ["保温杯"]
    assert texts(s, "zz") == [] and texts(s, "b") == []  # no phrase spells it; one letter is not read


def test_pinyin_is_read_on_a_chinese_catalog_only(tmp_path: Path) -> None:
    mixed = Suggester.fit(_catalog())  # mostly English phrases: "lian" is no pinyin there
    assert texts(mixed, "lianyi") == []
    zh = Suggester.fit(Catalog([Product(str(i), t) for i, t in enumerate(ZH_TITLES)]))
    zh.save(tmp_path / "suggest.json")
    assert texts(Suggester.load(tmp_path / "suggest.json"), "baow") == texts(zh, "baow")  # spelled again at load
