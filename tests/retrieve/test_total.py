"""/search's total (retrieve.facets.count_matches, SearchAnswer.total): products holding every word
of the query (or of its rewriting by the store's synonyms) that pass the filters, less hidden ones,
and with distinct their titles, checked against a scan of every product's text."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.encode import HashingEncoder
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.answer import answer_search
from shelfwise.retrieve.facets import count_matches, facet_search, held_by, holding_query
from shelfwise.retrieve.rules import read_rules
from shelfwise.retrieve.synonyms import MAX_READINGS, read_synonyms


def _scanned(
    searcher: HybridSearcher,
    text: str,
    filters: Filters,
    hidden: set[int] = frozenset(),
    readings: Sequence[str] = (),
) -> int:
    """Every product's whole text analysed, its words against the query's, those of the query's
    reading in the catalog's language, or those of one of ``readings`` (no postings)."""
    tok = searcher.lexical.tokenizer
    reading = searcher.bilingual.added(text)
    wanted = [set(tok(r)) for r in (text, reading, *readings) if r]
    mask = searcher.catalog.mask(filters)
    return sum(
        any(words <= set(tok(t)) for words in wanted) and (mask is None or bool(mask[i])) and i not in hidden
        for i, t in enumerate(searcher.catalog.texts())
    )


@pytest.mark.parametrize("query", ["black", "black leather", "Black slim trousers", "acme men", "belt buckle",
                                   "休闲裤", "黑色裤子", "gown", "nothing like it"])  # fmt: skip
@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(category=("Men",)), Filters(price_max=40.0), Filters(in_stock=True, brands=("acme",))],
)
def test_the_count_is_every_product_holding_every_word_that_passes_the_filters(
    tiny_searcher: HybridSearcher, query: str, filters: Filters
) -> None:
    assert count_matches(tiny_searcher, query, filters) == _scanned(tiny_searcher, query, filters)


def test_hidden_rows_price_phrases_and_wordless_queries(tiny_searcher: HybridSearcher, tiny_catalog: Catalog) -> None:
    assert count_matches(tiny_searcher, "black", Filters(), exclude=[0, 4]) == 3  # p1 hidden (p5 holds no 'black')
    assert count_matches(tiny_searcher, "black", Filters(), exclude=[0, 0]) == 3
    assert count_matches(tiny_searcher, "the", Filters()) == len(tiny_catalog)  # no word: every product
    assert count_matches(tiny_searcher, "the", Filters(category=("Men",)), exclude=[0, 4]) == 4  # 5 men's, p1 hidden
    got = answer_search(tiny_searcher, "dress under 70", 5, Filters())  # the price phrase is a filter, not words
    assert got.total == 2 == _scanned(tiny_searcher, "dress", Filters(price_max=70.0))  # p5, p12; p6 costs 99


def test_the_answer_gives_it_on_every_page_and_order(tiny_searcher: HybridSearcher) -> None:
    first = answer_search(tiny_searcher, "black", 2, Filters())
    assert first.total == 4 and len(first.results.ids) == 2  # more than the page shows
    assert answer_search(tiny_searcher, "black", 2, Filters(), offset=2).total == 4
    assert answer_search(tiny_searcher, "black", 2, Filters(), sort="price_asc").total == 4
    assert answer_search(tiny_searcher, "black", 2, Filters(category=("Women",))).total == 1  # the evening dress
    facets = facet_search(tiny_searcher, "black", Filters())
    assert facets.matched == first.total  # the same words, no filter: the same count


