"""Recommendation utility: which interaction data (sources, categories, time windows) helps.

Players are groups of interaction rows of :class:`shelfwise.recommend.Interactions`: a *source*
(event type, or the data file the rows came from), a *group* (the item's category, a time window
of the user's history) or anything else given as one label per row. The utility of a coalition
refits a recommender the project ships (default: the item co-occurrence model,
:class:`~shelfwise.recommend.CooccurrenceRecommender`) on just those rows and scores it with
:func:`shelfwise.eval.metrics.ndcg_at_k` (or recall@k) on held-out baskets: the per-user
last-basket protocol of :mod:`shelfwise.recommend.evaluate`. Users' histories (the recommender's
context) come from the same coalition, so dropping a source also removes it from the profiles,
as it would in production.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.eval.metrics import ndcg_at_k, recall_at_k
from shelfwise.events.schema import EventLog, EventType
from shelfwise.recommend.base import BaseRecommender, Recommender
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender
from shelfwise.recommend.interactions import DAY, Interactions
from shelfwise.results import IntArray, Results
from shelfwise.valuation.base import encode_groups
from shelfwise.valuation.cooc_fast import ItemPartitionScores, item_groups

RecMetric = Literal["ndcg", "recall"]


def default_model() -> Recommender:
    return CooccurrenceRecommender()


class InteractionUtility:
    """``U(players)`` = mean NDCG@k (or recall@k) of a recommender fitted on the players' rows."""

    def __init__(
        self,
        data: Interactions,
        groups: IntArray,
        truth: Mapping[str, set[int]],
        *,
        k: int = 10,
        metric: RecMetric = "ndcg",
        model: Callable[[], Recommender] = default_model,
        exclude_seen: bool = False,
    ) -> None:
        g = np.asarray(groups, dtype=np.int64)
        if g.shape != (len(data),):
            raise ValueError(f"InteractionUtility: {g.shape[0]} group ids for {len(data)} interaction rows")
        if not truth:
            raise ValueError("InteractionUtility: no held-out users to evaluate on")
        if metric not in ("ndcg", "recall"):
            raise ValueError(f"metric must be 'ndcg' or 'recall', got {metric!r}")
        self.data, self.groups, self.truth = data, g, dict(truth)
        self.k, self.metric, self.model, self.exclude_seen = k, metric, model, exclude_seen
        self._n = int(g.max()) + 1 if len(g) else 0
        self._memo: dict[bytes, float] = {}
        self._fast: ItemPartitionScores | bool | None = None

    @property
    def n_players(self) -> int:
        return self._n

    def sizes(self) -> npt.NDArray[np.int64]:
        return np.bincount(self.groups, minlength=self._n).astype(np.int64)

    def subset(self, players: IntArray) -> Interactions:
        return self.data.take(np.isin(self.groups, players))

    def __call__(self, players: IntArray) -> float:
        """Utility of a coalition; repeated coalitions (common in TMC permutations and removal
        curves) are answered from a cache."""
        key = np.unique(np.asarray(players, dtype=np.int64)).tobytes()
        if key not in self._memo:
            self._memo[key] = self._evaluate(np.frombuffer(key, dtype=np.int64))
        return self._memo[key]

    def _evaluate(self, players: IntArray) -> float:
        if not len(players):
            return 0.0
        score = ndcg_at_k if self.metric == "ndcg" else recall_at_k
        fast = self._partition_scores()
        lists: Iterable[tuple[str, list[int]]]
        if fast is not None:
            lists = zip(self.truth, fast.rankings(players, self.k, self.exclude_seen), strict=True)
        else:
            sub = self.subset(players)
            if not len(sub):
                return 0.0
            model = self.model()
            model.fit(sub)
            lists = self._rankings(model, sub)
        total = 0.0
        for user, ranked in lists:
            total += score(ranked, dict.fromkeys(self.truth[user], 1.0), self.k)
        return total / len(self.truth)

    def _partition_scores(self) -> ItemPartitionScores | None:
        """The no-refit path (:mod:`shelfwise.valuation.cooc_fast`) when it is exact and fits in memory."""
        if self._fast is False:
            return None
        if self._fast is None:
            ig = item_groups(self.data, self.groups) if self.model is default_model else None
            ok = (
                ig is not None
                and self.data.half_life_days is None
                and ItemPartitionScores.fits(self._n, len(self.truth), self.data.n_items)
            )
            self._fast = (
                ItemPartitionScores(self.data, ig, list(self.truth), self._n) if ok and ig is not None else False
            )
        return self._fast if isinstance(self._fast, ItemPartitionScores) else None

    def _rankings(self, model: Recommender, sub: Interactions) -> Iterator[tuple[str, list[int]]]:
        """Each held-out user's top-k. The co-occurrence model scores all users in one sparse
        product (same scores, contexts and filters as ``recommend``: the summed, decayed weights
        of the user's coalition rows); other models are asked user by user."""
        if not isinstance(model, CooccurrenceRecommender) or type(model).recommend is not BaseRecommender.recommend:
            for user in self.truth:
                yield user, model.recommend(user, self.k, exclude_seen=self.exclude_seen).ids.tolist()
            return
        index = {u: i for i, u in enumerate(sub.users)}
        users = list(self.truth)
        rows = np.array([index.get(u, -1) for u in users], dtype=np.int64)
        ui = sub.user_item()
        ctx = ui[np.maximum(rows, 0)]
        ctx = sp.diags((rows >= 0).astype(np.float32)) @ ctx
        for start in range(0, len(users), 512):
            block = ctx[start : start + 512]
            scores = model.score_batch(block)
            for j in range(block.shape[0]):
                seen = block[j].indices
                if not len(seen):
                    yield users[start + j], []
                    continue
                mask = None
                if self.exclude_seen:
                    mask = np.ones(scores.shape[1], dtype=bool)
                    mask[seen] = False
                yield users[start + j], Results.from_scores(scores[j], self.k, mask).ids.tolist()


