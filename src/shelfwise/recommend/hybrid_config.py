"""Typed configuration of the hybrid recommender: its component names, default weight tables
and :class:`HybridConfig` (weights, tail penalty and every sub-model's config).

Kept apart from :mod:`shelfwise.recommend.hybrid` (the model: fitting, scoring, persistence),
which re-exports every name here. The fusion is a weighted hybrid (Burke, 2002, "Hybrid
Recommender Systems: Survey and Experiments"); the popularity penalty ``score / (1 + n_j)^beta``
trades head items for long-tail ones (Abdollahpouri et al., 2019).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from shelfwise.recommend.autotune import TuneConfig
from shelfwise.recommend.content import ContentConfig
from shelfwise.recommend.cooccurrence import CooccurrenceConfig
from shelfwise.recommend.cross import CrossConfig
from shelfwise.recommend.factor import ALSConfig
from shelfwise.recommend.popularity import PopularityConfig
from shelfwise.recommend.sasrec import SASRecConfig
from shelfwise.recommend.sequence import RecentConfig, SequenceConfig, SessionKNNConfig
from shelfwise.recommend.walk import WalkConfig

COMPONENTS = ("repeat", "cooccurrence", "als", "content", "popularity", "recent", "sequence", "sknn", "walk", "sasrec")
DEFAULT_WEIGHTS = (
    ("repeat", 1.0),
    ("cooccurrence", 0.5),
    ("als", 0.5),
    ("content", 0.3),
    ("popularity", 0.1),
    ("recent", 0.5),
    ("sequence", 0.5),
    ("sknn", 0.5),
    ("walk", 1.0),
)
DEFAULT_SIMILAR = (("cooccurrence", 1.0), ("als", 0.5), ("content", 0.5))
# an empty context (no items, no query): only popularity scores it (HybridConfig.fusion(cold=True))
COLD_START = (("popularity", 1.0),)


@dataclass(frozen=True)
class HybridConfig:
    """Component weights for ``recommend`` and ``similar``, the tail penalty, and sub-model configs.

    ``new_weights`` / ``new_penalty`` apply when seen items are excluded (``exclude_seen``): what
    predicts a re-visit and what predicts a new item differ, so fit-time tuning learns both;
    None = the same as ``weights`` / ``popularity_penalty``. ``scale_unseen``: such lists scale
    each component over the items they may show (the session's own items, which kNN and
    co-occurrence score highest, would otherwise set each component's maximum).
    """

    weights: tuple[tuple[str, float], ...] = DEFAULT_WEIGHTS
    similar_weights: tuple[tuple[str, float], ...] = DEFAULT_SIMILAR
    popularity_penalty: float = 0.0
    new_weights: tuple[tuple[str, float], ...] | None = None
    new_penalty: float | None = None
    half_life_days: float | None = None
    collapse_variants: bool = True  # one item per product title in a list
    scale_unseen: bool = True  # new-items lists scale each component over the items they may show
    popularity: PopularityConfig = field(default_factory=PopularityConfig)
    cooccurrence: CooccurrenceConfig = field(default_factory=CooccurrenceConfig)
    als: ALSConfig = field(default_factory=ALSConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    cross: CrossConfig = field(default_factory=CrossConfig)
    recent: RecentConfig = field(default_factory=RecentConfig)
    sequence: SequenceConfig = field(default_factory=SequenceConfig)
    sknn: SessionKNNConfig = field(default_factory=SessionKNNConfig)
    walk: WalkConfig = field(default_factory=WalkConfig)
    sasrec: SASRecConfig = field(default_factory=SASRecConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)

    def __post_init__(self) -> None:
        for name, w in (*self.weights, *self.similar_weights, *(self.new_weights or ())):
            if name not in COMPONENTS:
                raise ValueError(f"HybridConfig: unknown component {name!r}; known: {COMPONENTS}")
            if w < 0:
                raise ValueError(f"HybridConfig: weight of {name!r} must be >= 0")
        if self.popularity_penalty < 0 or (self.new_penalty is not None and self.new_penalty < 0):
            raise ValueError("HybridConfig.popularity_penalty and new_penalty must be >= 0")

    def with_weights(
        self, weights: Mapping[str, float], penalty: float | None = None, *, new: bool = False
    ) -> HybridConfig:
        """These weights (and penalty) for repeats allowed, or with ``new=True`` for new items only."""
        if new:
            return replace(
                self,
                new_weights=tuple(weights.items()),
                new_penalty=self.new_penalty if penalty is None else penalty,
            )
        return replace(
            self,
            weights=tuple(weights.items()),
            popularity_penalty=self.popularity_penalty if penalty is None else penalty,
        )

    def untuned(self) -> HybridConfig:
        """These settings with the default fusion weights and penalties, where fit-time tuning starts
        (a fit that tuned replaced them with weights chosen on its log's latest sessions)."""
        d = HybridConfig()
        return replace(
            self,
            weights=d.weights,
            popularity_penalty=d.popularity_penalty,
            new_weights=d.new_weights,
            new_penalty=d.new_penalty,
            similar_weights=d.similar_weights,
        )

    def fusion(self, exclude_seen: bool, cold: bool = False) -> tuple[dict[str, float], float]:
        """(weights, penalty) for a list that may (False) or may not (True) repeat seen items; with
        ``cold`` (no items, no query: an unknown shopper, an empty session) popularity alone, the one
        component that scores such a context, whatever weight fit-time tuning gave it."""
        if cold:
            return dict(COLD_START), 0.0
        if exclude_seen and self.new_weights is not None:
            pen = self.popularity_penalty if self.new_penalty is None else self.new_penalty
            return dict(self.new_weights), pen
        return dict(self.weights), self.popularity_penalty
