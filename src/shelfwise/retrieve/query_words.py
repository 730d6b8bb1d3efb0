"""Whether a product holds a word of a query, for the ``no-word-match`` notice
(:attr:`~shelfwise.retrieve.search_config.SearchTrace.words_matched`).

The word index cuts Chinese into character unigrams + bigrams (:class:`~shelfwise.index.text.Tokenizer`),
so "any query term in a product" counted one shared character as a word: 笔记本电脑 on a catalog of
clothes "matched" every title holding 本 or 电, and the notice almost never fired on a Chinese
catalog. Here a Chinese query's words are its jieba words (precise mode, with jieba's HMM for words
its dictionary lacks; without jieba, each character pair of a run is a word). A word of two
characters or more is held by a product that holds each of its character pairs (for a two-character
word, the pair itself; for longer ones every pair, a close stand-in for the substring that the index
cannot tell apart); a one-character word is held by a product holding that character, except the
particles in :data:`PARTICLES` (的, 和 ...), which say nothing of the product. Latin words are the word
index's terms, as before (stemmed, stop words dropped).

Used only for a query holding Chinese on an index cutting Chinese into unigrams + bigrams (the
default); the jieba and bigram analysers index other terms, and for them (and any query without
Chinese) the check stays "some query term". It reads the postings of the few terms for the lexical
candidates only: it changes no score, only what the trace says.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from shelfwise.index.bm25 import BM25Index
from shelfwise.index.text import _TOKEN_RE, CJK_RANGES, Tokenizer, _jieba, normalise, to_simplified

PARTICLES = frozenset("的了和与及或之等把被在是")  # one-character function words: no product holds them as meaning
_RUN = re.compile(rf"[{CJK_RANGES}]+")

Word = tuple[str, ...]  # the index terms a product must all hold to hold the word


def applies(tokenizer: Tokenizer, query: str) -> bool:
    """Whether :func:`query_words` decides for ``query`` (Chinese in it, a unigram + bigram index)."""
    return tokenizer.chinese == "ngram" and _RUN.search(normalise(query)) is not None


def query_words(query: str, tokenizer: Tokenizer, index: BM25Index) -> list[Word]:
    """``query``'s words as the terms of ``index`` each needs (see the module doc); none for a query of
    particles alone. A Chinese run none of whose characters the index holds is one word that no
    product holds, not cut (jieba loads only where a Chinese query meets a catalog with its characters)."""
    out: list[Word] = []
    for tok in _TOKEN_RE.findall(normalise(query)):
        if not _RUN.fullmatch(tok):
            out.extend((t,) for t in tokenizer(tok))  # stop words dropped, stemmed: the index's terms
            continue
        run = to_simplified(tok) if tokenizer.fold_traditional else tok
        if all(c in PARTICLES for c in run):
            continue
        if not any(index.term_doc_freq(c) for c in run):  # no product holds any of it: one word, held by none
            out.append((run,))
            continue
        out.extend(_needs(w) for w in _cut(run) if not (len(w) == 1 and w in PARTICLES))
    return out


def prepare() -> None:
    """Load jieba's dictionary now (~0.8 s), not in a shopper's first Chinese search."""
    _jieba()


def _cut(run: str) -> list[str]:
    """The run's jieba words; without jieba its character pairs (the run itself when one character)."""
    jieba = _jieba()
    if jieba is None:
        return [run[i : i + 2] for i in range(len(run) - 1)] or [run]
    return [w for w in jieba.lcut(run) if w]


def _needs(word: str) -> Word:
    return (word,) if len(word) == 1 else tuple(dict.fromkeys(word[i : i + 2] for i in range(len(word) - 1)))


def words_held(words: list[Word], index: BM25Index, rows: npt.NDArray[np.int64]) -> bool:
    """Whether one of ``rows`` holds one of ``words`` (all of a word's terms)."""
    if not len(rows):
        return False
    for need in words:
        got = np.ones(len(rows), dtype=bool)
        for term in need:
            got &= index.holds(term, rows)
            if not got.any():
                break
        if got.any():
            return True
    return False


def held_by_any(words: list[Word], index: BM25Index) -> bool:
    """Whether some product of ``index`` holds one of ``words`` (all of a word's terms), from the
    postings of the whole catalog (the store report's failing searches; not on the search path)."""
    for need in words:
        rows = index.holding(need[0])
        for term in need[1:]:
            if not len(rows):
                break
            rows = rows[index.holds(term, rows)]
        if len(rows):
            return True
    return False
