"""Cheap query-product features for learning to rank over a first-stage candidate list.

Lexical (BM25), semantic (bi-encoder cosine), first-stage position, title matches and popularity:
the classic LTR feature families (Liu, 2009, "Learning to Rank for Information Retrieval", ch. 1;
LETOR feature sets). Two title features go past bag-of-words: ``bigram_match``, the share of the
query's adjacent term pairs found adjacent in the title (the ordered-window term of Metzler & Croft,
2005, "A Markov Random Field Model for Term Dependencies"), and ``char3_match``, the share of the
query's character trigrams found in the title, which survives misspellings ("porcelin") the word
match misses (McNamee & Mayfield, 2004, "Character N-Gram Tokenization for European Language Text
Retrieval"; the lexical index's own :class:`~shelfwise.index.text.CharNgrams`).

The retrieval signals are read from the hits themselves (``Results.features``, filled by
``HybridSearcher.search(match_features=True)``), as Vespa's match-features carry first-phase signals
into the second phase: the extractor never calls back into the searcher.

Matches against the category path and attribute values are opt-in (``FIELD_FEATURES``): a judged
set derived from those fields (the demo's "<colour> <type>" queries) would otherwise be scored by
reading its own answer key. Titles are the product text every store has.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.index.text import CharNgrams, Tokenizer
from shelfwise.results import Results
from shelfwise.retrieve.hybrid import MATCH_FEATURES

MATCH_INPUTS = MATCH_FEATURES  # read from Results.features, as the first stage attaches them
FIELD_FEATURES: tuple[str, ...] = ("category_match", "attribute_match")
FEATURE_NAMES: tuple[str, ...] = (
    "bm25",
    "bm25_rel",
    "cosine",
    "cosine_rel",
    "first_stage",
    "inv_rank",
    "title_match",
    "all_terms_matched",
    "log_popularity",
    "bigram_match",
    "char3_match",
)
ALL_FEATURE_NAMES: tuple[str, ...] = (*FEATURE_NAMES, *FIELD_FEATURES)


class FeatureExtractor:
    """Feature rows for (query, first-stage hits). Field token sets use ``tokenizer`` (the lexical
    index's: stemmed English, Chinese character n-grams), so matching follows the index.

    ``names``: which features, in order (default :data:`FEATURE_NAMES`; add :data:`FIELD_FEATURES`
    to opt in to category / attribute matches)."""

    def __init__(
        self,
        catalog: Catalog,
        tokenizer: Tokenizer,
        popularity: npt.ArrayLike | None = None,
        names: Sequence[str] = FEATURE_NAMES,
    ) -> None:
        unknown = [n for n in names if n not in ALL_FEATURE_NAMES]
        if unknown:
            raise ValueError(f"unknown features {unknown}; known: {list(ALL_FEATURE_NAMES)}")
        self.names: tuple[str, ...] = tuple(names)
        self.catalog = catalog
        self.tokenizer = tokenizer
        self._chars = CharNgrams(3)
        self._title_terms = [tuple(tokenizer(p.title)) for p in catalog.products]  # in order, for bigrams
        # each title's character-gram string ("#white#tile#"): a substring test per query gram and candidate
        # instead of building the title's gram set
        self._title_chars = [self._chars.joined(p.title) for p in catalog.products]
        self._fields: dict[str, list[frozenset[str]]] = {}
        if "category_match" in self.names:
            self._fields["category"] = [frozenset(tokenizer(" ".join(p.category))) for p in catalog.products]
        if "attribute_match" in self.names:
            attrs = (" ".join(p.attributes.values()) for p in catalog.products)
            self._fields["attribute"] = [frozenset(tokenizer(a)) for a in attrs]
        pop = np.zeros(len(catalog)) if popularity is None else np.asarray(popularity, dtype=np.float64)
        if pop.shape != (len(catalog),):
            raise ValueError(f"popularity has shape {pop.shape}, catalog has {len(catalog)} rows")
        self.log_popularity = np.log1p(np.maximum(pop, 0.0)).astype(np.float32)

    @property
    def n_features(self) -> int:
        return len(self.names)

    def features(self, query: str, results: Results) -> npt.NDArray[np.float32]:
        """``(len(results), n_features)`` matrix; ``results`` is the first-stage list, best first,
        carrying its match features (``bm25``, ``lexical``, ``cosine``)."""
        rows = results.ids
        n = len(rows)
        if n == 0:
            return np.zeros((0, self.n_features), dtype=np.float32)
        missing = [m for m in MATCH_INPUTS if m not in results.features]
        if missing:
            raise ValueError(
                f"results lack match features {missing}: search with match_features=True (or attach the reranker)"
            )
        bm, lex, cos = (np.asarray(results.features[m], dtype=np.float32) for m in MATCH_INPUTS)
        first = results.scores.astype(np.float32)
        span = float(first.max() - first.min())
        cols: dict[str, npt.NDArray[np.float32]] = {
            "bm25": bm,
            "bm25_rel": lex,
            "cosine": cos,
            "cosine_rel": cos - cos.max(),
            "first_stage": (first - first.min()) / span if span > 1e-12 else np.ones(n, dtype=np.float32),
            "inv_rank": 1.0 / (1.0 + np.arange(n, dtype=np.float32)),
            "log_popularity": self.log_popularity[rows],
        }
        cols.update(self._matches(query, rows.tolist()))
        return np.stack([cols[name] for name in self.names], axis=1).astype(np.float32)

    def _matches(self, query: str, rows: list[int]) -> dict[str, npt.NDArray[np.float32]]:
        """Share of the query's terms found in each field, whether the fields cover them all, and the
        title's share of the query's adjacent term pairs and character trigrams."""
        terms = self.tokenizer(query)
        qtok = set(terms)
        n = len(rows)
        out = {f"{field}_match": np.zeros(n, dtype=np.float32) for field in ("title", *self._fields)}
        covered = np.zeros(n, dtype=np.float32)
        bigram = np.zeros(n, dtype=np.float32)
        char3 = np.zeros(n, dtype=np.float32)
        qbig = set(pairwise(terms)) if "bigram_match" in self.names else set()
        qgrams = set(self._chars(query)) if "char3_match" in self.names else set()
        if qtok:
            nq = float(len(qtok))
            for j, r in enumerate(rows):
                title = self._title_terms[r]
                seen = qtok.intersection(title)
                out["title_match"][j] = len(seen) / nq
                for field, sets in self._fields.items():
                    hit = qtok & sets[r]
                    out[f"{field}_match"][j] = len(hit) / nq
                    seen |= hit
                covered[j] = float(len(seen) == len(qtok))
                if qbig:
                    bigram[j] = len(qbig.intersection(pairwise(title))) / len(qbig)
        if qgrams:
            for j, r in enumerate(rows):
                title_chars = self._title_chars[r]
                char3[j] = sum(g in title_chars for g in qgrams) / len(qgrams)
        out["all_terms_matched"] = covered
        out["bigram_match"] = bigram
        out["char3_match"] = char3
        return out

    def batch(self, queries: Sequence[str], results: Sequence[Results]) -> list[npt.NDArray[np.float32]]:
        return [self.features(q, r) for q, r in zip(queries, results, strict=True)]