def test_rows_a_rule_hides_are_not_counted(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    f = tmp_path / "rules.json"
    f.write_text(json.dumps([{"query": "black", "hide": ["p1", "p6"]}]), encoding="utf-8")
    got = answer_search(tiny_searcher, "black", 5, Filters(), rules=read_rules(f, tiny_catalog.ids))
    assert got.total == 2 == _scanned(tiny_searcher, "black", Filters(), hidden={0, 5})


def test_a_query_in_the_other_language_counts_the_products_its_reading_holds(tiny_searcher: HybridSearcher) -> None:
    """A Chinese query on this English catalog holds no word of any product; the search reads it in
    English and shows those hits, so the total counts them (it read 0 beside a page of hits)."""
    assert tiny_searcher.bilingual.added("黑色") == "black"
    got = answer_search(tiny_searcher, "黑色", 5, Filters())
    assert got.total == answer_search(tiny_searcher, "black", 5, Filters()).total == 4 and len(got.results.ids)
    assert facet_search(tiny_searcher, "黑色", Filters()).matched == got.total  # the same reading
    assert answer_search(tiny_searcher, "黑色", 5, Filters(category=("Women",))).total == 1


SYNONYMS = "pants, trousers\ngown => dress\nsneakers => running shoes, trainers\n连衣裙, 裙子\nbelt => the\n"


def _found(source: str, query: str) -> list[tuple[int, int]]:
    """Where ``query`` holds ``source``: whole words, or a Chinese phrase's characters one after
    another with nothing but spaces or punctuation between them (its own spaces left out); every
    place, overlapping ones too."""
    if re.search(r"[一-鿿]", source):
        pattern = r"[\W_]*".join(map(re.escape, source.replace(" ", "")))
    else:
        pattern = rf"\b{source}\b"
    return [(m.start(1), m.end(1)) for m in re.finditer(f"(?=({pattern}))", query)]


def _rewritings(query: str, rules: list[tuple[list[str], list[str]]]) -> list[str]:
    """The query as typed and with the source phrases it holds (:func:`_found`), each place replaced
    or kept, every combination of places that do not overlap."""
    places = [
        (a, b, [t for t in targets if t != source])
        for sources, targets in rules
        for source in sources
        for a, b in _found(source, query)
    ]
    out = []
    for chosen in itertools.product(*[[None, *ts] for _, _, ts in places]):
        picked = sorted((a, b, t) for (a, b, _), t in zip(places, chosen, strict=True) if t is not None)
        if any(b > a2 for (_, b, _), (a2, _, _) in itertools.pairwise(picked)):
            continue
        text, end = "", 0
        for a, b, t in picked:
            glue = "" if re.search(r"[一-鿿]", t + query[a:b]) else " "
            text, end = text + query[end:a] + glue + t + glue, b
        out.append(text + query[end:])
    return out


@pytest.mark.parametrize(
    "query",
    ["black pants", "pants", "black trousers", "red gown", "white sneakers", "红色裙子", "连衣裙", "black belt",
     "leather pants belt", "nothing like it"],
)  # fmt: skip
@pytest.mark.parametrize("filters", [Filters(), Filters(category=("Women",)), Filters(price_max=40.0)])
def test_a_word_is_held_as_one_of_its_synonyms(
    tmp_path: Path, tiny_catalog: Catalog, query: str, filters: Filters
) -> None:
    """Against a scan of every product's text for the words of each rewriting of the query by the
    store's rules (a target of stop words alone, "the", stands for nothing)."""
    f = tmp_path / "synonyms.txt"
    f.write_text(SYNONYMS, encoding="utf-8")
    searcher = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=32))
    before = count_matches(searcher, query, filters)
    searcher.synonyms = read_synonyms(f)
    rules = [(list(r.sources), [t for t in r.targets if t != "the"]) for r in searcher.synonyms.rules]
    want = _scanned(searcher, query, filters, readings=_rewritings(query, rules))
    assert count_matches(searcher, query, filters) == want >= before
    held = holding_query(searcher, query)
    if held is not None:  # each product counted is one the search's word BM25 reaches (synonyms in)
        intent = searcher.understand(query)
        words = searcher.lexical.score_parts(intent.text if intent is not None else query).words
        assert bool((words[held] > 0).all())


def test_a_synonym_brings_in_what_the_query_as_typed_holds_nowhere(tmp_path: Path, tiny_catalog: Catalog) -> None:
    f = tmp_path / "synonyms.txt"
    f.write_text(SYNONYMS, encoding="utf-8")
    searcher = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=32))
    assert answer_search(searcher, "black pants", 5, Filters()).total == 0  # no product says "pants"
    searcher.synonyms = read_synonyms(f)
    got = answer_search(searcher, "black pants", 5, Filters())
    assert got.total == 2 and got.results.ids.tolist()[:2] == [0, 10]  # p1 Black slim trousers, p11 (its category)
    assert facet_search(searcher, "black pants", Filters()).matched == 2  # facets read the same words
    assert count_matches(searcher, "红色裙子", Filters()) == 1  # p12 红色连衣裙


def test_a_chinese_synonym_keeps_the_character_pair_across_its_edge(tmp_path: Path) -> None:
    """红色裙子 asks for 色裙 as typed, so its rewriting 红色连衣裙 asks for 色连: a title holding 红色
    and 连衣裙 apart is not counted (as one holding 红色 and 裙子 apart is not, with no synonym)."""
    f = tmp_path / "synonyms.txt"
    f.write_text("连衣裙, 裙子\n", encoding="utf-8")
    titles = ["红色连衣裙", "红色 连衣裙 长款", "红色裙子", "红色 裙子", "蓝色连衣裙"]  # made up
    searcher = HybridSearcher.build(Catalog([Product(str(i), t) for i, t in enumerate(titles)]), HashingEncoder(dim=32))
    searcher.synonyms = read_synonyms(f)
    rewritten = _rewritings("红色裙子", [(["连衣裙", "裙子"], ["连衣裙", "裙子"])])
    want = _scanned(searcher, "红色裙子", Filters(), readings=rewritten)
    assert count_matches(searcher, "红色裙子", Filters()) == want == 2  # the first and the third


