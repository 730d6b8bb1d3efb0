"""Highlighting: the title words a query matched, marked for display, the rest escaped."""

from __future__ import annotations

import html
import random

import pytest

from shelfwise.catalog.schema import Catalog, Filters, Product
from shelfwise.encode import HashingEncoder
from shelfwise.index.text import Tokenizer
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.answer import answer_search
from shelfwise.retrieve.highlight import SNIPPET_LEAD, QueryMarks, highlight_html, matched_spans, snippet_html

TOK = Tokenizer()


def _html(query: str, title: str) -> str:
    return highlight_html(title, QueryMarks.of([query], TOK), TOK)


@pytest.mark.parametrize(
    ("query", "title", "marked"),
    [
        ("black dresses", "Black Dress, knee length", "<em>Black</em> <em>Dress</em>, knee length"),  # stems, case
        ("porcelin tile", "Porcelain Floor Tile", "<em>Porcelain</em> Floor <em>Tile</em>"),  # a near spelling
        ("the dress", "The dress", "The <em>dress</em>"),  # a stop word marks nothing
        ("ＤＲＥＳＳ", "dress", "<em>dress</em>"),  # full-width letters fold
        ("连衣裙", "夏季碎花連衣裙 女", "夏季碎花<em>連衣裙</em> 女"),  # character pairs; Traditional folds
        ("裙", "短裙 半身裙", "短<em>裙</em> 半身<em>裙</em>"),  # a one-character query word
        ("耐克跑鞋", "耐磨雨鞋", "耐磨雨鞋"),  # single shared characters of a longer word mark nothing
        ("red", "Redwood bench", "Redwood bench"),  # not a word of the query, nor near one (3 letters)
    ],
)
def test_the_words_a_query_matched_are_marked(query: str, title: str, marked: str) -> None:
    assert _html(query, title) == marked


def test_the_title_is_escaped_and_only_the_marks_are_html() -> None:
    got = _html("dress", 'Dress <script>alert("x")</script> & co')
    assert got == "<em>Dress</em> &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"


def test_a_near_spelling_is_marked_only_for_a_query_word_the_title_lacks() -> None:
    marks = QueryMarks.of(["tile"], TOK)
    assert matched_spans("Tile tiles til tilt", marks, TOK) == [(0, 4), (5, 10)]  # "til"/"tilt": no typo match
    assert matched_spans("Porcelain porcelain", QueryMarks.of(["porcelin"], TOK), TOK) == [(0, 9), (10, 19)]


def test_search_answers_carry_each_hits_highlighted_title_with_what_the_search_read() -> None:
    catalog = Catalog(
        [
            Product("a", "Black wrap dress", price=30.0, description="A wrap dress in black jersey."),
            Product("b", "Red <b>bold</b> dress", price=60.0),
            Product("c", "Rain coat", price=40.0),
        ]
    )
    s = HybridSearcher.build(catalog, HashingEncoder(32))
    got = answer_search(s, "black dresses under 50", 3, Filters(), highlight=True)
    assert got.highlights is not None and len(got.highlights) == len(got.results.ids)
    by_id = {catalog.ids[r]: h for r, h in zip(got.results.ids.tolist(), got.highlights, strict=True)}
    assert by_id["a"] == {
        "title": "<em>Black</em> wrap <em>dress</em>",  # the price phrase is not a word to mark
        "description": "A wrap <em>dress</em> in <em>black</em> jersey.",
    }
    assert answer_search(s, "red dress", 3, Filters()).highlights is None  # not asked: nothing computed
    red = answer_search(s, "red dress", 1, Filters(), highlight=True).highlights
    assert red == [{"title": "<em>Red</em> &lt;b&gt;bold&lt;/b&gt; <em>dress</em>"}]  # no description: no snippet


DESCRIPTION = (
    "Ankle-length jeans in washed, stretch denim with a regular waist, zip fly and button, fake front pockets, "
    "real back pockets and slim legs. The dark blue colour & <fit> is great."
)


