"""Merchandising rules: a store's own decisions for given queries, applied after ranking.

What Algolia calls Rules (its "promote" and "hide" consequences) and Elastic App Search calls
curations: for a query, pin chosen products to the top in a chosen order, or hide products. The
rules file is JSON, a list of objects:

    [{"id": "tv-deals", "query": "tv", "match": "contains", "pin": ["SKU-1", "SKU-2"]},
     {"id": "recalled", "query": "baby gate", "hide": ["SKU-9"]}]

* ``query``: the phrase; ``match``: ``is`` (default: the whole query, normalised and stemmed as
  synonyms are, :mod:`shelfwise.retrieve.synonyms`) or ``contains`` (the query holds the phrase as
  whole words);
* ``pin``: product ids shown first, in this order (a pinned product still has to pass the
  request's filters and a price the query names, "tv under 300"); ``hide``: product ids never
  shown for the query; at least one of the two;
* ``id``: a name for the rule, reported with the hits it placed (default ``rule-N``, N its
  position in the file).

Pins apply to the relevance order (a price sort orders every product by price); hides apply to
every order. Every rule a query triggers applies, in file order (a product pinned by two rules
keeps its first place; a hidden product is never pinned).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.errors import DataError, RowError
from shelfwise.jsonfile import read_manifest_json
from shelfwise.results import Results
from shelfwise.retrieve.synonyms import PhraseIndex, words

FORMAT = "shelfwise.rules"
VERSION = 1
FILE = "rules.json"
MATCHES = ("is", "contains")


@dataclass(frozen=True)
class Rule:
    id: str
    query: str
    match: str
    pin: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "query": self.query, "match": self.match, "pin": list(self.pin), "hide": list(self.hide)}


@dataclass(frozen=True)
class Applied:
    """What the rules a query triggers do: ``pin`` (catalog rows, in order) with the rule that
    pinned each, ``hide`` (rows), and the ids of the rules applied."""

    pin: tuple[int, ...] = ()
    pinned_by: tuple[str, ...] = ()
    hide: tuple[int, ...] = ()
    rules: tuple[str, ...] = ()

    def order(self, ranked: Results, allowed: npt.NDArray[np.bool_] | None) -> Results:
        """``ranked`` with the pinned rows first (those ``allowed``, a catalog-row mask; None: all),
        in pin order, each once; the pinned rows keep their own scores and features when ranked
        found them, else take the top score (features 0)."""
        pins = [r for r in self.pin if allowed is None or allowed[r]]
        if not pins:
            return ranked
        pos = {int(r): i for i, r in enumerate(ranked.ids.tolist())}
        top = float(ranked.scores[0]) if len(ranked) else 0.0
        ids = np.asarray(pins, dtype=np.int64)
        scores = np.array([ranked.scores[pos[r]] if r in pos else top for r in pins], dtype=np.float32)
        feats = {
            k: np.array([v[pos[r]] if r in pos else 0.0 for r in pins], dtype=np.float32)
            for k, v in ranked.features.items()
        }
        rest = ranked.take(~np.isin(ranked.ids, ids))
        return Results(
            np.concatenate([ids, rest.ids]),
            np.concatenate([scores, rest.scores]),
            {k: np.concatenate([feats[k], rest.features[k]]) for k in feats},
        )


class Rules:
    """A store's rules (:func:`read_rules`), resolved against a catalog's ids (``row_of``: product
    id -> catalog row; only the rows of the ids the rules name are kept, not a catalog-sized map).
    A query finds its rules through its words (an ``is`` rule by the whole query, a ``contains``
    rule by its phrase's first word), not by reading every rule."""

    def __init__(self, rules: Iterable[Rule], row_of: Mapping[str, int], problems: Iterable[RowError] = ()) -> None:
        self.rules = tuple(rules)
        self.problems = tuple(problems)  # rules or ids skipped when read (not saved)
        named = {i for r in self.rules for i in (*r.pin, *r.hide)}
        self._row = {i: row_of[i] for i in named if i in row_of}
        self._exact: dict[tuple[str, ...], list[int]] = {}  # an "is" rule's query words -> rules
        for n, r in enumerate(self.rules):
            if r.match == "is":
                self._exact.setdefault(words(r.query), []).append(n)
        self._contains = PhraseIndex((words(r.query), n) for n, r in enumerate(self.rules) if r.match != "is")

    def __len__(self) -> int:
        return len(self.rules)

    def applied(self, query: str, also: Sequence[str] = ()) -> Applied:
        """What the rules ``query`` triggers do (nothing: an empty :class:`Applied`). ``also``: the
        phrases the query is searched with besides its own (the store's synonyms): a ``contains`` rule
        sees them too, so a product hidden for "dress" stays hidden for "frock" when "frock, dress" are
        synonyms; an ``is`` rule matches the query as typed."""
        q = words(query)
        found = self._contains.found(q, "".join(q))
        for phrase in also:  # each read apart, so no phrase spans two ("手机" + "电话" holds "机电")
            added = words(phrase)
            found |= self._contains.found(added, "".join(added))
        pin: dict[int, str] = {}
        hide: set[int] = set()
        used: list[str] = []
        for n in sorted({*self._exact.get(q, ()), *found}):  # in file order
            rule = self.rules[n]
            used.append(rule.id)
            hide.update(self._row[i] for i in rule.hide if i in self._row)
            for i in rule.pin:
                if i in self._row:
                    pin.setdefault(self._row[i], rule.id)
        kept = {r: by for r, by in pin.items() if r not in hide}
        return Applied(tuple(kept), tuple(kept.values()), tuple(sorted(hide)), tuple(used))

    def save(self, path: str | Path) -> None:
        body = {"format": FORMAT, "version": VERSION, "rules": [r.to_json() for r in self.rules]}
        Path(path).write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, ids: Sequence[str]) -> Rules:
        raw = read_manifest_json(Path(path), fmt=FORMAT, max_version=VERSION, missing="rules file", required=("rules",))
        return cls(
            (Rule(r["id"], r["query"], r["match"], tuple(r["pin"]), tuple(r["hide"])) for r in raw["rules"]),
            {pid: i for i, pid in enumerate(ids)},
        )


