"""A store's own synonyms: query words that also search other words ("sofa" also finds "couch").

The file is Solr's synonym format, which Elasticsearch, OpenSearch and Vespa users already keep
(Apache Solr Reference Guide, "Filter Descriptions: Synonym Graph Filter"), one rule a line:

* ``sofa, couch, settee``: equivalent; a query holding any of them also searches the others;
* ``tv, telly => television``: one way; "tv" also searches "television", not the reverse;
* ``#`` starts a comment; blank lines are skipped.

Rules *expand* the query (as Algolia's synonyms do): the shopper's own words are always kept, so a
rule can add recall and never removes a product the query found. Matching is by whole words after
the index's normalisation (case, full-width forms) with English stemming ("sofas" matches "sofa"); a
Chinese phrase matches where its characters occur (Traditional folded to Simplified). The added
words go to both halves of the search (the lexical index and the query embedding), and a notice
names them.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from shelfwise.errors import DataError, RowError
from shelfwise.index.text import _stemmer, has_cjk, normalise, to_simplified
from shelfwise.jsonfile import read_manifest_json
from shelfwise.notice import SYNONYMS, Notice

FORMAT = "shelfwise.synonyms"
VERSION = 1
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_READINGS = 64  # Synonyms.readings gives at most this many rewritings of one query
MAX_PLACES = 12  # ... combining at most this many places of source phrases (the first ones)


def words(text: str) -> tuple[str, ...]:
    """``text`` as normalised, stemmed Latin words (CJK runs as one folded token each)."""
    raw = [to_simplified(w) if has_cjk(w) else w for w in _WORD.findall(normalise(text))]
    stemmer = _stemmer()
    return tuple(w if has_cjk(w) or stemmer is None else stemmer.stemWord(w) for w in raw)


def holds(query: tuple[str, ...], phrase: tuple[str, ...], joined: str) -> bool:
    """Whether the query's words hold ``phrase``: a CJK phrase anywhere in its characters, a word
    phrase as consecutive whole words."""
    if not phrase:
        return False
    if all(has_cjk(w) for w in phrase):
        return "".join(phrase) in joined
    n = len(phrase)
    return any(query[i : i + n] == phrase for i in range(len(query) - n + 1))


class PhraseIndex:
    """Phrases (as :func:`words` gives them), each with a number, found in a query's words by the
    query's words rather than by scanning every phrase: a word phrase through its first word, a CJK
    phrase through its first character (it may start inside a query word)."""

    def __init__(self, phrases: Iterable[tuple[tuple[str, ...], int]]) -> None:
        self._by_word: dict[str, list[tuple[tuple[str, ...], int]]] = {}  # first word -> (phrase, number)
        self._by_char: dict[str, list[tuple[str, int]]] = {}  # a CJK phrase's first character -> (text, number)
        for phrase, n in phrases:
            if phrase and all(has_cjk(w) for w in phrase):
                text = "".join(phrase)
                self._by_char.setdefault(text[0], []).append((text, n))
            elif phrase:
                self._by_word.setdefault(phrase[0], []).append((phrase, n))

    def found(self, q: tuple[str, ...], joined: str) -> set[int]:
        """The numbers of the phrases the query's words ``q`` hold (:func:`holds`; ``joined``: ``q``
        joined without spaces)."""
        hit: set[int] = set()
        for i, w in enumerate(q):
            hit.update(n for phrase, n in self._by_word.get(w, ()) if q[i : i + len(phrase)] == phrase)
        if has_cjk(joined):
            for j, ch in enumerate(joined):
                hit.update(n for text, n in self._by_char.get(ch, ()) if joined.startswith(text, j))
        return hit


@dataclass(frozen=True)
class Rule:
    """``sources``: phrases that trigger the rule; ``targets``: phrases then also searched. An
    equivalence has the same phrases on both sides."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Rewrite:
    """One place a rule's source phrase occurs in a query: the query's text ``before`` and ``after``
    it (normalised, the query's own words), ``glue`` (" " between words, "" inside a Chinese run) and
    the rule's other phrases, ``targets``. The query reads as :meth:`rest` without the phrase and as
    :meth:`reading` with a target in its place (what a product may hold instead of the phrase)."""

    before: str
    after: str
    glue: str
    targets: tuple[str, ...]

    def rest(self) -> str:
        """The query with the phrase cut out (a gap: no Chinese character pair across it)."""
        return f"{self.before} {self.after}"

    def reading(self, target: str) -> str:
        """The query with ``target`` in the phrase's place."""
        return f"{self.before}{self.glue}{target}{self.glue}{self.after}"