VARIANTS = [  # made up: four titles, three of them in colours
    ("v1", "Slim jeans", "Black", 30.0), ("v2", "Slim Jeans ", "Blue", 30.0), ("v3", "slim jeans", "Grey", 45.0),
    ("v4", "Wide jeans", "Blue", 40.0), ("v5", "Wide jeans", "Black", 40.0),
    ("v6", "Denim jacket", "Blue", 60.0), ("v7", "Denim jacket", "Black", 60.0), ("v8", "Jeans belt", "Black", 15.0),
]  # fmt: skip


def _distinct(searcher: HybridSearcher, text: str, filters: Filters, hidden: set[int] = frozenset()) -> int:
    """The titles (trimmed, lower-cased) of the products a scan of every product's text finds."""
    products = searcher.catalog.products
    tok = searcher.lexical.tokenizer
    mask = searcher.catalog.mask(filters)
    return len(
        {
            p.title.strip().lower()
            for i, p in enumerate(products)
            if set(tok(text)) <= set(tok(p.text())) and (mask is None or bool(mask[i])) and i not in hidden
        }
    )


@pytest.mark.parametrize("query", ["jeans", "black jeans", "blue", "denim", "the", "nothing"])
@pytest.mark.parametrize("filters", [Filters(), Filters(price_max=35.0), Filters(attributes=(("colour", "Black"),))])
def test_with_distinct_the_total_counts_titles(query: str, filters: Filters) -> None:
    catalog = Catalog([Product(i, t, price=p, attributes={"colour": c}) for i, t, c, p in VARIANTS])
    searcher = HybridSearcher.build(catalog, HashingEncoder(dim=32))
    for hidden in (set(), {0, 1}, {0, 1, 2}):
        titles = count_matches(searcher, query, filters, sorted(hidden), distinct=True)
        every = count_matches(searcher, query, filters, sorted(hidden))
        assert titles == _distinct(searcher, query, filters, hidden) <= every
    page = answer_search(searcher, query, 10, filters, distinct=True)
    assert page.total == count_matches(searcher, query, filters, distinct=True)
    if query == "jeans" and filters == Filters():  # 6 variants (v8 the jeans belt) of 3 titles
        assert page.total == 3 and answer_search(searcher, query, 10, filters).total == 6
        shown = [catalog.products[i].variant_key for i in page.results.ids.tolist()]
        assert len(set(shown)) == len(shown) >= page.total  # each title once (meaning reaches the jacket too)


PLACES = "light, lamp\nsofa bed => futon\nbed frame => bedstead\n红色 => 红\n连衣裙, 裙子\n"
PLACE_TITLES = [  # made up
    "pendant lamp conversion kit", "pendant light conversion kit", "pendant lamp conversion light",
    "futon bedstead", "futon frame", "sofa bedstead", "sofa bed frame", "红裙子", "红色连衣裙", "红连衣裙", "红色裙子",
]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("pendant light conversion light", 3),  # light twice: the lamp kit reads as "pendant lamp conversion lamp"
        ("sofa bed frame", 3),  # overlapping phrases: "futon frame" or "sofa bedstead", never "futon bedstead"
        ("红色连衣裙", 4),  # two phrases side by side in one run: 红裙子 reads both replaced (the pair 红裙 across)
    ],
)
def test_several_places_count_as_the_readings_they_make(tmp_path: Path, query: str, want: int) -> None:
    """A source phrase held twice, two phrases that overlap, two Chinese phrases side by side: a product
    counts when it holds every word of the query or of one rewriting of it (each place replaced or kept,
    places that do not overlap), as a scan of every product's text finds."""
    f = tmp_path / "synonyms.txt"
    f.write_text(PLACES, encoding="utf-8")
    searcher = HybridSearcher.build(
        Catalog([Product(str(i), t) for i, t in enumerate(PLACE_TITLES)]), HashingEncoder(dim=32)
    )
    searcher.synonyms = read_synonyms(f)
    rules = [(list(r.sources), list(r.targets)) for r in searcher.synonyms.rules]
    scanned = _scanned(searcher, query, Filters(), readings=_rewritings(query, rules))
    assert count_matches(searcher, query, Filters()) == scanned == want


