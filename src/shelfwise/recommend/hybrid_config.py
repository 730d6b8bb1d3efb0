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
from typing import Any

from shelfwise.recommend.autotune import TuneConfig
from shelfwise.recommend.baskets import BasketConfig
from shelfwise.recommend.content import ContentConfig
from shelfwise.recommend.cooccurrence import CooccurrenceConfig
from shelfwise.recommend.cross import CrossConfig
from shelfwise.recommend.factor import ALSConfig
from shelfwise.recommend.popularity import PopularityConfig
from shelfwise.recommend.sasrec import SASRecConfig
from shelfwise.recommend.sequence import RecentConfig, SequenceConfig, SessionKNNConfig
from shelfwise.recommend.tifu import TifuConfig
from shelfwise.recommend.walk import WalkConfig

COMPONENTS = (
    "repeat", "cooccurrence", "als", "content", "cold", "popularity", "recent", "sequence", "sknn", "walk", "sasrec",
    "tifu", "baskets",
)  # fmt: skip
DEFAULT_WEIGHTS = (
    ("repeat", 1.0),
    ("cooccurrence", 0.5),
    ("als", 0.5),
    ("content", 0.3),
    ("cold", 0.3),  # the text score of items with no events, on its own (recommend.cold_items)
    ("popularity", 0.1),
    ("recent", 0.5),
    ("sequence", 0.5),
    ("sknn", 0.5),
)
# opt-in components: none is in DEFAULT_WEIGHTS, and a fit leaves one unfitted (it scores nothing;
# SASRec needs no torch) unless some fusion weights it (HybridConfig.uses): the session-graph walk,
# SASRec and TIFU-KNN, each measured and kept out of the defaults (docs/features.md says why)
OPT_IN = ("walk", "sasrec", "tifu")
DEFAULT_SIMILAR = (("cooccurrence", 1.0), ("als", 0.5), ("content", 0.5))
# an empty context (no items, no query): only popularity scores it (HybridConfig.fusion(cold=True))
COLD_START = (("popularity", 1.0),)
# every fusion's weights and penalty (HybridConfig fields), and the "baskets" group size the
# between-sessions search chose beside them: what fit-time tuning may replace
FUSION_SETS = (
    "weights", "popularity_penalty", "new_weights", "new_penalty", "between_weights", "between_penalty",
    "between_new_weights", "between_new_penalty", "similar_weights", "basket_group_size",
)  # fmt: skip


