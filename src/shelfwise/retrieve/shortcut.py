"""When the words alone answer a query, the hybrid search skips the language model.

A query of two or more words whose top lexical hits all carry every one of its words in their
titles is one the words answer; there the dense half costs the query encoder's time (most of a new
query's) and did not help. Measured with the shipped fusion on real shopper queries
(``bench/bench_search_real.py``: rows with ``SearchConfig.lexical_shortcut`` on and off, one run):
on the full Home Depot set (54,667 titles) 23% of the queries qualify, and on them lexical order
alone scored above the fusion (NDCG@10 0.538 vs 0.520); on Home Depot dev_1k (10,000 titles) 19%,
0.748 vs 0.745. One-word queries are left to the fusion: on dev_1k the words alone scored below it
on them (0.683 vs 0.716; on full Home Depot above, 0.446 vs 0.433), and a one-word query is the
most ambiguous about what kind of product is meant. Queries holding Chinese (CJK) characters are
left to it too (session 19, ``bench/bench_shortcut.py``, ``shortcut_s19.json``): on the Taobao set,
with Chinese let in (every jieba word held), no query's top 5 titles all qualify; read at the top
title alone, 13% would and they score below the fusion (0.937 vs 0.952); and on synthetic
keyword-stuffed Home Depot titles (each plus its 3 nearest titles' words) the rule fires on 27% of
queries and costs 4.8% NDCG@10 (-14% on them): stuffed marketplace titles hold every word of many
queries that only the dense side ranks well. Choosing sparse or dense retrieval per query is the selective-
retrieval idea of Arabzadeh, Yan & Clarke (2021), "Predicting Efficiency/Effectiveness Trade-offs
for Dense vs Sparse Retrieval Strategy Selection" (CIKM), whose selector is a trained classifier;
here it is the lexical evidence itself.

Titles only: a long description holds most words of most queries, which says little.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from shelfwise.index.text import has_cjk

# rows whose title terms are kept, cleared when full: ~0.95 KB a row with the vocabulary (20,000 Home Depot
# titles under tracemalloc, a session-14 probe, no results file), so ~31 MB at the bound
MAX_ROWS = 1 << 15
MIN_TERMS = 2


class TitleTerms:
    """``hold_all(query, rows)``: whether every ``rows`` title holds each of the query's terms (the
    word analyser's: stemmed, stop words dropped), for a query of at least :data:`MIN_TERMS` terms
    and no CJK. Each title is analysed on first use and kept as a set of term ids; the rows are
    read in order and the answer is no at the first title lacking a term."""

    def __init__(self, titles: Sequence[str], analyse: Callable[[str], list[str]], max_rows: int = MAX_ROWS) -> None:
        self.titles = titles
        self.analyse = analyse
        self.max_rows = max_rows
        self._vocab: dict[str, int] = {}
        self._rows: dict[int, frozenset[int]] = {}

    def of(self, row: int) -> frozenset[int]:
        """Row ``row``'s title terms as ids."""
        got = self._rows.get(row)
        if got is None:
            got = self._rows[row] = frozenset(
                self._vocab.setdefault(t, len(self._vocab)) for t in self.analyse(self.titles[row])
            )
        return got

    def clear(self) -> None:
        """Forget every analysed title (and the term ids)."""
        self._rows, self._vocab = {}, {}

    def hold_all(self, query: str, rows: npt.NDArray[np.int64] | Sequence[int], *, min_terms: int = MIN_TERMS) -> bool:
        """False for a query with CJK, with fewer than ``min_terms`` terms (the search's rule:
        :data:`MIN_TERMS`; a benchmark may ask what one-word queries would do), or no rows."""
        if len(rows) == 0 or has_cjk(query):
            return False
        terms = set(self.analyse(query))
        if len(terms) < max(min_terms, 1):
            return False
        if len(self._rows) + len(rows) > self.max_rows:  # before, never between rows: ids stay one vocabulary's
            self.clear()
        need: frozenset[int] | None = None
        for r in rows:
            got = self.of(int(r))
            if need is None:  # after the first title: the vocabulary knows any term that title holds
                ids = [self._vocab.get(t, -1) for t in terms]
                if min(ids) < 0:
                    return False
                need = frozenset(ids)
            if not need <= got:
                return False
        return True
