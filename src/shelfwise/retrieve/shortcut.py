"""When the words alone answer a query, the hybrid search skips the language model.

A query whose top lexical hits all carry every one of its words in their titles is one the words
answer; there the dense half costs the query encoder's time (most of a new query's) and does not
help. Measured with the shipped fusion on real shopper queries (``bench/bench_search_real.py``,
rows with and without ``SearchConfig.lexical_shortcut``): on the full Home Depot set (54,667
titles) 26% of the queries qualify, and on them lexical order alone scores higher than the fusion
(NDCG@10 0.527 vs 0.510); on Home Depot dev_1k (10,000 titles) 23% qualify, where the fusion is
marginally ahead (0.740 vs 0.736); no real Taobao query qualifies (its words are character n-grams).
Choosing sparse or dense retrieval per query is the selective-retrieval idea of Arabzadeh, Yan &
Clarke (2021), "Predicting Efficiency/Effectiveness Trade-offs for Dense vs Sparse Retrieval
Strategy Selection" (CIKM); here the predictor is the lexical evidence itself, no model.

Titles only: a long description holds most words of most queries, which says little.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

MAX_ROWS = 1 << 18  # rows whose title terms are kept (a dict of frozensets); cleared when full


class TitleTerms:
    """``hold_all(query, rows)``: whether every ``rows`` title holds each of the query's terms (the
    word analyser's: stemmed, stop words dropped). Each title is analysed on first use and kept."""

    def __init__(self, titles: Sequence[str], analyse: Callable[[str], list[str]], max_rows: int = MAX_ROWS) -> None:
        self.titles = titles
        self.analyse = analyse
        self.max_rows = max_rows
        self._terms: dict[int, frozenset[str]] = {}

    def of(self, row: int) -> frozenset[str]:
        got = self._terms.get(row)
        if got is None:
            if len(self._terms) >= self.max_rows:
                self._terms.clear()
            got = self._terms[row] = frozenset(self.analyse(self.titles[row]))
        return got

    def hold_all(self, query: str, rows: npt.NDArray[np.int64] | Sequence[int]) -> bool:
        """False for a query without terms (only stop words, say) or no rows."""
        terms = set(self.analyse(query))
        return bool(terms) and len(rows) > 0 and all(terms <= self.of(int(r)) for r in rows)
