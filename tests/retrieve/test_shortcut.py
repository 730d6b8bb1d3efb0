"""The hybrid search ranks by words alone, without the query encoder, when the top lexical hits'
titles hold every query word (``SearchConfig.lexical_shortcut``, ``retrieve.shortcut``). A made-up
catalog: five black dresses and some other products."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index.text import Tokenizer
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.retrieve.shortcut import TitleTerms

TITLES = [
    "Black cotton dress",
    "Black silk dresses",
    "Black linen dress",
    "Black wool dress",
    "Black jersey dress",
    "Red dress",
    "Blue jeans",
    "Leather belt",
    "Black boots",
    "Wool scarf",
]


class CountingEncoder(HashingEncoder):
    """A hashing encoder that records every text it embeds."""

    def __init__(self) -> None:
        super().__init__(64)
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return super().encode(texts, batch_size=batch_size, progress=progress)


@pytest.fixture
def searcher() -> tuple[HybridSearcher, CountingEncoder]:
    catalog = Catalog([Product(id=f"p{i}", title=t) for i, t in enumerate(TITLES)])
    enc = CountingEncoder()
    s = HybridSearcher.build(catalog, enc, SearchConfig(personal_weight=0.0))
    enc.seen.clear()  # the catalog's own embedding
    return s, enc


def test_words_that_answer_the_query_skip_the_encoder(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    s, enc = searcher
    got = s.search("black dress", 5)
    assert enc.seen == []  # no query embedded
    assert sorted(got.ids.tolist()) == [0, 1, 2, 3, 4]  # "dresses" is stemmed like "dress"
    assert got.ids.tolist() == s.search("black dress", 5, mode="bm25").ids.tolist()
    assert s.words_suffice("black dress") and s.words_suffice("dress")


def test_other_queries_and_shortcut_off_run_the_encoder(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    s, enc = searcher
    s.search("black wool", 5)  # one title holds both words: the meaning half is needed
    assert "black wool" in str(enc.seen) and not s.words_suffice("black wool")
    enc.seen.clear()
    off = SearchConfig(personal_weight=0.0, lexical_shortcut=0)
    s.search("black dress", 5, config=off)
    assert "black dress" in str(enc.seen) and not s.words_suffice("black dress", off)
    enc.seen.clear()
    six = SearchConfig(personal_weight=0.0, lexical_shortcut=6)
    s.search("black dresses", 5, config=six)  # only 5 titles hold both words
    assert "black dresses" in str(enc.seen)


def test_no_shortcut_while_a_reranker_reads_cosines(searcher: tuple[HybridSearcher, CountingEncoder]) -> None:
    class ReadsCosines:
        reads_match_features = True

        def rerank(self, query: str, results: Results) -> Results:
            assert results.features is not None and "cosine" in results.features
            return results

    s, enc = searcher
    s.reranker = ReadsCosines()
    s.search("black dress", 5)
    assert "black dress" in str(enc.seen)


def test_title_terms_need_every_query_term_and_stay_bounded() -> None:
    terms = TitleTerms(["Black cotton dress", "Dresses in black", "Red dress"], Tokenizer(), max_rows=2)
    assert terms.hold_all("black dresses", [0, 1]) and not terms.hold_all("black dress", [0, 2])
    assert not terms.hold_all("the and of", [0]) and not terms.hold_all("dress", [])  # no terms / no rows
    terms.of(2)
    assert len(terms._terms) <= 2  # cleared when full, never past the bound
    with pytest.raises(ValueError, match="lexical_shortcut"):
        SearchConfig(lexical_shortcut=-1)