class _Place(NamedTuple):
    """A source phrase's place in the query's text (:func:`_text`): ``start`` to ``end``, ``glue`` as
    :class:`Rewrite` says, the rule's other phrases ``targets``."""

    start: int
    end: int
    glue: str
    targets: tuple[str, ...]


class _Read(NamedTuple):
    query: str
    words: tuple[str, ...]  # :func:`words` of the query
    rules: tuple[int, ...]  # the rules it triggers, in order
    added: tuple[str, ...]  # their target phrases the query does not hold


class Synonyms:
    """Rules read from a store's synonym file (:func:`read_synonyms`); :meth:`added` gives the words a
    query also searches, :meth:`rewrites` where in the query they stand in, :meth:`readings` the
    query rewritten by them."""

    def __init__(self, rules: Iterable[Rule], source: str = "", problems: Iterable[RowError] = ()) -> None:
        self.rules = tuple(rules)
        self.source = source
        self.problems = tuple(problems)  # malformed lines of the file read (not saved)
        self._words = {p: words(p) for rule in self.rules for p in (*rule.sources, *rule.targets)}
        self._sources = PhraseIndex((self._words[p], i) for i, rule in enumerate(self.rules) for p in rule.sources)
        self._last: _Read | None = None  # a request asks several times (search, rules, notices, total)

    def __len__(self) -> int:
        return len(self.rules)

    def added(self, query: str) -> str:
        """The target phrases of every rule ``query`` triggers, those the query does not already
        hold, space-separated in rule order ("" when none)."""
        return " ".join(self.added_phrases(query))

    def added_phrases(self, query: str) -> tuple[str, ...]:
        """:meth:`added` as separate phrases (what a merchandising rule reads one by one)."""
        return self._read(query).added

    def _read(self, query: str) -> _Read:
        """The query's words, the rules it triggers and their phrases it does not hold; memoised for
        the last query."""
        last = self._last
        if last is not None and last.query == query:
            return last
        q = words(query)
        joined = "".join(q)
        found = tuple(sorted(self._sources.found(q, joined)))  # not by scanning every rule
        out: list[str] = []
        for r in found:
            out += [t for t in self.rules[r].targets if t not in out and not holds(q, self._words[t], joined)]
        read = _Read(query, q, found, tuple(out))
        self._last = read  # one atomic assignment: safe across request threads
        return read

    def rewrites(self, query: str) -> tuple[Rewrite, ...]:
        """Each occurrence in ``query`` of a source phrase of a rule it triggers (the rules
        :meth:`added` reads), with that rule's other phrases: a word phrase where the query's words
        hold it, a Chinese one where a Chinese run holds its characters (Traditional folded: the run
        then written folded where folding changes its length)."""
        text, places = self._places(query)
        out = []
        for p in places:
            before, after = (
                (text[: p.start], text[p.end :]) if not p.glue else (text[: p.start][:-1], text[p.end + 1 :])
            )
            out.append(Rewrite(before, after, p.glue, p.targets))
        return tuple(out)

    def readings(self, query: str, keep: Callable[[str], bool] = bool, limit: int = MAX_READINGS) -> tuple[str, ...]:
        """``query`` rewritten by the rules it triggers, as Algolia reads synonyms (alternatives on the
        query's word graph): every choice of places (:meth:`rewrites`) that do not overlap, each read as
        one of its rule's other phrases that ``keep`` allows, the others kept as typed; fewest places
        first, at most ``limit`` (of the first :data:`MAX_PLACES` places), the query itself not among
        them. A phrase held twice is replaced at both places too ("tv stand for tv": "television stand
        for television"), and two Chinese phrases side by side together, the pair across them included."""
        text, places = self._places(query)
        chosen_from = sorted(p._replace(targets=tuple(filter(keep, p.targets))) for p in places[:MAX_PLACES])
        usable = [p for p in chosen_from if p.targets]
        out: dict[str, None] = {}
        for k in range(1, len(usable) + 1):
            for picked in itertools.combinations(usable, k):  # in text order: overlaps are neighbours
                if any(a.end > b.start for a, b in itertools.pairwise(picked)):
                    continue
                for targets in itertools.product(*(p.targets for p in picked)):
                    pieces, at = [], 0
                    for p, t in zip(picked, targets, strict=True):
                        pieces += [text[at : p.start], p.glue, t, p.glue]
                        at = p.end
                    out.setdefault(" ".join(("".join(pieces) + text[at:]).split()), None)
                    if len(out) >= limit:
                        return tuple(out)
        return tuple(out)

    def _places(self, query: str) -> tuple[str, list[_Place]]:
        """The query's text (:func:`_text`) and each place in it of a source phrase of a rule it
        triggers, rule by rule, with the rule's other phrases (none that reads as the phrase itself)."""
        read = self._read(query)
        if not read.rules:
            return "", []
        raw = _WORD.findall(normalise(query))  # one per word of read.words, as typed
        text = _text(raw, read.words)
        out: list[_Place] = []
        for r in read.rules:
            rule = self.rules[r]
            for source in rule.sources:
                phrase = self._words[source]
                targets = tuple(t for t in rule.targets if self._words[t] != phrase)
                if phrase and targets:
                    glue = "" if all(has_cjk(w) for w in phrase) else " "
                    out += [_Place(a, b, glue, targets) for a, b in _spans(raw, read.words, phrase)]
        return text, out

    def notices(self, query: str) -> list[str]:
        added = self.added(query)
        return [Notice(f"also searched, by the store's synonyms: {added!r}", SYNONYMS)] if added else []

    def save(self, path: str | Path) -> None:
        body = {
            "format": FORMAT,
            "version": VERSION,
            "source": self.source,
            "rules": [{"sources": list(r.sources), "targets": list(r.targets)} for r in self.rules],
        }
        Path(path).write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Synonyms:
        p = Path(path)
        meta = read_manifest_json(p, fmt=FORMAT, max_version=VERSION, missing="synonyms file", required=("rules",))
        rules = [Rule(tuple(r["sources"]), tuple(r["targets"])) for r in meta["rules"]]
        return cls(rules, str(meta.get("source", "")))


