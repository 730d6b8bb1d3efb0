"""Cheap query-product features for learning to rank over a first-stage candidate list.

Lexical (BM25), semantic (bi-encoder cosine), first-stage position, field matches (query terms
found in the title, category path, attribute values) and popularity: the classic LTR feature
families (Liu, 2009, "Learning to Rank for Information Retrieval", ch. 1; LETOR feature sets).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.results import Results
from shelfwise.retrieve.hybrid import HybridSearcher

FEATURE_NAMES: tuple[str, ...] = (
    "bm25",
    "bm25_rel",
    "cosine",
    "cosine_rel",
    "first_stage",
    "inv_rank",
    "title_match",
    "category_match",
    "attribute_match",
    "all_terms_matched",
    "log_popularity",
)


class FeatureExtractor:
    """Feature rows for (query, candidate catalog rows). Field token sets use the searcher's BM25
    tokenizer (stemmed English, jieba Chinese), so matching follows the lexical index."""

    names = FEATURE_NAMES

    def __init__(
        self,
        catalog: Catalog,
        searcher: HybridSearcher,
        popularity: npt.ArrayLike | None = None,
    ) -> None:
        self.catalog = catalog
        self.searcher = searcher
        tok = searcher.lexical.tokenizer
        self._title = [frozenset(tok(p.title)) for p in catalog.products]
        self._category = [frozenset(tok(" ".join(p.category))) for p in catalog.products]
        self._attrs = [frozenset(tok(" ".join(p.attributes.values()))) for p in catalog.products]
        pop = np.zeros(len(catalog)) if popularity is None else np.asarray(popularity, dtype=np.float64)
        if pop.shape != (len(catalog),):
            raise ValueError(f"popularity has shape {pop.shape}, catalog has {len(catalog)} rows")
        self.log_popularity = np.log1p(np.maximum(pop, 0.0)).astype(np.float32)

    @property
    def n_features(self) -> int:
        return len(self.names)

    def features(self, query: str, results: Results) -> npt.NDArray[np.float32]:
        """``(len(results), n_features)`` matrix; ``results`` is the first-stage list, best first."""
        rows = results.ids
        n = len(rows)
        out = np.zeros((n, self.n_features), dtype=np.float32)
        if n == 0:
            return out
        bm = self.searcher.lexical.words.scores(query)[rows]
        cos = self.searcher.item_vectors[rows] @ self.searcher.dense.embed(query)
        first = results.scores.astype(np.float32)
        span = float(first.max() - first.min())
        qtok = set(self.searcher.lexical.tokenizer(query))
        out[:, 0] = bm
        out[:, 1] = self.searcher.lexical.scores(query)[rows]  # word + character BM25, max-scaled
        out[:, 2] = cos
        out[:, 3] = cos - cos.max()
        out[:, 4] = (first - first.min()) / span if span > 1e-12 else 1.0
        out[:, 5] = 1.0 / (1.0 + np.arange(n, dtype=np.float32))
        if qtok:
            nq = float(len(qtok))
            for j, r in enumerate(rows.tolist()):
                t, c, a = qtok & self._title[r], qtok & self._category[r], qtok & self._attrs[r]
                out[j, 6] = len(t) / nq
                out[j, 7] = len(c) / nq
                out[j, 8] = len(a) / nq
                out[j, 9] = float(len(t | c | a) == len(qtok))
        out[:, 10] = self.log_popularity[rows]
        return out

    def batch(self, queries: Sequence[str], results: Sequence[Results]) -> list[npt.NDArray[np.float32]]:
        return [self.features(q, r) for q, r in zip(queries, results, strict=True)]
