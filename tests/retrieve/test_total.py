"""/search's total (retrieve.facets.count_matches, SearchAnswer.total): products holding every word
of the query that pass the filters, less hidden ones, checked against a scan of every product's text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog, Filters
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.answer import answer_search
from shelfwise.retrieve.facets import count_matches, facet_search
from shelfwise.retrieve.rules import read_rules


def _scanned(searcher: HybridSearcher, text: str, filters: Filters, hidden: set[int] = frozenset()) -> int:
    """Every product's whole text analysed, its words against the query's or against those of the
    query's reading in the catalog's language (no postings)."""
    tok = searcher.lexical.tokenizer
    reading = searcher.bilingual.added(text)
    wanted = [set(tok(text))] + ([set(tok(reading))] if reading else [])
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
