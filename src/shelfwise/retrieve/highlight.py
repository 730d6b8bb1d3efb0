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
default tags do, so a page may insert it as HTML; :func:`snippet_html` does the same for the stretch
of a description that holds the most matches."""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from itertools import accumulate

from shelfwise.index.text import CJK_RANGES, Tokenizer, normalise, to_simplified

NEAR = 0.8  # difflib ratio at or above which a title word counts as a query word's spelling
MIN_NEAR_CHARS = 4  # shorter query words are not matched by spelling (too many near neighbours)
PRE, POST = "<em>", "</em>"
SNIPPET_WORDS = 20  # words of a description a snippet shows
SNIPPET_LEAD = 3  # words a snippet shows before its first match, where it can

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


def highlight_html(text: str, marks: QueryMarks, tokenizer: Tokenizer) -> str:
    """``text`` HTML-escaped, each match of ``marks`` wrapped in ``<em>`` ... ``</em>``."""
    return _marked(text, matched_spans(text, marks, tokenizer))


def snippet_html(text: str, marks: QueryMarks, tokenizer: Tokenizer, words: int = SNIPPET_WORDS) -> str | None:
    """The ``words``-word stretch of ``text`` (a description) holding the most matches of ``marks``
    (the earliest of equals), HTML-escaped with them in ``<em>``, "…" where text is cut (Algolia's
    ``_snippetResult``, Meilisearch's ``cropLength``); None when nothing in it matches. A Chinese run
    counts as one word, cut to ``2 * words`` characters around its first match."""
    spans = matched_spans(text, marks, tokenizer)
    if not spans:
        return None
    bounds = [m.span() for m in _WORD.finditer(text)]
    starts = [b[0] for b in bounds]
    hits = [0] * len(bounds)
    for start, _ in spans:
        hits[max(0, bisect_right(starts, start) - 1)] += 1
    matched = [i for i, h in enumerate(hits) if h]
    total = list(accumulate(hits, initial=0))  # each window's count in O(1), its first match by bisection
    best, first = (-1, 0), 0
    for i in range(max(1, len(bounds) - words + 1)):
        at = bisect_left(matched, i)
        lead = matched[at] - i if at < len(matched) and matched[at] < i + words else None
        score = (total[min(i + words, len(hits))] - total[i], -abs(lead - SNIPPET_LEAD) if lead is not None else 0)
        if score > best:  # the most matches; then a few words of context before the first
            best, first = score, i
    last = min(len(bounds), first + words) - 1
    lo, hi = bounds[first][0], bounds[last][1]
    if any(b - a > 2 * words and _CJK.fullmatch(text, a, b) for a, b in bounds[first : last + 1]):
        at = next(a for a, _ in spans if a >= lo)  # a long Chinese run: the characters around the first match
        lo = max(lo, at - words)
        hi = min(hi, lo + 2 * words)
    if not _WORD.search(text, hi):  # only punctuation after it: shown, not cut
        hi = len(text.rstrip())
    inside = [(max(a, lo) - lo, min(b, hi) - lo) for a, b in spans if a < hi and b > lo]
    return ("…" if lo > 0 else "") + _marked(text[lo:hi], inside) + ("…" if hi < len(text.rstrip()) else "")


def _marked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    out: list[str] = []
    at = 0
    for start, end in spans:
        out += [html.escape(text[at:start]), PRE, html.escape(text[start:end]), POST]
        at = end
    out.append(html.escape(text[at:]))
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
