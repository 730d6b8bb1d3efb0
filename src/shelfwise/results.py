"""Typed results passed between retrieval, ranking and recommendation stages.

Modelled on ``implicit``/``bm25s``: two parallel arrays, item row indices into the
catalog and their scores, best first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Results:
    """Ranked item row indices (``ids``) with ``scores``, best first.

    ``features``: optional per-hit signals from the stage that produced the list (e.g. a first-stage
    retriever's ``bm25`` / ``lexical`` / ``cosine``), one array aligned with ``ids`` per name. They
    travel with the hits into the next stage, as Vespa's match-features do, so a reranker reads them
    instead of asking the retriever again."""

    ids: IntArray
    scores: FloatArray
    features: Mapping[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ids.shape != self.scores.shape or self.ids.ndim != 1:
            raise ValueError(f"Results: ids {self.ids.shape} and scores {self.scores.shape} must be equal 1-d shapes")
        for name, values in self.features.items():
            if values.shape != self.ids.shape:
                raise ValueError(f"Results: feature {name!r} has shape {values.shape}, ids {self.ids.shape}")

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

    def take(
        self, index: npt.NDArray[np.int64] | npt.NDArray[np.bool_] | slice, scores: FloatArray | None = None
    ) -> Results:
        """The hits at ``index`` (positions, a boolean keep-mask or a slice), features kept aligned;
        ``scores`` replaces the taken hits' scores when given."""
        new = self.scores[index] if scores is None else np.asarray(scores, dtype=np.float32)
        return Results(self.ids[index], new, {k: v[index] for k, v in self.features.items()})

    def with_features(self, **features: npt.NDArray[np.floating]) -> Results:
        """This list with more per-hit features (each aligned with ``ids``)."""
        extra = {k: np.asarray(v, dtype=np.float32) for k, v in features.items()}
        return Results(self.ids, self.scores, {**self.features, **extra})

    def top(self, k: int) -> Results:
        return self.take(slice(0, k))

    def exclude(self, mask: npt.NDArray[np.bool_]) -> Results:
        """Drop items whose row is True in ``mask`` (e.g. already seen)."""
        return self.take(~mask[self.ids])