def groups_by_category(data: Interactions, depth: int = 1) -> tuple[IntArray, tuple[str, ...]]:
    """One group per item category prefix (e.g. department at depth 1, aisle at depth 2)."""
    cat = data.catalog
    labels = [" > ".join(cat.top_category(int(i), depth)) or "(none)" for i in data.item.tolist()]
    return encode_groups(labels)


def groups_by_recency(
    data: Interactions, edges_days: Sequence[float] = (30.0, 90.0)
) -> tuple[IntArray, tuple[str, ...]]:
    """Time windows by age relative to each user's last training event: "0-30d", "30-90d", ">90d"."""
    last = np.full(data.n_users, -np.inf)
    np.maximum.at(last, data.user, data.timestamp)
    age = (last[data.user] - data.timestamp) / DAY
    edges = np.asarray(sorted(edges_days), dtype=np.float64)
    ids = np.searchsorted(edges, age, side="right").astype(np.int64)
    bounds = [0.0, *edges.tolist()]
    names = [f"{lo:g}-{hi:g}d" for lo, hi in itertools.pairwise(bounds)] + [f">{bounds[-1]:g}d"]
    used, ids = np.unique(ids, return_inverse=True)
    return ids.astype(np.int64), tuple(names[int(u)] for u in used)


def groups_by_event_type(log: EventLog, data: Interactions) -> tuple[IntArray, tuple[str, ...]]:
    """Source = event type (click / cart / purchase ...) of each interaction row.

    ``data`` must come from ``Interactions.from_log(log, ...)``, which keeps rows with an item and
    a positive weight in log order; the same rows are selected here.
    """
    from shelfwise.events.schema import EVENT_WEIGHTS
    from shelfwise.recommend.interactions import event_weights

    keep = (log.item >= 0) & (event_weights(log.type, EVENT_WEIGHTS) > 0)
    types = log.type[keep]
    if len(types) != len(data):
        raise ValueError("groups_by_event_type: interactions were not built from this log with default weights")
    return encode_groups([EventType(int(t)).name.lower() for t in types.tolist()])
