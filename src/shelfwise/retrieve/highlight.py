"""The words of a product title a query matched, marked for display: Algolia's ``_highlightResult``,
Meilisearch's ``_formatted``, Typesense's ``highlights``.

A title word is marked when it is one of the query's words as the word index reads them (case,
full-width forms and English stems folded: "Dresses" for "dress"); when it is the nearest spelling
of a query word that matched nothing else in the title (the character n-grams found it: "Porcelain"
for "porcelin"; :data:`NEAR` of difflib's ratio, words of :data:`MIN_NEAR_CHARS` letters or more);
and in Chinese, each run of characters that holds one of the query's character pairs (a one-character
query word marks that character). The query's readings are what the search ran: as typed, with the
price phrase removed, and in the catalog's other language or with the store's synonyms added.

:func:`highlight_html` escapes the title and wraps each match in ``<em>`` ... ``</em>``, as Algolia's
default tags do, so a page may insert it as HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from shelfwise.index.text import CJK_RANGES, Tokenizer, normalise, to_simplified

NEAR = 0.8  # difflib ratio at or above which a title word counts as a query word's spelling
MIN_NEAR_CHARS = 4  # shorter query words are not matched by spelling (too many near neighbours)
PRE, POST = "<em>", "</em>"

_WORD = re.compile(rf"[{CJK_RANGES}]+|[^\W_{CJK_RANGES}]+", re.UNICODE)
_CJK = re.compile(rf"[{CJK_RANGES}]+")


@dataclass(frozen=True)
class QueryMarks:
    """What a query marks in titles: its word terms (stemmed as the index stems), its words as typed
    (for spelling matches) and its Chinese character pairs and lone characters."""

    terms: frozenset[str]
    words: tuple[tuple[str, str], ...]  # (term, word as typed), Latin words only
    pairs: frozenset[str]
    chars: frozenset[str]

    @classmethod
    def of(cls, readings: Sequence[str], tokenizer: Tokenizer) -> QueryMarks:
        surface = replace(tokenizer, stem=False, chinese="ngram")
        latin = replace(tokenizer, chinese="ngram")
        terms: set[str] = set()
        words: list[tuple[str, str]] = []
        pairs: set[str] = set()
        chars: set[str] = set()
        for r in readings:
            for run in _CJK.findall(to_simplified(normalise(r))):
                if len(run) == 1:
                    chars.add(run)
                pairs.update(run[i : i + 2] for i in range(len(run) - 1))
            text = _CJK.sub(" ", r)
            stems, typed = latin(text), surface(text)
            terms.update(stems)
            if len(stems) == len(typed):
                words += [(s, w) for s, w in zip(stems, typed, strict=True) if w.isalpha()]
        return cls(frozenset(terms), tuple(dict.fromkeys(words)), frozenset(pairs), frozenset(chars))


def matched_spans(title: str, marks: QueryMarks, tokenizer: Tokenizer) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of ``title`` that ``marks`` match, in order, not overlapping."""
    spans: list[tuple[int, int]] = []
    latin: list[re.Match[str]] = []
    for m in _WORD.finditer(title):
        if _CJK.fullmatch(m.group(0)):
            spans += _cjk_spans(m.group(0), m.start(), marks)
        else:
            latin.append(m)
    terms = _terms([m.group(0) for m in latin], tokenizer)
    held = {t for t in terms if t in marks.terms}
    unmatched: list[tuple[int, int, str]] = []
    for m, term in zip(latin, terms, strict=True):
        if term in held:
            spans.append(m.span())
        elif len(m.group(0)) >= MIN_NEAR_CHARS:
            unmatched.append((m.start(), m.end(), normalise(m.group(0))))
    missing = [w for t, w in marks.words if t not in held and len(w) >= MIN_NEAR_CHARS]
    for w in missing if unmatched else ():
        near = SequenceMatcher(None, autojunk=False)
        near.set_seq2(w)  # the matcher keeps what it learnt of the query word across title words
        for start, end, word in unmatched:
            if 2 * min(len(word), len(w)) >= NEAR * (len(word) + len(w)) and _near(near, word):
                spans.append((start, end))
    return sorted(set(spans))


def _terms(words: list[str], tokenizer: Tokenizer) -> list[str]:
    """Each Latin word's index term (stemmed as the index stems; stop words kept, so that none
    matches), in one call of the stemmer; per word where the whole text cuts differently."""
    whole = replace(tokenizer, chinese="ngram", stopwords=False)
    terms = whole(" ".join(words))
    if len(terms) == len(words):
        return terms
    return [(whole(w) or [""])[0] for w in words]


def highlight_html(title: str, marks: QueryMarks, tokenizer: Tokenizer) -> str:
    """``title`` HTML-escaped, each match of ``marks`` wrapped in ``<em>`` ... ``</em>``."""
    out: list[str] = []
    at = 0
    for start, end in matched_spans(title, marks, tokenizer):
        out += [html.escape(title[at:start]), PRE, html.escape(title[start:end]), POST]
        at = end
    out.append(html.escape(title[at:]))
    return "".join(out)


def _cjk_spans(run: str, offset: int, marks: QueryMarks) -> list[tuple[int, int]]:
    simple = to_simplified(run)
    if len(simple) != len(run):  # a conversion that changed the length: offsets would not line up
        return []
    hit = [False] * len(run)
    for i in range(len(run)):
        if simple[i : i + 2] in marks.pairs:
            hit[i] = hit[i + 1] = True
        if simple[i] in marks.chars:
            hit[i] = True
    spans: list[tuple[int, int]] = []
    for i, on in enumerate(hit):
        if on and (i == 0 or not hit[i - 1]):
            spans.append((offset + i, offset + i + 1))
        elif on:
            spans[-1] = (spans[-1][0], offset + i + 1)
    return spans


def _near(matcher: SequenceMatcher[str], word: str) -> bool:
    matcher.set_seq1(word)
    return matcher.real_quick_ratio() >= NEAR and matcher.quick_ratio() >= NEAR and matcher.ratio() >= NEAR
