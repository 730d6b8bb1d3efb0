"""Chinese query words read in English (CC-CEDICT first senses) for English and mixed catalogs."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index.text import to_mainland
from shelfwise.retrieve import HybridSearcher, translate

# made-up lines in CC-CEDICT's format (traditional simplified [pinyin] /sense/sense/)
CEDICT = """# CC-CEDICT test excerpt
黑色 黑色 [hei1 se4] /black/
褲子 裤子 [ku4 zi5] /trousers; pants/CL:條|条[tiao2]/
紅色 红色 [hong2 se4] /red (color)/
連衣裙 连衣裙 [lian2 yi1 qun2] /woman's dress/frock/
T恤 T恤 [T xu4] /T-shirt/
北京 北京 [Bei3 jing1] /Beijing/
倆 俩 [lia3] /variant of 兩|两[liang3]/
"""
E = translate.Entry
WORDS = {
    "黑色": E(("black",), False),
    "裤子": E(("trousers", "pants"), False),
    "红色": E(("red",), False),
    "连衣裙": E(("woman's dress", "frock"), False),
    "t恤": E(("t-shirt",), False),
    "北京": E(("beijing",), True),
}


def test_read_cedict_keeps_first_plain_senses(tmp_path: Path) -> None:
    plain = tmp_path / "cedict.txt"
    plain.write_text(CEDICT, encoding="utf-8")
    packed = tmp_path / "cedict.txt.gz"
    packed.write_bytes(gzip.compress(CEDICT.encode("utf-8")))
    for f in (plain, packed):
        # parentheses and notes dropped, senses in order, Latin lowercased, a name (北京) marked as
        # one, a cross-reference (俩) left out
        assert translate.read_cedict(f) == WORDS


def test_to_english_reads_each_word_in_order() -> None:
    def nothing(sense: str) -> bool:
        return False

    assert translate.to_english("黑色裤子", nothing, WORDS) == "black trousers"
    assert translate.to_english("黑色褲子", nothing, WORDS) == "black trousers"  # Traditional folded first
    assert translate.to_english("红色 T恤", nothing, WORDS) == "red t-shirt"
    assert translate.to_english("运动", nothing, WORDS) == ""  # not in the dictionary: nothing to add
    # a later sense only where the first names nothing in the catalog and the later one does
    assert translate.to_english("连衣裙", lambda s: s == "frock", WORDS) == "woman's dress frock"
    assert translate.to_english("裤子", lambda s: s in ("trousers", "pants"), WORDS) == "trousers"
    # a name (or a one-character word) only where the catalog has it
    assert translate.to_english("北京", nothing, WORDS) == ""
    assert translate.to_english("北京", lambda s: s == "beijing", WORDS) == "beijing"
    # the catalog's British spelling of a sense (CC-CEDICT spells the American way)
    grey = {"灰色": E(("gray", "ash gray"), False), "颜色": E(("color",), False)}
    assert translate.to_english("灰色", lambda s: s == "grey", grey) == "gray grey"
    assert translate.to_english("颜色", lambda s: s == "colour", grey) == "color colour"
    assert translate.to_english("灰色", nothing, grey) == "gray"
    floor = {"地板": E(("floor",), False)}  # -or after a vowel is no American spelling: not "flour"
    assert translate.to_english("地板", lambda s: s == "flour", floor) == "floor"


def test_read_cedict_merges_readings_and_keeps_names_for_the_cut(tmp_path: Path) -> None:
    f = tmp_path / "cedict.txt"
    f.write_text(
        "便宜 便宜 [bian4 yi2] /convenient/\n便宜 便宜 [pian2 yi5] /cheap/inexpensive/\n"
        "耐克 耐克 [Nai4 ke4] /Nike (brand)/\n耐 耐 [nai4] /to bear/\n克 克 [ke4] /to be able to/gram/\n",
        encoding="utf-8",
    )
    words = translate.read_cedict(f)
    assert words["便宜"] == translate.Entry(("convenient", "cheap", "inexpensive"), False)
    assert words["耐克"] == translate.Entry(("nike",), True)
    assert translate.words_of("耐克鞋", words) == ["耐克"]  # the name is cut whole, not 耐 + 克
    assert translate.to_english("便宜", lambda s: s == "cheap", words) == "convenient cheap"
    assert translate.to_english("耐克", lambda s: False, words) == ""  # no noise: "bear be able to" before


@pytest.fixture
def dictionary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "_dictionary", lambda: WORDS)


def test_a_chinese_query_finds_english_products_and_their_values(
    tiny_catalog: Catalog, dictionary: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=128))
    assert s.language is not None and s.language.language != "zh"
    top = [tiny_catalog.products[i].id for i in s.search("黑色裤子", 3).ids]
    assert top[0] in ("p1", "p11") and {"p1", "p11"} <= set(top)  # the English and the Chinese black trousers
    intent = s.understand("黑色裤子")
    assert intent is not None and intent.text == "黑色裤子 black trousers"
    assert ("colour", "Black") in {(m.field.removeprefix("attribute:"), m.value) for m in intent.matches}
    assert any("black trousers" in n for n in s.notices("黑色裤子"))
    monkeypatch.setattr(translate, "available", lambda: False)  # no dictionary package: as before
    s = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=128))
    before = [tiny_catalog.products[i].id for i in s.search("黑色裤子", 3).ids]
    plain = s.understand("黑色裤子")
    assert set(before[:2]) != {"p1", "p11"} and (plain is None or "black" not in plain.text)
    assert any("install shelfwise[multilingual]" in n for n in s.setup_notices("黑色裤子"))
    assert not s.notices("黑色裤子")  # advice for the operator, not a notice for shoppers


def test_chinese_catalogs_and_english_queries_are_not_translated(dictionary: None) -> None:
    titles = ["黑色裤子 男", "红色连衣裙", "白色衬衫"] * 4
    chinese = Catalog([Product(id=f"z{i}", title=t) for i, t in enumerate(titles)])
    s = HybridSearcher.build(chinese, HashingEncoder(dim=64))
    assert s.language is not None and s.language.language == "zh"
    assert s.bilingual.english_of("黑色裤子") == "" and s.understand("黑色裤子") is None
    english = HybridSearcher.build(Catalog([Product(id="e1", title="Black trousers")]), HashingEncoder(dim=64))
    assert english.bilingual.english_of("black trousers") == ""


ZH_WORDS = {
    "洗碗机": E(("dishwasher",), False),
    "连衣裙": E(("woman's dress", "dress", "frock"), False),
    "服装": E(("dress", "clothing"), False),
    "穿": E(("wear", "dress"), False),  # one character: never a candidate
    "键盘": E(("keyboard",), False),
}


def test_to_chinese_lets_the_catalog_pick_among_a_words_chinese_words() -> None:
    rev = translate.reverse_of(ZH_WORDS)
    assert rev["dress"] == ("服装", "连衣裙")  # two characters or more, its earliest sense first
    titles = ["夏季连衣裙 女", "碎花连衣裙", "儿童服装"]

    def occurs(word: str) -> int:
        return sum(word in t for t in titles)

    assert translate.to_chinese("dress", occurs, rev) == "连衣裙"  # two titles hold it, one holds 服装
    assert translate.to_chinese("dresses", occurs, rev) == "连衣裙"  # a plural read as its singular
    assert translate.to_chinese("dishwasher", occurs, rev) == ""  # no title holds 洗碗机: nothing added
    assert translate.to_chinese("dishwasher", lambda w: 1, rev) == "洗碗机"


def test_a_plural_with_its_own_senses_is_read_before_its_singular() -> None:
    rev = {"goods": ("货物",), "good": ("好的", "良好")}
    held = {"货物": 1, "好的": 40}  # every other title says 好的: the singular's word would win on counts

    def occurs(word: str) -> int:
        return held.get(word, 0)

    assert translate.to_chinese("goods", occurs, rev) == "货物"  # the word as typed has a sense the catalog holds
    assert translate.to_chinese("goods", lambda w: 40 if w == "好的" else 0, rev) == "好的"  # none held: singular


def test_an_english_query_on_a_chinese_catalog(dictionary: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "_reverse", lambda: translate.reverse_of(ZH_WORDS))
    titles = ["海尔洗碗机家用全自动", "西门子洗碗机嵌入式", "机械键盘 游戏", "夏季连衣裙 女", "碎花连衣裙", "儿童服装"]
    titles += ["FEELWORLD富威德F6PLUS 监视器"] + ["保温杯 不锈钢", "陶瓷茶杯", "运动水壶"] * 2
    catalog = Catalog([Product(id=f"z{i}", title=t) for i, t in enumerate(titles)])
    s = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    assert s.language is not None and s.language.language == "zh"
    assert s.bilingual.chinese_of("dishwasher") == "洗碗机"
    top = [catalog.products[i].id for i in s.search("dishwasher", 2).ids]
    assert set(top) == {"z0", "z1"}
    assert any("洗碗机" in n for n in s.notices("dishwasher"))
    assert s.bilingual.chinese_of("feelworld f6 plus") == ""  # a title holds its words: searched as typed
    assert s.bilingual.chinese_of("洗碗机") == ""  # a Chinese query on a Chinese catalog


def test_a_word_one_english_title_holds_does_not_stop_the_rest_being_read(
    dictionary: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = {**ZH_WORDS, "红色": E(("red",), False), "鞋子": E(("shoe",), False), "耐克": E(("nike",), True)}
    monkeypatch.setattr(translate, "_reverse", lambda: translate.reverse_of(words))
    titles = ["红色鞋子 女", "红色高跟鞋子", "黑色鞋子 男", "Taylor Swift RED 专辑", "Nike Air 篮球鞋子"]
    titles += ["保温杯 不锈钢", "陶瓷茶杯", "运动水壶"] * 2
    catalog = Catalog([Product(id=f"z{i}", title=t) for i, t in enumerate(titles)])
    s = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    # one English title holds "red": it used to stop the whole query being read in Chinese
    assert s.bilingual.chinese_of("red shoes") == "红色 鞋子"
    assert {catalog.products[i].id for i in s.search("red shoes", 2).ids} == {"z0", "z1"}
    assert any("红色 鞋子" in n for n in s.notices("red shoes"))
    # a word more titles hold as typed than in Chinese is searched as typed: no 耐克 for "nike"
    assert s.bilingual.chinese_of("nike shoes") == "鞋子"
    assert translate.to_chinese("red", lambda w: 2, translate.reverse_of(words), typed=lambda w: 2) == ""
    assert translate.to_chinese("red", lambda w: 3, translate.reverse_of(words), typed=lambda w: 2) == "红色"


def test_taiwan_wording_is_also_searched_in_mainland_wording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "available", lambda: False)  # no dictionary needed
    titles = ["金士顿U盘 64G", "闪迪U盘 高速", "随身听 磁带机", "无线鼠标 静音", "机械键盘", "保温杯", "陶瓷茶杯"]
    catalog = Catalog([Product(id=f"z{i}", title=t) for i, t in enumerate(titles)])
    s = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    assert s.bilingual.added("隨身碟") == "U盘"  # folding the characters alone searched 随身碟: the 随身听

    # the U盘 now hold words of the query (the typed characters still count: 随身 of 随身听)
    def words_held(searcher: HybridSearcher) -> set[str]:
        r = searcher.search("隨身碟", 7, match_features=True)
        return {catalog.products[i].title for i, w in zip(r.ids, r.features["bm25"], strict=True) if w > 0}

    assert words_held(s) >= {"金士顿U盘 64G", "闪迪U盘 高速"}
    plain = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    monkeypatch.setattr(plain.bilingual, "regional_of", lambda q: ("", ""))
    assert words_held(plain) == {"随身听 磁带机"}  # as before: only the 随身听 held a word of it
    assert s.notices("隨身碟") == ["Taiwan wording also searched as mainland wording: 'U盘'"]
    assert s.bilingual.added("鍵盤 滑鼠") == "鼠标"  # 滑鼠 is written alike, but the query is Traditional
    # typed in characters both scripts share: Taiwan's word, which the catalog holds less than 鼠标
    assert s.bilingual.added("滑鼠") == "鼠标" and s.notices("滑鼠") == [
        "Taiwan wording also searched as mainland wording: '鼠标'"
    ]
    assert s.bilingual.added("鼠标") == ""  # the mainland word itself
    assert s.bilingual.added("保溫杯") == ""  # the same word in both: the characters are folded anyway


def test_a_shared_word_the_catalog_holds_as_typed_is_searched_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "available", lambda: False)
    titles = ["晶片 电阻 电容 元件", "LED晶片 灯珠", "手机芯片 维修", "保温杯", "陶瓷茶杯"]
    s = HybridSearcher.build(Catalog([Product(id=f"c{i}", title=t) for i, t in enumerate(titles)]), HashingEncoder(32))
    assert to_mainland("晶片") == "芯片"  # Taiwan's word for a chip, written alike in Simplified
    assert s.bilingual.added("晶片") == ""  # this store says 晶片 more than 芯片: no reading added
    assert s.bilingual.added("晶片 鼠标") == ""


def test_taiwan_words_opencc_lacks_are_read_in_mainland_wording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "available", lambda: False)
    titles = ["联想笔记本电脑 14寸", "戴尔笔记本电脑 游戏本", "多功能测电笔 电工专用", "电笔 数显", "保温杯"]
    catalog = Catalog([Product(id=f"n{i}", title=t) for i, t in enumerate(titles)])
    s = HybridSearcher.build(catalog, HashingEncoder(32))
    assert s.bilingual.added("筆電") == "笔记本电脑" and s.bilingual.added("電競筆電") == "电竞笔记本电脑"
    top = [catalog.products[i].id for i in s.search("筆電", 2, mode="bm25").ids]
    assert set(top) == {"n0", "n1"}  # laptops, not the 电笔 (electric pens) the characters alone found


def test_a_taiwan_store_reads_mainland_wording_in_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "available", lambda: False)
    titles = ["金士頓隨身碟 64G", "閃迪隨身碟 高速", "無線滑鼠 靜音", "機械鍵盤", "保溫杯", "陶瓷茶杯", "U型枕"]
    catalog = Catalog([Product(id=f"t{i}", title=t) for i, t in enumerate(titles)])
    s = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    assert not s.bilingual.simplified()  # its titles are Traditional: its own wording is Taiwan's
    assert s.bilingual.added("隨身碟") == "" and s.notices("隨身碟") == []  # typed as the store writes
    assert s.bilingual.added("U盘") == "隨身碟"  # a mainland shopper's word, as Taiwan writes it
    assert s.notices("U盘") == ["Mainland wording also searched as Taiwan wording: '隨身碟'"]
    r = s.search("U盘", 7, match_features=True)
    held = {catalog.products[i].title for i, w in zip(r.ids, r.features["bm25"], strict=True) if w > 0}
    assert {"金士頓隨身碟 64G", "閃迪隨身碟 高速"} <= held
    assert s.bilingual.added("无线鼠标") == "無線滑鼠" and s.bilingual.added("保温杯") == ""