def _runs(raw: list[str], q: tuple[str, ...]) -> list[str]:
    """The query's words as typed (``raw``, normalised), a Chinese run written folded (``q``'s) where
    folding changes its length: each run's characters then sit where ``q``'s do."""
    return [w if has_cjk(w) and len(r) != len(w) else r for r, w in zip(raw, q, strict=True)]


def _text(raw: list[str], q: tuple[str, ...]) -> str:
    """The query's text that :class:`_Place` positions read: :func:`_runs`, space-separated."""
    return " ".join(_runs(raw, q))


def _spans(raw: list[str], q: tuple[str, ...], phrase: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) in :func:`_text` of each place the query's words ``q`` (``raw``: as typed,
    normalised) hold ``phrase`` (:func:`holds`): a Chinese phrase where its characters follow one
    another in the query's characters, inside one run or across the gap between runs ("手机 壳" holds
    手机壳, as the search, which reads the query's characters joined, finds it), the gaps in the span."""
    runs = _runs(raw, q)
    if not all(has_cjk(w) for w in phrase):
        first = list(itertools.accumulate((len(r) + 1 for r in runs), initial=0))  # each run's offset
        n = len(phrase)
        return [(first[i], first[i + n] - 1) for i in range(len(q) - n + 1) if q[i : i + n] == phrase]
    # the runs folded (a Chinese run's characters sit where q's do), each phrase character then
    # followed by the next or by a gap and the next; overlapping places too ("哈哈" twice in 哈哈哈)
    folded = " ".join(w if has_cjk(w) else r for r, w in zip(runs, q, strict=True))
    pattern = re.compile("(?=(" + " ?".join(map(re.escape, "".join(phrase))) + "))")
    return [(m.start(1), m.end(1)) for m in pattern.finditer(folded)]


def read_synonyms(path: str | Path, *, strict: bool = False) -> Synonyms:
    """Rules from a Solr-format synonym file (module doc). A malformed line (a side with no phrase, a
    group of one phrase, a phrase with no letter or digit) is reported in ``problems`` with its line
    number and the good lines are kept; with ``strict`` any malformed line raises ``DataError``, and
    so does a file with no rule at all."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([RowError(str(p), 0, "<file>", f"cannot read the synonym file: {exc}")]) from exc
    rules: list[Rule] = []
    errors: list[RowError] = []
    for no, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        problem = None
        if text.count("=>") > 1:
            problem = "more than one '=>'"
        else:
            left, _, right = text.partition("=>")
            sources = _phrases(left)
            targets = _phrases(right) if "=>" in text else sources
            if not sources or not targets:
                problem = "a side of '=>' has no phrase (write 'a, b => c')"
            elif "=>" not in text and len(sources) < 2:
                problem = "an equivalence needs two phrases or more, separated by commas"
            elif not all(words(x) for x in (*sources, *targets)):
                problem = "a phrase has no letter or digit"
            else:
                rules.append(Rule(sources, targets))
        if problem:
            errors.append(RowError(str(p), no, "rule", f"{problem}: {line.strip()!r}"))
    if (errors and strict) or not rules:
        raise DataError(errors, f"{p}: {len(errors)} malformed synonym rule(s), {len(rules)} good one(s)")
    return Synonyms(rules, p.name, errors)


def _phrases(side: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(" ".join(x.split()) for x in side.split(",") if x.strip()))