def read_rules(path: str | Path, ids: Sequence[str], *, strict: bool = False) -> Rules:
    """The rules in a JSON file (module doc) for a catalog with these product ``ids``. A malformed
    rule is reported in ``problems`` (position in the file, field, why) and skipped; a product id
    the catalog does not have is reported and left out of its rule. With ``strict`` any problem
    raises ``DataError``, and so does a file with no usable rule."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError([RowError(str(p), 0, "<file>", f"cannot read the rules: {exc}")]) from exc
    if not isinstance(raw, list):
        raise DataError([RowError(str(p), 0, "<file>", "must hold a JSON list of rule objects")])
    row_of = {pid: i for i, pid in enumerate(ids)}
    rules: list[Rule] = []
    problems: list[RowError] = []
    for n, entry in enumerate(raw, start=1):
        rule, errs = _rule(str(p), n, entry, row_of)
        problems += errs
        if rule is not None:
            rules.append(rule)
    if (problems and strict) or not rules:
        raise DataError(problems, f"{p}: {len(problems)} problem(s), {len(rules)} usable rule(s)")
    return Rules(rules, row_of, problems)


def _rule(file: str, n: int, entry: object, row_of: dict[str, int]) -> tuple[Rule | None, list[RowError]]:
    """Rule number ``n`` of the file, checked (problems are reported as 'rule N')."""

    def bad(field: str, why: str) -> tuple[None, list[RowError]]:
        return None, [RowError(file, 0, f"rule {n}: {field}", why)]

    if not isinstance(entry, dict):
        return bad("<rule>", "not a JSON object")
    unknown = sorted(set(entry) - {"id", "query", "match", "pin", "hide"})
    if unknown:
        return bad(unknown[0], "unknown field (known: id, query, match, pin, hide)")
    query, match = entry.get("query"), entry.get("match", "is")
    if not isinstance(query, str) or not words(query):
        return bad("query", "a phrase with a letter or digit is required")
    if match not in MATCHES:
        return bad("match", f"must be one of {', '.join(MATCHES)}, got {match!r}")
    lists: dict[str, tuple[str, ...]] = {}
    for field in ("pin", "hide"):
        value = entry.get(field, [])
        if not isinstance(value, list) or not all(isinstance(x, str | int) and not isinstance(x, bool) for x in value):
            return bad(field, "must be a list of product ids")
        lists[field] = tuple(dict.fromkeys(str(x) for x in value))
    if not (lists["pin"] or lists["hide"]):
        return bad("pin", "a rule needs products to pin or to hide")
    rid = str(entry.get("id") or f"rule-{n}")
    problems = [
        RowError(file, 0, f"rule {n}: {field}", f"product {pid!r} is not in the catalog (left out)")
        for field in ("pin", "hide")
        for pid in lists[field]
        if pid not in row_of
    ]
    return Rule(rid, query, str(match), lists["pin"], lists["hide"]), problems