@dataclass(frozen=True)
class HybridConfig:
    """Component weights for ``recommend`` and ``similar``, the tail penalty, and sub-model configs.

    ``new_weights`` / ``new_penalty`` apply when seen items are excluded (``exclude_seen``): what
    predicts a re-visit and what predicts a new item differ, so fit-time tuning learns both;
    None = the same as ``weights`` / ``popularity_penalty``. ``scale_unseen``: such lists scale
    each component over the items they may show (the session's own items, which kNN and
    co-occurrence score highest, would otherwise set each component's maximum).

    ``between_weights`` / ``between_penalty`` (repeats allowed) and ``between_new_weights`` /
    ``between_new_penalty`` (``exclude_seen``) apply to a shopper with no live session (the
    history only: the start of a next order), where the next click inside a session is not what
    is asked: fit-time tuning learns them on next baskets (:mod:`shelfwise.recommend.between`);
    None = the in-session ones. ``idle_minutes``: a shopper whose latest event is older than
    this has no live session (the events loader's default session gap, 30 minutes).
    ``basket_group_size``: the "baskets" component's group size that search chose among
    ``baskets.tried`` (None: ``baskets.group_size``); a search result, kept and reset with the
    weights (:meth:`searched`, :meth:`untuned`).
    """

    weights: tuple[tuple[str, float], ...] = DEFAULT_WEIGHTS
    similar_weights: tuple[tuple[str, float], ...] = DEFAULT_SIMILAR
    popularity_penalty: float = 0.0
    new_weights: tuple[tuple[str, float], ...] | None = None
    new_penalty: float | None = None
    between_weights: tuple[tuple[str, float], ...] | None = None
    between_penalty: float | None = None
    between_new_weights: tuple[tuple[str, float], ...] | None = None
    between_new_penalty: float | None = None
    basket_group_size: int | None = None
    idle_minutes: float = 30.0
    half_life_days: float | None = None
    collapse_variants: bool = True  # one item per product title in a list (bench_variants.py, docs/features.md)
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
    tifu: TifuConfig = field(default_factory=TifuConfig)  # opt-in (weight it): next-basket kNN, Hu et al. 2020
    baskets: BasketConfig = field(default_factory=BasketConfig)  # TIFU's own term; the between search weighs it
    tune: TuneConfig = field(default_factory=TuneConfig)

    def __post_init__(self) -> None:
        for name, w in (*self.similar_weights, *self.weight_pairs()):
            if name not in COMPONENTS:
                raise ValueError(f"HybridConfig: unknown component {name!r}; known: {COMPONENTS}")
            if w < 0:
                raise ValueError(f"HybridConfig: weight of {name!r} must be >= 0")
        pens = (self.popularity_penalty, self.new_penalty, self.between_penalty, self.between_new_penalty)
        if any(p is not None and p < 0 for p in pens):
            raise ValueError("HybridConfig: popularity_penalty, new_penalty and the between penalties must be >= 0")
        if self.basket_group_size is not None and self.basket_group_size < 1:
            raise ValueError(f"HybridConfig.basket_group_size must be >= 1, got {self.basket_group_size!r}")
        if not self.idle_minutes > 0:
            raise ValueError(f"HybridConfig.idle_minutes must be > 0, got {self.idle_minutes!r}")

    def weight_pairs(self) -> tuple[tuple[str, float], ...]:
        """Every (component, weight) of the personal-list fusions: in session, new items, between sessions."""
        sets = (self.weights, self.new_weights, self.between_weights, self.between_new_weights)
        return tuple(pair for s in sets for pair in (s or ()))

    def basket_setting(self) -> BasketConfig:
        """The "baskets" component's settings, with the group size the between-sessions search chose."""
        g = self.basket_group_size
        return self.baskets if g is None else replace(self.baskets, group_size=g)

    def uses(self, name: str) -> bool:
        """Whether some fusion (personal lists or related items) gives component ``name`` a positive weight."""
        return any(n == name and w > 0 for n, w in (*self.weight_pairs(), *self.similar_weights))

    def with_weights(
        self, weights: Mapping[str, float], penalty: float | None = None, *, new: bool = False, between: bool = False
    ) -> HybridConfig:
        """These weights (and penalty) for repeats allowed, or with ``new=True`` for new items only;
        with ``between=True``, for a shopper with no live session."""
        if between:
            pen = self.fusion(new, live=False)[1] if penalty is None else penalty
            if new:
                return replace(self, between_new_weights=tuple(weights.items()), between_new_penalty=pen)
            return replace(self, between_weights=tuple(weights.items()), between_penalty=pen)
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
        return replace(self.searched(HybridConfig()), similar_weights=HybridConfig().similar_weights)

    def fusion_sets(self) -> dict[str, Any]:
        """Every fusion's weights and penalty, and the basket group size (``FUSION_SETS``), as set here,
        JSON-ready: a weight set as ``[name, weight]`` pairs, None where unset (:meth:`with_fusion_sets`
        reads it back)."""
        out: dict[str, Any] = {}
        for name in FUSION_SETS:
            value = getattr(self, name)
            out[name] = [[n, w] for n, w in value] if isinstance(value, tuple) else value
        return out

    def with_fusion_sets(self, sets: Mapping[str, Any]) -> HybridConfig:
        """These settings with the fusions ``sets`` holds (as :meth:`fusion_sets` gives them, JSON
        read back included; a name it lacks keeps this config's)."""
        got: dict[str, Any] = {}
        for name in FUSION_SETS:
            if name not in sets:
                continue
            value = sets[name]
            got[name] = tuple((str(n), float(w)) for n, w in value) if isinstance(value, list | tuple) else value
        return replace(self, **got)

    def searched(self, other: HybridConfig, between: bool = True) -> HybridConfig:
        """These settings with ``other``'s personal-list fusions (each set and penalty as it is, None
        kept); with ``between`` False, its in-session ones only (these between-sessions ones kept,
        with the basket group size chosen beside them)."""
        mine = self if not between else other
        return replace(
            self,
            weights=other.weights,
            popularity_penalty=other.popularity_penalty,
            new_weights=other.new_weights,
            new_penalty=other.new_penalty,
            between_weights=mine.between_weights,
            between_penalty=mine.between_penalty,
            between_new_weights=mine.between_new_weights,
            between_new_penalty=mine.between_new_penalty,
            basket_group_size=mine.basket_group_size,
        )

    def fusion(self, exclude_seen: bool, cold: bool = False, live: bool = True) -> tuple[dict[str, float], float]:
        """(weights, penalty) for a list that may (False) or may not (True) repeat seen items; with
        ``cold`` (no items, no query: an unknown shopper, an empty session) popularity alone, the one
        component that scores such a context, whatever weight fit-time tuning gave it; with ``live``
        False (no session under way: the history alone), the between-sessions weights when set."""
        if cold:
            return dict(COLD_START), 0.0
        if not live:
            chosen = self.between_new_weights if exclude_seen else self.between_weights
            pen = self.between_new_penalty if exclude_seen else self.between_penalty
            if chosen is not None:
                return dict(chosen), self.fusion(exclude_seen)[1] if pen is None else pen
        if exclude_seen and self.new_weights is not None:
            pen = self.popularity_penalty if self.new_penalty is None else self.new_penalty
            return dict(self.new_weights), pen
        return dict(self.weights), self.popularity_penalty
