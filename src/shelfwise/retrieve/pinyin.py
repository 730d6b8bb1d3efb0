"""A query typed in pinyin read as the Chinese words of the catalog it spells: "shoujike" -> 手机壳.

Chinese shoppers type through a pinyin input method; one who does not pick the characters (a
phone's English keyboard, a hurry) sends the Latin letters, "shoujike" or "bao wen bei". The word
index holds no such term and the encoder reads them as noise, so such a query found products
whose Latin text merely shared letters (and CC-CEDICT read "bao" as 包子, steamed buns). Here the
letters are cut into the syllables of the catalog's own characters, fewest syllables first, and
each syllable's characters are chained through the character pairs the catalog holds (its word
index's bigrams), the pairs many products hold first: a Viterbi search over the catalog's bigrams,
as pinyin input methods rank candidates with a character bigram model (Chen & Lee, 2000, "A new
statistical approach to Chinese pinyin input"). A run that cannot be chained is cut there; a lone
character is not kept (one syllable names too many characters to guess from).

Only Latin words that may be pinyin are read, and only when one of them is no English word: a
query every word of which the dictionary knows as English ("women", "china") or the catalog holds
as typed ("nike") stays English (:class:`~shelfwise.retrieve.translate.Bilingual`).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from shelfwise.index.text import has_cjk, normalise, syllable

MAX_SYLLABLES = 12  # a longer run of letters is not read (a model number, a pasted string)
_WORD = re.compile(r"[a-z]+")
_SCRIPT_EDGE = re.compile(r"(?<=[a-z])(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff])(?=[a-z])")  # Latin letters next to CJK
_BREAK = 4.0  # what starting a new word costs against chaining on through a pair the catalog holds


class PinyinReader:
    """Built from the catalog's word-index vocabulary: ``terms`` lists its terms (the CJK
    characters and character pairs among them are used), ``doc_freq`` how many products hold a
    term. The syllable table is made at the first pinyin query (one pass over the vocabulary)."""

    def __init__(self, terms: Callable[[], Iterable[str]], doc_freq: Callable[[str], int]) -> None:
        self._terms, self.doc_freq = terms, doc_freq
        self._chars: dict[str, list[str]] | None = None  # syllable -> the catalog's characters

    def chars(self) -> dict[str, list[str]]:
        if self._chars is None:
            table: dict[str, list[str]] = defaultdict(list)
            for t in self._terms():
                if len(t) == 1 and has_cjk(t):
                    table[syllable(t)].append(t)
            self._chars = dict(table)
        return self._chars

    def syllables(self, word: str) -> list[str] | None:
        """``word`` cut into the fewest syllables of the catalog's characters, None when it cannot be."""
        table = self.chars()
        n = len(word)
        best: list[list[str] | None] = [[]] + [None] * n
        for j in range(1, n + 1):
            for i in range(max(0, j - 6), j):  # a pinyin syllable has at most 6 letters ("zhuang")
                head = best[i]
                now = best[j]
                if head is not None and word[i:j] in table and (now is None or len(head) + 1 < len(now)):
                    best[j] = [*head, word[i:j]]
        return best[n]

    def read(self, query: str, english: Callable[[str], bool]) -> str:
        """The Chinese words ``query``'s pinyin spells in the catalog ("" when none): runs of the
        query's words that cut into syllables, unless every word of a run is English (``english``)."""
        out: list[str] = []
        run: list[str] = []
        text = _SCRIPT_EDGE.sub(" ", normalise(query))  # full-width letters folded; "baowen杯" -> "baowen 杯"
        for word in [*text.replace("'", " ").split(), ""]:  # "" ends the last run
            cut = self.syllables(word) if word and _WORD.fullmatch(word) else None
            if cut is not None:
                run.append(word)
                continue
            if run and not all(map(english, run)):
                sylls = [s for w in run for s in (self.syllables(w) or [])]
                if 2 <= len(sylls) <= MAX_SYLLABLES:
                    out.extend(w for w in self.chain(sylls) if w not in out)
            run = []
        return " ".join(out)

    def chain(self, sylls: list[str]) -> list[str]:
        """The catalog's words (two characters or more) for a syllable sequence: each step goes on
        through a character pair the catalog holds (scored log(1 + products holding it)) or starts
        a new word at a cost; the best path, cut into its words."""
        table = self.chars()
        # per position: character -> (score, previous character or "" for a new word)
        steps: list[dict[str, tuple[float, str]]] = [{c: (0.0, "") for c in table[sylls[0]]}]
        for s in sylls[1:]:
            prev = steps[-1]
            restart = max(v[0] for v in prev.values()) - _BREAK
            here: dict[str, tuple[float, str]] = {}
            for c in table[s]:
                best = (restart, "")
                for p, (score, _) in prev.items():
                    df = self.doc_freq(p + c)
                    if df and score + math.log1p(df) > best[0]:
                        best = (score + math.log1p(df), p)
                here[c] = best
            steps.append(here)
        path = [max(steps[-1], key=lambda k: steps[-1][k][0])]
        cuts = set()
        for i in range(len(steps) - 1, 0, -1):
            p = steps[i][path[-1]][1]
            if p == "":  # a new word starts at i: the best end of the one before
                p = max(steps[i - 1], key=lambda k: steps[i - 1][k][0])
                cuts.add(i)
            path.append(p)
        path.reverse()
        words, start = [], 0
        for i in [*sorted(cuts), len(path)]:
            words.append("".join(path[start:i]))
            start = i
        return [w for w in words if len(w) >= 2]
