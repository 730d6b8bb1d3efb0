"""Pseudo-relevance feedback for the dense half of convex fusion (Rocchio, re-scoring only).

Rocchio's feedback (Rocchio, 1971, "Relevance Feedback in Information Retrieval") moves the query
vector towards the centroid of the documents judged relevant; *pseudo*-relevance feedback takes the
top of the first ranking as those documents. For dense retrievers, Li et al. (2023, "Pseudo
Relevance Feedback with Deep Language Models and Dense Retrievers: Successes and Pitfalls", ACM
TOIS 41(3)) studied the vector form (the query embedding plus a weighted mean of the top-``k``
passage embeddings) and found it helps dense retrievers with a few feedback passages.

Here the feedback re-scores only the candidate union the first stage already holds (the fused top
``depth`` products give the centroid): no second index search, one more (candidates x dim) product
and a sort of the union (~0.07 ms a search at 54,667 products, ``search_hotpath_s10d.json``).
``bench/bench_search_feedback.py`` measures it on real shopper queries; over student-embedded
products it measured neutral, so :class:`~shelfwise.retrieve.HybridSearcher` does not apply it there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_SHARE = 4  # the feedback top is at most a quarter of the candidates


@dataclass(frozen=True)
class Feedback:
    """``weight``: the centroid's weight added to the (unit) query vector; ``depth``: how many of the
    fused ranking's top products make the centroid. ``weight == 0`` or ``depth == 0`` turns it off.
    Fewer than ``MIN_SHARE x depth`` candidates leave the query as it is: a "top" that is most of the
    candidates is no evidence of relevance (on a six-product catalog the centroid of everything only
    re-orders near ties by noise)."""

    weight: float = 0.5
    depth: int = 10

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 10.0:
            raise ValueError(f"Feedback.weight must be in [0, 10], got {self.weight}")
        if self.depth < 0:
            raise ValueError(f"Feedback.depth must be >= 0, got {self.depth}")

    @property
    def enabled(self) -> bool:
        return self.weight > 0 and self.depth > 0

    def query(
        self, query: npt.NDArray[np.float32], rows: npt.NDArray[np.float32], fused: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """The feedback query vector: ``query + weight * mean(rows[top depth of fused])``, unit length.
        ``rows``: the candidates' vectors, one per entry of ``fused``; ties in ``fused`` are broken by
        position (stable), so the same inputs always give the same vector."""
        if not self.enabled or len(fused) < MIN_SHARE * self.depth:
            return query
        top = np.argsort(-fused, kind="stable")[: self.depth]
        v = query.astype(np.float32) + np.float32(self.weight) * rows[top].mean(axis=0, dtype=np.float32)
        norm = float(np.linalg.norm(v))
        return (v / norm).astype(np.float32) if norm > 0 else query