def test_a_snippet_is_the_stretch_of_the_description_holding_the_most_matches() -> None:
    two = snippet_html(DESCRIPTION, QueryMarks.of(["pockets"], TOK), TOK)
    assert two is not None and two.count("<em>pockets</em>") == 2 and two.startswith("…zip fly")
    assert len(two.replace("<em>", "").replace("</em>", "").split()) <= 20 + 1  # 20 words (a hyphen joins two)
    first = snippet_html(DESCRIPTION, QueryMarks.of(["ankle"], TOK), TOK)
    assert first is not None and first.startswith("<em>Ankle</em>-length") and first.endswith("…")
    last = snippet_html(DESCRIPTION, QueryMarks.of(["great"], TOK), TOK)
    assert last is not None and last.endswith("is <em>great</em>.")  # only punctuation after it: not cut
    assert "&amp; &lt;fit&gt;" in last  # escaped
    assert snippet_html(DESCRIPTION, QueryMarks.of(["trousers"], TOK), TOK) is None  # nothing to show
    run = "夏季新款碎花连衣裙女装长款过膝显瘦气质法式复古桔梗裙子" * 3
    zh = snippet_html(run, QueryMarks.of(["桔梗裙"], TOK), TOK, 5)
    assert zh == "…质法式复古<em>桔梗裙</em>子夏…"  # one long Chinese run: characters around its first match


def test_a_snippet_of_long_latin_words_is_not_cut_inside_words() -> None:
    """20 long English words pass 160 characters: that window was taken for one long Chinese run and
    cut to 40 characters around the description's first match, mid-word ("…les; its reinforced")."""
    text = (
        "Constructed from weatherproof polypropylene, this contemporary outdoor rectangular planter "
        "accommodates flowering perennials, ornamental grasses, decorative succulents, aromatic herbs "
        "and miscellaneous vegetables; its reinforced drainage construction prevents waterlogging. "
        "Additionally, the planter's weatherproof construction withstands temperature fluctuations."
    )
    got = snippet_html(text, QueryMarks.of(["drainage"], TOK), TOK)
    assert got is not None and "<em>drainage</em>" in got
    plain = html.unescape(got.replace("<em>", "").replace("</em>", "")).strip("…")
    at = text.find(plain)
    assert at >= 0 and len(plain.split()) >= 15  # the 20-word window (a few words joined by punctuation)
    assert at == 0 or not text[at - 1].isalpha()  # starts on a word's start
    assert at + len(plain) == len(text) or not text[at + len(plain)].isalpha()  # and ends on a word's end


def _brute_window(hits: list[int], words: int) -> int:
    """The window snippet_html picks, by counting every window afresh (its former way, O(words x matches))."""
    best, first = (-1, 0), 0
    for i in range(max(1, len(hits) - words + 1)):
        held = [j for j in range(i, min(i + words, len(hits))) if hits[j]]
        score = (sum(hits[j] for j in held), -abs(held[0] - i - SNIPPET_LEAD) if held else 0)
        if score > best:
            best, first = score, i
    return first


@pytest.mark.parametrize("seed", range(20))
def test_a_snippet_picks_the_window_with_the_most_matches_as_counting_each_would(seed: int) -> None:
    rng = random.Random(seed)
    n, words = rng.randint(1, 80), rng.choice([3, 5, 20])
    picked = [rng.choice(["dress", "coat", "lining", "soft", "black"]) for _ in range(n)]
    got = snippet_html(" ".join(picked), QueryMarks.of(["dress black"], TOK), TOK, words)
    hits = [int(w in ("dress", "black")) for w in picked]
    if not any(hits):
        assert got is None
        return
    first = _brute_window(hits, words)
    want = " ".join(picked[first : first + words])
    assert got is not None and got.replace("<em>", "").replace("</em>", "").strip("…") == want
