"""Tokenisation for lexical search, English and Chinese.

Latin text: lower-cased word tokens, English stop words dropped, Snowball-stemmed when
PyStemmer is installed. Chinese (CJK) runs: segmented with jieba's search mode when installed,
otherwise split into overlapping character bigrams (a standard CJK IR fallback).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)  # a Latin/digit run never swallows CJK
_CJK_RE = re.compile(rf"^[{_CJK}]+$")

STOPWORDS_EN = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "your",
        "you",
        "our",
        "we",
    ]
)


def normalise(text: str) -> str:
    """NFKC (folds full-width forms), lower case, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def has_cjk(text: str) -> bool:
    return re.search(f"[{_CJK}]", text) is not None


@lru_cache(maxsize=1)
def _jieba() -> Any | None:
    try:
        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _stemmer() -> Any | None:
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


@dataclass(frozen=True)
class Tokenizer:
    """Splits text into index terms. ``stem``/``stopwords`` apply to Latin tokens only."""

    stem: bool = True
    stopwords: bool = True
    chinese: str = "jieba"  # "jieba" or "bigram"

    def __post_init__(self) -> None:
        if self.chinese not in ("jieba", "bigram"):
            raise ValueError("chinese must be 'jieba' or 'bigram'")

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        latin: list[str] = []
        for tok in _TOKEN_RE.findall(normalise(text)):
            if _CJK_RE.match(tok):
                out.extend(self._cjk(tok))
            elif not (self.stopwords and tok in STOPWORDS_EN):
                latin.append(tok)
        stemmer = _stemmer() if self.stem else None
        if latin:
            out.extend(stemmer.stemWords(latin) if stemmer is not None else latin)
        return out

    def _cjk(self, run: str) -> list[str]:
        jb = _jieba() if self.chinese == "jieba" else None
        if jb is not None:
            return [w for w in jb.lcut_for_search(run) if w.strip()]
        if len(run) == 1:
            return [run]
        return [run[i : i + 2] for i in range(len(run) - 1)]
