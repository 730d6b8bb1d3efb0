"""Every recommender component held to the shared contracts (tests/contracts): the scorer contract
(dense float32 scores, determinism, ranked + filtered + explained output, save/load) and, for the
components that learn from live events, the ``Updatable`` contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from contracts.scorer import ScorerContract
from contracts.updatable import UpdatableContract
from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.events import EventLog
from shelfwise.recommend import (
    ALSConfig,
    ALSRecommender,
    ContentRecommender,
    CooccurrenceRecommender,
    HybridConfig,
    HybridRecommender,
    Interactions,
    PopularityConfig,
    PopularityRecommender,
    RepeatRecommender,
    UserProfiles,
)
from shelfwise.recommend.sequence import RecentCooccurrence, SequentialRulesRecommender, SessionKNNRecommender


def _vectors(catalog: Catalog) -> np.ndarray:
    return HashingEncoder(dim=64).encode(catalog.texts())


def _fitted(model: Any, catalog: Catalog, log: EventLog) -> Any:
    model.fit(Interactions.from_log(log, catalog))
    return model


class TestPopularity(ScorerContract, UpdatableContract):
    def make(self, catalog: Catalog, log: EventLog | None = None) -> Any:
        pop = PopularityRecommender(PopularityConfig(half_life_days=None))
        return pop if log is None else _fitted(pop, catalog, log)

    def observe(self, obj: Any) -> Any:
        return obj.counts.copy()


class TestRepeat(ScorerContract):
    persistent = False

    def make(self, catalog: Catalog) -> Any:
        return RepeatRecommender()


class TestCooccurrence(ScorerContract, UpdatableContract):
    def make(self, catalog: Catalog, log: EventLog | None = None) -> Any:
        co = CooccurrenceRecommender()
        return co if log is None else _fitted(co, catalog, log)

    def observe(self, obj: Any) -> Any:
        return obj.pairs.toarray()


class TestALS(ScorerContract):
    def make(self, catalog: Catalog) -> Any:
        return ALSRecommender(ALSConfig(factors=4, iterations=3))


class TestContent(ScorerContract):
    def make(self, catalog: Catalog) -> Any:
        return ContentRecommender(_vectors(catalog))


class TestSequentialRules(ScorerContract):
    def make(self, catalog: Catalog) -> Any:
        return SequentialRulesRecommender()


class TestRecentCooccurrence(ScorerContract):
    persistent = False  # no state of its own: the co-occurrence model's pairs

    def make(self, catalog: Catalog) -> Any:
        return RecentCooccurrence(CooccurrenceRecommender())

    def fitted(self, catalog: Catalog, log: EventLog) -> tuple[Any, Interactions]:
        model, data = super().fitted(catalog, log)
        model.cooccurrence.fit(data)
        return model, data


class TestSessionKNN(ScorerContract):
    def make(self, catalog: Catalog) -> Any:
        return SessionKNNRecommender()


class TestHybrid(ScorerContract, UpdatableContract):
    def make(self, catalog: Catalog, log: EventLog | None = None) -> Any:
        hy = HybridRecommender(_vectors(catalog), HybridConfig(als=ALSConfig(factors=4, iterations=3)))
        return hy if log is None else _fitted(hy, catalog, log)

    def reload(self, fitted: Any, catalog: Catalog, data: Interactions, path: Path) -> Any:
        fitted.save(path)
        return HybridRecommender.load(path, catalog, _vectors(catalog))

    def observe(self, obj: Any) -> Any:
        return obj.recommend("u9", k=5).ids.tolist(), obj.popularity.counts.copy()


class TestUserProfiles(UpdatableContract):
    def make(self, catalog: Catalog, log: EventLog) -> Any:
        return UserProfiles.from_interactions(Interactions.from_log(log, catalog))

    def observe(self, obj: Any) -> Any:
        return {u: sorted(obj.seen(u)) for u in obj.users()}
