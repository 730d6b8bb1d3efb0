"""Which items match a typed query, for query-seeded (cold-start) recommendations.

A session seeded with a search ("red dress") must show items that match it first, and only
those may carry the reason "matches what you searched for". Language-model cosines alone do not
say which items match: E5-style embeddings are anisotropic (cosines to a query are high for
every item), so the raw cosine is nearly flat across the catalog and, fused with popularity, let
the store's best seller lead the list whatever was typed (the demo shelf's twelve queries all
began with one knit sweater, precision@10 0.15; 0.708 with the matches first:
``bench/results/session_query_s10.json``).

:func:`match_query` takes the ``pool`` items nearest the query vector (dense retrieval), scores
each by its cosine rescaled over that pool plus the share of the query's words its own text
holds (title, category, attributes, description), an unweighted CombSUM of the two normalised
scores (Fox & Shaw, 1994, "Combination of Multiple Searches"), and keeps the best ``size`` as the
query's matches, with a strength in (0, 1] (1: the best match). The word share lets the exact
words win ties that the embedding blurs (a red top vs a red dress for "red dress"); a query
whose words no item text holds (another language than the catalog's) falls back to the cosine.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.index.text import CJK_RANGES, plural_forms, singular_forms
from shelfwise.recommend.vectors import ItemVectors
from shelfwise.results import FloatArray

_WORD = re.compile(r"[^\W_]+")
# the index's Han ranges plus kana and Hangul on purpose: their runs match by bigrams here (the index cuts Han only)
_CJK = re.compile(rf"[\u3040-\u30ff{CJK_RANGES}\uac00-\ud7af]")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``; a run of CJK characters (no spaces between words) becomes
    its character bigrams (its single character when alone)."""
    out: list[str] = []
    for w in _WORD.findall(text.lower()):
        if _CJK.search(w) and len(w) > 1:
            out.extend(w[i : i + 2] for i in range(len(w) - 1))
        else:
            out.append(w)
    return out


def _variants(word: str) -> set[str]:
    """Every text word that is ``word`` up to an English plural on either side."""
    forms = {word} | singular_forms(word)
    return forms | {p for f in forms for p in plural_forms(f)}


def word_share(query_words: list[str], text: str) -> float:
    """Share of ``query_words`` found in ``text`` (an English plural on either side ignored)."""
    return _WordMatcher(query_words).share(frozenset(words(text)), text)


class ItemWords:
    """Each item's words (:func:`words` of its text), computed when first asked and kept for the
    ``max_rows`` items asked most recently: a typed query is matched against the same pool items
    again and again, and a large catalog's word sets (a set of strings an item) are not all kept."""

    def __init__(self, catalog: Catalog, max_rows: int = 20_000) -> None:
        if max_rows < 1:
            raise ValueError("ItemWords: max_rows must be >= 1")
        self.catalog = catalog
        self.max_rows = max_rows
        self._words: OrderedDict[int, frozenset[str]] = OrderedDict()
        self._lock = threading.Lock()  # one recommender serves several threads

    def __len__(self) -> int:
        return len(self._words)

    def __call__(self, row: int) -> frozenset[str]:
        with self._lock:
            got = self._words.get(row)
            if got is not None:
                self._words.move_to_end(row)
                return got
        got = frozenset(words(self.catalog.products[row].text()))
        with self._lock:
            self._words[row] = got
            if len(self._words) > self.max_rows:
                self._words.popitem(last=False)
        return got


class _WordMatcher:
    r""":func:`word_share` of one query against many items: each Latin query word's variants
    (:func:`_variants`) looked up in the item's word set (the same ``[^\W_]+`` words, so whole
    words); a CJK bigram too (an item's CJK runs are in its set as bigrams); a lone CJK character
    is searched in the text."""

    def __init__(self, query_words: list[str]) -> None:
        self.tests: list[str | frozenset[str]] = [
            q if _CJK.search(q) and len(q) == 1 else (frozenset({q}) if _CJK.search(q) else frozenset(_variants(q)))
            for q in query_words
        ]

    @property
    def reads_text(self) -> bool:
        return any(isinstance(x, str) for x in self.tests)

    def share(self, item_words: frozenset[str], text: str | None = None) -> float:
        """``text``: the item's text, read only for a lone CJK query character."""
        if not self.tests:
            return 0.0
        found = sum(
            (not x.isdisjoint(item_words)) if isinstance(x, frozenset) else (text is not None and x in text.lower())
            for x in self.tests
        )
        return found / len(self.tests)


@dataclass(frozen=True)
class QueryMatches:
    """A query's matching items (catalog rows, best first) and each one's strength in (0, 1]."""

    rows: npt.NDArray[np.int64]
    strength: FloatArray

    def __post_init__(self) -> None:
        if self.rows.shape != self.strength.shape or self.rows.ndim != 1:
            raise ValueError("QueryMatches: rows and strength must be 1-d of one length")

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def mask(self, n_items: int) -> npt.NDArray[np.bool_]:
        m = np.zeros(n_items, dtype=bool)
        m[self.rows] = True
        return m


def match_query(
    vectors: ItemVectors,
    item_words: ItemWords,
    query_vector: FloatArray,
    query: str,
    *,
    size: int,
    pool: int,
    exact: bool,
) -> QueryMatches:
    """The ``size`` items matching the query best among its ``pool`` nearest by cosine (see the
    module docstring): exact cosines of every item with ``exact``, the vector index's approximate
    search otherwise."""
    if size < 1 or pool < 1:
        raise ValueError("match_query: size and pool must be >= 1")
    rows, sims = vectors.nearest(query_vector, max(pool, size), exact=exact)
    if not len(rows):
        return QueryMatches(np.zeros(0, np.int64), np.zeros(0, np.float32))
    sims = np.asarray(sims, dtype=np.float64)
    lo, hi = float(sims.min()), float(sims.max())
    dense = (sims - lo) / (hi - lo) if hi > lo else np.ones_like(sims)
    matcher = _WordMatcher(list(dict.fromkeys(words(query))))
    products = item_words.catalog.products
    lexical = np.array(
        [matcher.share(item_words(r), products[r].text() if matcher.reads_text else None) for r in rows.tolist()]
    )
    combined = dense + lexical
    ranked = np.argsort(-combined, kind="stable")
    order = ranked[:size]
    best = float(combined[order[0]])
    floor = float(combined[ranked[size]]) if len(ranked) > size else 0.0  # the best item left out
    # strength: 1 for the best match down towards 0 at the first item left out (never 0: a kept
    # item is a match)
    spread = best - floor
    strength = np.maximum((combined[order] - floor) / spread, 1e-3) if spread > 0 else np.ones(len(order))
    return QueryMatches(rows[order].astype(np.int64), strength.astype(np.float32))
