"""Typed results passed between retrieval, ranking and recommendation stages.

Modelled on ``implicit``/``bm25s``: two parallel arrays, item row indices into the
catalog and their scores, best first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Results:
    """Ranked item row indices (``ids``) with ``scores``, best first."""

    ids: IntArray
    scores: FloatArray

    def __post_init__(self) -> None:
        if self.ids.shape != self.scores.shape or self.ids.ndim != 1:
            raise ValueError(f"Results: ids {self.ids.shape} and scores {self.scores.shape} must be equal 1-d shapes")

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def empty(cls) -> Results:
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))

    @classmethod
    def from_scores(
        cls, scores: npt.NDArray[np.floating], k: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> Results:
        """Top-``k`` of a dense score vector over all items, restricted to ``mask`` when given."""
        s = np.asarray(scores, dtype=np.float32)
        if mask is not None:
            s = np.where(mask, s, -np.inf).astype(np.float32)
        valid = int(np.isfinite(s).sum())
        k = min(k, valid)
        if k <= 0:
            return cls.empty()
        part = np.argpartition(-s, k - 1)[:k] if k < s.shape[0] else np.arange(s.shape[0])
        order = part[np.argsort(-s[part], kind="stable")]
        order = order[np.isfinite(s[order])]
        return cls(order.astype(np.int64), s[order].astype(np.float32))

    def top(self, k: int) -> Results:
        return Results(self.ids[:k], self.scores[:k])

    def exclude(self, mask: npt.NDArray[np.bool_]) -> Results:
        """Drop items whose row is True in ``mask`` (e.g. already seen)."""
        keep = ~mask[self.ids]
        return Results(self.ids[keep], self.scores[keep])
