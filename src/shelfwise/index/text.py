"""Analysers for lexical search, English and Chinese.

* :class:`Tokenizer` (word terms). Latin text: lower-cased word tokens, English stop words
  dropped, Snowball-stemmed when PyStemmer is installed. Chinese (CJK) runs: by default
  overlapping character unigrams + bigrams, the standard CJK IR analyser that needs no
  dictionary and survives misspellings and run-on titles (Kwok, 1997, "Comparing representations
  in Chinese information retrieval"); jieba segmentation and bigrams only are options.
  Traditional characters are folded to Simplified first (OpenCC's ``t2s`` tables through
  ``opencc-purepy``), on both the catalog and the query side, so "鍵盤滑鼠" finds "键盘滑鼠".
* :class:`CharNgrams` (typo tolerance). Character n-grams of the Latin/digit text with ``#`` at
  word boundaries, so "porcelin" still shares most grams with "porcelain" and "deckover" with
  "deck over" (McNamee & Mayfield, 2004, "Character N-Gram Tokenization for European Language
  Text Retrieval"). Chinese runs add each character's toneless pinyin syllable: Chinese shoppers
  type through a pinyin input method, so their typos are homophones (交链 for 铰链, 角膜 for 角磨,
  王淞舟 for 王崧舟) that keep the syllables while the characters differ (most incorrect Chinese
  characters are phonologically similar to the intended ones: Liu et al., 2010, "Visually and
  Phonologically Similar Characters in Incorrect Simplified Chinese Words"). On the real Taobao
  queries it took the lexical side from 0.868 to 0.897 NDCG@10 (``bench/bench_chinese.py``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from shelfwise.errors import MissingExtraError

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RANGES = _CJK  # the CJK ideograph ranges, public for other modules' character classes: rf"[{CJK_RANGES}]"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)  # a Latin/digit run never swallows CJK
_CJK_RE = re.compile(rf"^[{_CJK}]+$")
_CJK_ANY = re.compile(rf"[{_CJK}]")

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


CHINESE_ANALYSERS = ("ngram", "jieba", "bigram")


def normalise(text: str) -> str:
    """NFKC (folds full-width forms), lower case, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: whitespace, control and format characters alone (zero-width
    spaces, joiners, a byte-order mark), which ``str.strip`` keeps."""
    return all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)


def plural_forms(word: str) -> set[str]:
    """English plural spellings of ``word``: +s, +es, y -> ies, f/fe -> ves."""
    out = {word + "s", word + "es"}
    if word.endswith("y"):
        out.add(word[:-1] + "ies")
    if word.endswith("f"):
        out.add(word[:-1] + "ves")
    if word.endswith("fe"):
        out.add(word[:-2] + "ves")
    return out


def singular_forms(word: str) -> set[str]:
    """The words ``word`` may be the English plural of (:func:`plural_forms` undone; words of four
    letters or more only, so "bus" is left alone)."""
    if len(word) <= 3 or not word.endswith("s"):
        return set()
    out = {word[:-1]}
    if word.endswith("es"):
        out.add(word[:-2])
    if word.endswith("ies"):
        out.add(word[:-3] + "y")
    if word.endswith("ves"):
        out |= {word[:-3] + "f", word[:-3] + "fe"}
    return out


def has_cjk(text: str) -> bool:
    return _CJK_ANY.search(text) is not None


@lru_cache(maxsize=1)
def _jieba() -> Any | None:
    try:
        import jieba
    except ImportError:
        return None
    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=3)
def _opencc(config: str = "t2s") -> Any:
    try:
        from opencc_purepy import OpenCC
    except ImportError as exc:
        raise MissingExtraError("opencc-purepy", "search") from exc
    return OpenCC(config)


@lru_cache(maxsize=65536)
def to_simplified(run: str) -> str:
    """``run`` (CJK characters) with Traditional characters folded to Simplified (OpenCC ``t2s``:
    phrase tables first, then characters). Shoppers and sellers mix both scripts; folding both
    sides makes them meet. Memoised: titles and queries repeat their runs."""
    return str(_opencc().t2s(run))


# Taiwan shoppers' words that OpenCC's tw2sp leaves as they are (opencc-purepy 1.5.0's dictionaries, and
# OpenCC's own TWPhrases* upstream, hold none of them), in Simplified characters -> the mainland word.
# Sources: the Chinese Wikipedia's conversion group Module:CGroup/IT ("laptop/notebook computer":
# 筆電=>zh-cn:笔记本电脑; "Netbook": zh-cn:上网本, zh-tw:小筆電; "memory card": zh-cn:存储卡, zh-tw:記憶卡)
# and MediaWiki's ZhConversion.php zh2CN table (原子筆 -> 圆珠笔, 藍芽 -> 蓝牙: as zhconv-rs 0.4.2 on
# PyPI, built from it, converts them). Applied after tw2sp, longest word first.
TAIWAN_WORDS = {"小笔电": "上网本", "笔电": "笔记本电脑", "记忆卡": "存储卡", "原子笔": "圆珠笔", "蓝芽": "蓝牙"}
_TAIWAN_WORD = re.compile("|".join(sorted(TAIWAN_WORDS, key=len, reverse=True)))


@lru_cache(maxsize=4096)
def to_mainland(run: str) -> str:
    """``run`` (Traditional Chinese as written in Taiwan) in Simplified characters and mainland
    wording (OpenCC ``tw2sp``: 隨身碟 -> U盘, 螢幕 -> 屏幕, 無線滑鼠 -> 无线鼠标; then
    :data:`TAIWAN_WORDS`: 筆電 -> 笔记本电脑), where :func:`to_simplified` changes only the characters
    (随身碟, 萤幕, 无线滑鼠, 笔电: words a mainland catalog does not use)."""
    return _TAIWAN_WORD.sub(lambda m: TAIWAN_WORDS[m.group(0)], str(_opencc("tw2sp").convert(run)))


@lru_cache(maxsize=4096)
def to_taiwan(run: str) -> str:
    """:func:`to_mainland` the other way (OpenCC ``s2twp``): 鼠标 -> 滑鼠, U盘 -> 隨身碟."""
    return str(_opencc("s2twp").convert(run))


@lru_cache(maxsize=1)
def _lazy_pinyin() -> Any:
    try:
        from pypinyin import lazy_pinyin
    except ImportError as exc:
        raise MissingExtraError("pypinyin", "search") from exc
    return lazy_pinyin


@cache  # bounded by the CJK repertoire (~30k characters)
def syllable(char: str) -> str:
    """The toneless pinyin of one (Simplified) character's default reading, read without context so
    a character maps to one syllable in queries and titles alike ("铰" -> "jiao"); a character
    pypinyin does not know maps to itself."""
    return str(_lazy_pinyin()(char)[0])


@lru_cache(maxsize=1)
def _stemmer() -> Any | None:
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


@dataclass(frozen=True)
class Tokenizer:
    """Splits text into index terms. ``stem``/``stopwords`` apply to Latin tokens only;
    ``fold_traditional`` folds Traditional Chinese to Simplified before the CJK terms are cut."""

    stem: bool = True
    stopwords: bool = True
    chinese: str = "ngram"  # "ngram" (unigrams + bigrams), "jieba" or "bigram"
    fold_traditional: bool = True

    def __post_init__(self) -> None:
        if self.chinese not in CHINESE_ANALYSERS:
            raise ValueError(f"chinese must be one of {CHINESE_ANALYSERS}")

    @classmethod
    def from_saved(cls, fields: dict[str, Any]) -> Tokenizer:
        """The tokenizer a saved index was built with: one saved before Traditional folding
        existed (no ``fold_traditional`` key) did not fold, so its queries must not either."""
        return cls(**{"fold_traditional": False, **fields})

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
        if self.fold_traditional:
            run = to_simplified(run)
        if self.chinese == "ngram":
            return [*run, *(run[i : i + 2] for i in range(len(run) - 1))]
        jb = _jieba() if self.chinese == "jieba" else None
        if jb is not None:
            return [w for w in jb.lcut_for_search(run) if w.strip()]
        if len(run) == 1:
            return [run]
        return [run[i : i + 2] for i in range(len(run) - 1)]


@dataclass(frozen=True)
class CharNgrams:
    """Character ``n``-grams of the Latin/digit words, joined with ``#`` boundaries, and with
    ``pinyin`` each CJK character's toneless syllable (``"~jiao"``).

    Words are joined, so grams also span adjacent words ("#deck#over#" shares "kov"/"ove" with
    "deckover"). CJK characters themselves are left to :class:`Tokenizer`, whose unigrams + bigrams
    already are character n-grams; their syllables match homophone typos (see the module doc).
    """

    n: int = 3
    pinyin: bool = True

    @classmethod
    def from_saved(cls, fields: dict[str, Any]) -> CharNgrams:
        """The analyser a saved index was built with: one saved before syllables existed (no
        ``pinyin`` key) has none in its vocabulary, so its queries must not be cut into them either."""
        return cls(**{"pinyin": False, **fields})

    def __post_init__(self) -> None:
        if not 2 <= self.n <= 6:
            raise ValueError("CharNgrams.n must be in [2, 6]")

    def joined(self, text: str) -> str:
        """The string the grams are cut from: the Latin/digit words joined with ``#`` boundaries
        (``"#white#tile#"``), "" when there is none. A gram is one of ``text``'s exactly when it is a
        substring of it."""
        words = [t for t in _TOKEN_RE.findall(normalise(text)) if not _CJK_RE.match(t)]
        return "#" + "#".join(words) + "#" if words else ""

    def __call__(self, text: str) -> list[str]:
        s = self.joined(text)
        n = self.n
        out = [s[i : i + n] for i in range(max(1, len(s) - n + 1))] if s else []
        if self.pinyin and has_cjk(text):
            out.extend(self.syllables(text))
        return out

    @staticmethod
    def syllables(text: str) -> list[str]:
        """``"~" + syllable`` of each CJK character of ``text`` (Traditional folded first), in order;
        the ``~`` keeps them apart from the Latin grams ("~an" is not the gram "an")."""
        out: list[str] = []
        for tok in _TOKEN_RE.findall(normalise(text)):
            if _CJK_RE.match(tok):
                out.extend("~" + syllable(c) for c in to_simplified(tok))
        return out
