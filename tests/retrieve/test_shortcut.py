"""The hybrid search ranks by words alone, without the query encoder, when the top lexical hits'
titles hold every word of a query of two or more words (``SearchConfig.lexical_shortcut``,
``retrieve.shortcut``). A made-up catalog: five cheap black dresses, a dear one, other products."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index.text import Tokenizer
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher, SearchConfig, SearchTrace
from shelfwise.retrieve.answer import answer_search
from shelfwise.retrieve.shortcut import TitleTerms

PRODUCTS = [
    ("Black cotton dress", 20.0),
    ("Black silk dresses", 25.0),
    ("Black linen dress", 28.0),
    ("Black wool dress", 29.0),
    ("Black jersey dress", 30.0),
    ("Black velvet dress", 80.0),
    ("Red dress", 20.0),
    ("Blue jeans", 40.0),
    ("Leather belt", 15.0),
    ("Black boots", 60.0),
    ("Wool scarf", 10.0),
]


class CountingEncoder(HashingEncoder):
    """A hashing encoder that records every text it embeds."""

    def __init__(self) -> None:
        super().__init__(64)
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return super().encode(texts, batch_size=batch_size, progress=progress)


def by_words(s: HybridSearcher, query: str, filters: Filters | None = None, config: SearchConfig | None = None) -> bool:
    """Whether ``s.search`` ranked ``query`` by its words alone (its trace)."""
    trace = SearchTrace()
    s.search(query, 5, filters, config=config, trace=trace)
    return trace.ranked_by == "words"


@pytest.fixture
def searcher() -> tuple[HybridSearcher, CountingEncoder]:
    catalog = Catalog([Product(id=f"p{i}", title=t, price=p) for i, (t, p) in enumerate(PRODUCTS)])
    enc = CountingEncoder()
    s = HybridSearcher.build(catalog, enc, SearchConfig(personal_weight=0.0))
    enc.seen.clear()  # the catalog's own embedding
    return s, enc


def test_words_that_answer_the_query_skip_the_encoder(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    s, enc = searcher
    got = s.search("black dress", 5)
    assert enc.seen == []  # no query embedded
    assert set(got.ids.tolist()) <= {0, 1, 2, 3, 4, 5}  # "dresses" is stemmed like "dress"
    assert got.ids.tolist() == s.search("black dress", 5, mode="bm25").ids.tolist()
    assert by_words(s, "black dress")


def test_the_decision_follows_understanding_filters_and_exclude(
    searcher: tuple[HybridSearcher, CountingEncoder],
) -> None:
    s, enc = searcher
    cheap = s.search("black dress under 30", 5)  # the price phrase becomes a filter, its words leave the query
    assert enc.seen == [] and by_words(s, "black dress under 30")
    assert sorted(cheap.ids.tolist()) == [0, 1, 2, 3, 4]
    assert by_words(s, "black dress", Filters(price_max=30.0))
    s.search("black dress", 5, Filters(price_max=29.0))  # four qualify under 29: too few to decide by
    assert "black dress" in str(enc.seen) and not by_words(s, "black dress", Filters(price_max=29.0))
    enc.seen.clear()
    kept = s.search("black dresses", 5, exclude=[5])  # the five left still hold both words
    assert enc.seen == [] and 5 not in kept.ids.tolist()


def test_other_queries_and_shortcut_off_run_the_encoder(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    s, enc = searcher
    s.search("black wool", 5)  # one title holds both words: the meaning half is needed
    s.search("dress", 5)  # one word: left to the fusion even though every top title holds it
    assert {"black wool", "dress"} <= {t.removeprefix("query: ") for t in enc.seen}
    assert not by_words(s, "black wool") and not by_words(s, "dress")
    enc.seen.clear()
    off = SearchConfig(personal_weight=0.0, lexical_shortcut=0)
    s.search("black dress", 5, config=off)
    assert "black dress" in str(enc.seen) and not by_words(s, "black dress", config=off)
    enc.seen.clear()
    s.search("dresses black", 5, config=SearchConfig(personal_weight=0.0, lexical_shortcut=7))  # only 6 hold both
    assert "dresses black" in str(enc.seen)


@pytest.mark.parametrize("reads_features", [True, False])
def test_no_shortcut_with_a_reranker(searcher: tuple[HybridSearcher, CountingEncoder], reads_features: bool) -> None:
    class Keeps:
        reads_match_features = reads_features

        def rerank(self, query: str, results: Results) -> Results:
            return results

    s, enc = searcher
    s.reranker = Keeps()
    s.search("black dress", 5)
    assert "black dress" in str(enc.seen) and not by_words(s, "black dress")


def test_match_features_come_with_a_shortcut_ranking(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    s, _ = searcher
    got = s.search("black dress", 5, match_features=True)
    assert got.ids.tolist() == s.search("black dress", 5, mode="bm25").ids.tolist()
    assert got.features is not None and set(got.features) == {"bm25", "lexical", "cosine"}


def test_title_terms_need_every_query_term() -> None:
    terms = TitleTerms(["Black cotton dress", "Dresses in black", "Red dress", "黑色 连衣裙"], Tokenizer())
    assert terms.hold_all("black dresses", [0, 1]) and not terms.hold_all("black dress", [0, 2])
    assert not terms.hold_all("dress", [0, 1, 2])  # one term: left to the fusion
    assert not terms.hold_all("the and of", [0]) and not terms.hold_all("black dress", [])
    assert not terms.hold_all("black velvet", [0, 1])  # a word no title seen holds
    assert not terms.hold_all("黑色 连衣裙", [3])  # CJK: no real Chinese query tested the rule


def test_title_terms_stay_bounded_and_consistent() -> None:
    titles = [f"black dress {i}" for i in range(10)]
    terms = TitleTerms(titles, Tokenizer(), max_rows=4)
    for start in range(0, 8, 2):
        assert terms.hold_all("black dress", [start, start + 1, start + 2])  # clears before, never between
        assert len(terms._rows) <= 4 + 3


def test_search_config_checks_the_shortcut_depth(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    with pytest.raises(ValueError, match="lexical_shortcut"):
        SearchConfig(lexical_shortcut=-1)
    assert SearchConfig(candidates=3).lexical_shortcut == 5  # valid: at most `candidates` hits are read
    s, enc = searcher
    few = SearchConfig(personal_weight=0.0, candidates=3)  # reads the top 3: three titles hold both words
    s.search("black dress", 3, config=few)
    assert enc.seen == [] and by_words(s, "black dress", config=few)


def test_explanations_say_the_meaning_score_was_not_used(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    s, _ = searcher
    by_words = answer_search(s, "black dress", 3, Filters(), explain=True)
    assert by_words.reasons is not None and len(by_words.reasons) == 3
    assert all("not used: the top titles hold every query word" in r for r in by_words.reasons)
    fused = answer_search(s, "black wool", 3, Filters(), explain=True)
    assert fused.reasons is not None and fused.reasons and not any("not used" in r for r in fused.reasons)
    assert any("meaning" in r for r in fused.reasons)
    assert by_words.words_only and not fused.words_only
    words = answer_search(s, "black dress", 3, Filters(), explain=True, mode="bm25")  # no fusion asked for
    assert words.words_only and words.reasons is not None
    assert all("not used: words-only search (mode=bm25)" in r for r in words.reasons)
    sorted_ = answer_search(s, "black dress", 3, Filters(), explain=True, sort="price_asc")  # still the shortcut
    assert sorted_.words_only and sorted_.reasons and all("not used: the top titles" in r for r in sorted_.reasons)
    dense = answer_search(s, "black dress", 3, Filters(), mode="dense")
    assert not dense.words_only


def test_a_trace_says_what_the_search_decided(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    s, _ = searcher
    for query, mode, want in (
        ("black dress", None, "words"),  # the shortcut
        ("black wool", None, "fusion"),
        ("black wool", "bm25", "words"),
        ("black wool", "dense", "meaning"),
    ):
        trace = SearchTrace()
        s.search(query, 3, mode=mode, trace=trace)
        assert trace.ranked_by == want, (query, mode)
