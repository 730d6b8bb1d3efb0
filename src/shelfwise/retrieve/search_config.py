"""How a search is run: :class:`SearchConfig`, the searcher's settings, validated on construction, and
:class:`SearchTrace`, what one search decided."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from shelfwise.retrieve.feedback import Feedback

MODES = ("bm25", "dense", "hybrid")  # "bm25": the lexical index alone (word + character BM25)
FUSIONS = ("rrf", "weighted", "convex")


@dataclass(frozen=True)
class SearchConfig:
    """``candidates``: how many each retriever contributes before fusion.

    ``dense_weight`` is the dense share in convex and weighted fusion and the dense list's weight
    in RRF (lexical gets ``1 - dense_weight``). The defaults (convex, 0.4) were chosen on real
    shopper queries of an English and a Chinese store together (``bench/bench_search_real.py``):
    rank-based RRF lost to BM25 at the top of the list on both. ``personal_weight`` scales the cosine between a user's
    profile vector and each candidate, added after fusion.

    ``feedback_weight`` / ``feedback_depth``: pseudo-relevance feedback on the dense half of convex
    fusion (:mod:`shelfwise.retrieve.feedback`): the union's cosines are recomputed against the
    query vector plus ``feedback_weight`` x the mean vector of the fused top ``feedback_depth``
    (0 turns it off). The defaults (0.5, 10) were the grid point whose worst ratio to no feedback
    over the real English and Chinese query sets was highest (``bench/bench_search_feedback.py``; chosen on
    the same sets it is reported on). Not applied over student-embedded products, where it measured neutral.

    ``lexical_shortcut``: in hybrid mode, when the top ``lexical_shortcut`` lexical hits' titles all
    hold every word of a query of two or more words (no CJK), the lexical ranking is the answer and
    the query encoder is not run (:mod:`shelfwise.retrieve.shortcut`); 0 always fuses; at most
    ``candidates`` hits are read (every page then decides alike). Off while a reranker is attached
    (trained on fused candidates; one reading cosines runs the encoder anyway).

    ``sold_out_last``: a page of ``GET /search`` / ``shelfwise search``
    (:func:`~shelfwise.retrieve.answer.answer_search`) moves each out-of-stock product down past the
    in-stock ones that hold at least as many of the query's words, within its run of ``candidates``
    hits of the relevance order, stopping at the first in-stock hit that holds fewer
    (:func:`~shelfwise.retrieve.stock.sold_out_last`: in-stock first where the hits hold the words
    alike, as Shopify's "sold out last" and Algolia's ``customRanking: desc(in_stock)`` do; a sold-out
    match above in-stock hits that match less); after every in-stock one in a price order; off, the
    relevance order alone. The ``in_stock=true`` filter hides them instead.
    """

    mode: str = "hybrid"
    fusion: str = "convex"
    candidates: int = 100
    rrf_k: float = 60.0
    dense_weight: float = 0.4
    personal_weight: float = 0.0
    rerank_depth: int = 50
    understand: bool = True  # price phrases -> filter; catalog brand/category/attribute words -> boost
    boost_weight: float = 0.1  # share of the top score a product matching every understood phrase gains
    # opt-in: share of the final list's score spread (after any reranker) that products of the query's
    # product type gain (QueryUnderstanding.type_mask); 1 ranks them all first. Off: no real set tests it
    type_boost: float = 0.0
    feedback_weight: float = 0.5
    feedback_depth: int = 10
    lexical_shortcut: int = 5
    sold_out_last: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"SearchConfig.mode must be one of {MODES}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"SearchConfig.fusion must be one of {FUSIONS}")
        if self.candidates < 1 or self.rerank_depth < 0:
            raise ValueError("SearchConfig: candidates >= 1 and rerank_depth >= 0")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError("SearchConfig.dense_weight must be in [0, 1]")
        if self.rrf_k <= 0 or self.personal_weight < 0:
            raise ValueError("SearchConfig: rrf_k > 0 and personal_weight >= 0")
        if self.lexical_shortcut < 0:
            raise ValueError(f"SearchConfig.lexical_shortcut must be >= 0, got {self.lexical_shortcut}")
        if not (0.0 <= self.boost_weight <= 1.0 and 0.0 <= self.type_boost <= 1.0):
            raise ValueError("SearchConfig.boost_weight and type_boost must be in [0, 1]")
        try:
            _ = self.feedback
        except ValueError as e:
            raise ValueError(f"SearchConfig: {e}".replace("Feedback.", "feedback_")) from None

    @cached_property
    def feedback(self) -> Feedback:
        """The dense pseudo-relevance feedback these settings ask for (convex fusion only); built once,
        by the validation above, not per search."""
        return Feedback(self.feedback_weight, self.feedback_depth)


@dataclass
class SearchTrace:
    """What one :meth:`~shelfwise.retrieve.hybrid.HybridSearcher.search` decided, filled in for a
    caller that passes one (``trace=``): ``ranked_by`` is ``words`` (the lexical mode, or the lexical
    shortcut: no query encoder), ``meaning`` (the dense mode) or ``fusion``; ``words_matched``:
    whether any product the filters allow holds one of the query's words (word BM25 above zero among
    the lexical side's candidates), None where the lexical side did not run (the dense mode)."""

    ranked_by: str = ""
    words_matched: bool | None = None
