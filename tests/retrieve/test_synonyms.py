"""The store's synonyms (Solr format): expansion of the query, errors by line, saved with the searcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.catalog.schema import Catalog, Product
from shelfwise.encode.hashing import HashingEncoder
from shelfwise.errors import DataError
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.synonyms import Synonyms, read_synonyms

RULES = """# living room
sofa, couch, settee
tv, telly => television
洗衣机, 洗衣機器 => washer
"""


def _rules(tmp_path: Path, text: str = RULES) -> Synonyms:
    f = tmp_path / "synonyms.txt"
    f.write_text(text, encoding="utf-8")
    return read_synonyms(f)


def test_equivalent_and_one_way_rules_add_the_other_words(tmp_path: Path) -> None:
    s = _rules(tmp_path)
    assert len(s) == 3 and not s.problems
    assert s.added("grey Sofas") == "couch settee"  # stemmed, case folded; the query's own word not repeated
    assert s.added("leather couch") == "sofa settee"
    assert s.added("TV stand") == "television" and s.added("television stand") == ""  # one way only
    assert s.added("teletubbies") == "" and s.added("sofabed") == ""  # whole words, not parts of words
    assert s.added("滚筒洗衣机") == "washer"  # Chinese: where the characters occur
    assert s.notices("tv") == ["also searched, by the store's synonyms: 'television'"]


def test_malformed_lines_are_named_and_the_good_ones_kept(tmp_path: Path) -> None:
    s = _rules(tmp_path, "sofa, couch\nlonely\n => tv\na => b => c\n!!!, ???\nrug, carpet # floor\n")
    assert [r.sources for r in s.rules] == [("sofa", "couch"), ("rug", "carpet")]
    assert [(p.row, p.field) for p in s.problems] == [(2, "rule"), (3, "rule"), (4, "rule"), (5, "rule")]
    assert "synonyms.txt: line 2: field 'rule': an equivalence needs two phrases" in str(s.problems[0])
    with pytest.raises(DataError, match="line 2"):
        read_synonyms(tmp_path / "synonyms.txt", strict=True)
    with pytest.raises(DataError, match="0 good"):
        _rules(tmp_path, "# nothing here\n\n")


def test_a_searcher_finds_products_by_the_synonym_and_keeps_it_when_saved(tmp_path: Path) -> None:
    catalog = Catalog(
        [Product("1", "Grey couch, three seats"), Product("2", "Oak coffee table"), Product("3", "Lamp shade")]
    )
    s = HybridSearcher.build(catalog, HashingEncoder(dim=64))
    assert s.lexical.score_parts("sofa").words[0] == 0  # no product has the word "sofa"
    s.synonyms = _rules(tmp_path)
    assert s.search("sofa", 1, mode="bm25").ids.tolist() == [0]
    intent = s.understand("sofa")
    assert intent is not None and intent.text == "sofa couch settee"
    assert any("synonyms" in n for n in s.notices("sofa"))
    s.save(tmp_path / "idx")
    loaded = HybridSearcher.load(tmp_path / "idx", catalog, HashingEncoder(dim=64))
    assert loaded.synonyms is not None and loaded.synonyms.added("sofa") == "couch settee"
    assert loaded.search("sofa", 1, mode="bm25").ids.tolist() == [0]


def test_the_added_words_come_as_phrases_too(tmp_path: Path) -> None:
    s = _rules(tmp_path, "sneakers => running shoes, trainers\n")
    assert s.added_phrases("white sneakers") == ("running shoes", "trainers")
    assert s.added("white sneakers") == "running shoes trainers"


def test_rewrites_say_where_each_source_phrase_stands_and_what_replaces_it(tmp_path: Path) -> None:
    s = _rules(tmp_path, "sofa bed => futon\ntv, telly => television\n手机, 电话\n")
    (bed,) = s.rewrites("blue Sofa Beds")  # stemmed words, as typed around them
    assert (bed.rest(), bed.reading("futon"), bed.targets) == ("blue ", "blue futon ", ("futon",))
    assert [(r.before, r.after) for r in s.rewrites("tv stand tv")] == [("", "stand tv"), ("tv stand", "")]
    (phone,) = s.rewrites("苹果手機壳")  # inside a Chinese run, Traditional folded; no spaces around the target
    assert (phone.rest(), phone.reading("电话"), phone.targets) == ("苹果 壳", "苹果电话壳", ("电话",))
    assert s.rewrites("television") == () and s.rewrites("sofa") == ()  # one way; a phrase needs all its words


def test_readings_replace_every_choice_of_places_that_do_not_overlap(tmp_path: Path) -> None:
    s = _rules(tmp_path, "tv => television\nsofa bed => futon\nbed frame => bedstead, the\n红色 => 红\n连衣裙, 裙子\n")
    assert s.readings("tv stand tv") == ("television stand tv", "tv stand television", "television stand television")
    # overlapping places are never both replaced; keep leaves out a target (here: one of stop words)
    assert s.readings("sofa bed frame", keep=lambda t: t != "the") == ("futon frame", "sofa bedstead")
    assert s.readings("红色连衣裙") == ("红连衣裙", "红色裙子", "红裙子")  # side by side: both at once too
    assert s.readings("tv stand tv", limit=2) == ("television stand tv", "tv stand television")
    assert s.readings("a lamp") == ()


def test_a_chinese_phrase_is_read_across_the_gap_between_runs(tmp_path: Path) -> None:
    """The query's Chinese characters are read joined (as :meth:`Synonyms.added` and the search read
    them), so a phrase written with a space in the rule or in the query is replaced where its
    characters follow one another, the gap between runs in the place."""
    s = _rules(tmp_path, "手机 壳, 手机套\n")
    assert s.added("手机 壳") == "手机套" and s.readings("手机 壳") == ("手机套",)
    assert s.readings("黑色 手机 壳 新款") == ("黑色 手机套 新款",)
    (case,) = s.rewrites("黑色手机 壳")
    assert (case.before, case.after, case.reading("手机套")) == ("黑色", "", "黑色手机套")
    assert s.readings("手机套") == ("手机 壳",) and s.readings("手 机") == ()  # 手机 alone: no rule
    assert _rules(tmp_path, "哈哈, 呵呵\n").readings("哈 哈哈") == ("呵呵哈", "哈 呵呵")  # two places, overlapping