def test_a_chinese_phrase_written_with_a_space_is_counted_where_the_search_reads_it(tmp_path: Path) -> None:
    """手机 壳 (a space in the rule or in the query) triggers the rule in the search, whose words read
    the query's characters joined; the total counts the products holding the rule's other phrase too
    (it read 手机 and 壳 alone: the 手机套 the search shows was left out)."""
    f = tmp_path / "synonyms.txt"
    titles = ["黑色手机壳", "手机套 黑色", "手机 壳", "手机保护壳", "充电线"]  # made up
    searcher = HybridSearcher.build(Catalog([Product(str(i), t) for i, t in enumerate(titles)]), HashingEncoder(dim=32))
    for rule in ("手机 壳, 手机套\n", "手机壳, 手机套\n"):
        f.write_text(rule, encoding="utf-8")
        searcher.synonyms = read_synonyms(f)
        intent = searcher.understand("手机 壳")
        assert intent is not None and "手机套" in intent.text  # the search reads the rule
        got = answer_search(searcher, "手机 壳", 5, Filters())
        assert got.total == count_matches(searcher, "手机 壳", Filters()) == 4  # 手机保护壳 too: 手机 and 壳 apart
        held = holding_query(searcher, "手机 壳")
        assert held is not None and 1 in held.tolist()


def test_chinese_synonyms_with_spaces_fuzzed_against_a_scan(tmp_path: Path) -> None:
    """Random rules, titles and queries of a few characters, the rules' phrases often in them,
    spaces and punctuation anywhere (inside a phrase too): the total is what a scan of every
    product's text finds for the query or one of its rewritings."""
    rng = np.random.default_rng(19)
    chars = list("手机壳套黑色")

    def spaced(text: str, gaps: str = " ,") -> str:
        """``text``'s characters, a space or comma after some of them."""
        return "".join(c + (str(rng.choice(list(gaps))) if rng.random() < 0.3 else "") for c in text.replace(" ", ""))

    def made(phrases: list[str], lo: int, hi: int) -> str:
        """A few random characters and phrases, in random order, spaced."""
        parts = [str(c) for c in rng.choice(chars, int(rng.integers(lo, hi + 1)))]
        parts += [str(p) for p in rng.choice(phrases, int(rng.integers(0, 3)))]
        return spaced("".join(rng.permutation(parts))).strip(" ,") or "手"

    f = tmp_path / "synonyms.txt"
    checked = rewritten = 0
    for _ in range(25):
        phrases = list(dict.fromkeys(spaced("".join(rng.choice(chars, 2 + int(rng.random() < 0.3))), " ")
                                     for _ in range(5)))  # fmt: skip
        if len({p.replace(" ", "") for p in phrases}) < len(phrases) or len(phrases) < 4:
            continue  # two phrases of the same characters (a rule's phrase reading as itself)
        lines = [f"{phrases[0]}, {phrases[1]}", f"{phrases[2]} => {', '.join(phrases[3:])}"]
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        titles = [made(phrases, 0, 4) for _ in range(30)]
        searcher = HybridSearcher.build(
            Catalog([Product(str(i), t) for i, t in enumerate(titles)]), HashingEncoder(dim=16)
        )
        searcher.synonyms = read_synonyms(f, strict=True)
        rules = [(list(r.sources), list(r.targets)) for r in searcher.synonyms.rules]
        for _ in range(12):
            query = made(phrases, 0, 2)
            if len(searcher.synonyms.readings(query)) >= MAX_READINGS:
                continue  # the readings are cut there; the scan's are not
            readings = _rewritings(query, rules)
            want = _scanned(searcher, query, Filters(), readings=readings)
            assert count_matches(searcher, query, Filters()) == want, (lines, query)
            checked += 1
            rewritten += want > _scanned(searcher, query, Filters())
    assert checked >= 150 and rewritten >= 30  # most queries checked, many counting a rewriting


def test_rows_held_for_one_query_are_not_read_for_another(tiny_searcher: HybridSearcher) -> None:
    """The total and the facets of one request share the rows (Held); handed another query's rows
    they say so rather than count the wrong products."""
    held = held_by(tiny_searcher, "black under 40")
    assert held.rows is not None and held.rows.tolist() == holding_query(tiny_searcher, "black").tolist()
    assert count_matches(tiny_searcher, "black under 40", Filters(), held=held) == count_matches(
        tiny_searcher, "black under 40", Filters()
    )
    with pytest.raises(ValueError, match="'black under 40', not 'dress'"):
        count_matches(tiny_searcher, "dress", Filters(), held=held)
    with pytest.raises(ValueError, match="not 'dress'"):
        facet_search(tiny_searcher, "dress", Filters(), held=held)
