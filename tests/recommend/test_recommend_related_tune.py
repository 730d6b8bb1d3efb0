"""Related-items weights chosen per store at fit time (``recommend.related_tune``), on a made-up store
whose latest sessions stay within one product group while its earlier ones wander: the text knows
the groups, co-occurrence learnt from the wandering sessions does not."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions, related_tune
from shelfwise.recommend.autotune import TuneConfig, validation_split
from shelfwise.recommend.related_tune import MIN_CASES, choose_related, related_cases, shown_top
from shelfwise.recommend.retune import SavedTuning, reuse_verdict

GROUPS, PER_GROUP = 12, 10
N = GROUPS * PER_GROUP


def _store(seed: int = 0) -> tuple[Catalog, Interactions, np.ndarray]:
    rng = np.random.default_rng(seed)
    catalog = Catalog([Product(f"i{i}", f"item {i}") for i in range(N)])
    vectors = np.zeros((N, GROUPS), dtype=np.float32)
    vectors[np.arange(N), np.arange(N) // PER_GROUP] = 1.0  # the text: one direction per group
    vectors += 0.05 * rng.standard_normal(vectors.shape).astype(np.float32)
    events, t = [], 0.0
    for s in range(900):
        coherent = s >= 600  # the latest third stays within one group
        g = int(rng.integers(GROUPS))
        items = g * PER_GROUP + rng.choice(PER_GROUP, 3, replace=False) if coherent else rng.choice(N, 3, replace=False)
        for i in items.tolist():
            t += 60.0
            events.append(Event(f"u{s}", EventType.VIEW, t, f"i{i}", session_id=f"s{s}"))
    return catalog, Interactions.from_log(EventLog.from_events(events, catalog), catalog), vectors


CFG = HybridConfig(tune=TuneConfig(fraction=0.3, min_cases=20))


@pytest.fixture(scope="module")
def fitted() -> tuple[HybridRecommender, Interactions, np.ndarray]:
    _, data, vectors = _store()
    rec = HybridRecommender(vectors, CFG)
    rec.fit(data)
    assert rec.tuning.status == "tuned", rec.tuning.reason
    return rec, data, vectors


def test_the_store_whose_text_knows_what_goes_together_gets_text_weighted_related_items(
    fitted: tuple[HybridRecommender, Interactions, np.ndarray],
) -> None:
    rec, _, _ = fitted
    rep = rec.tuning
    assert rep.start_related_weights == dict(HybridConfig().similar_weights)
    assert rep.related_cases >= MIN_CASES and rep.related_score is not None and rep.default_related_score is not None
    chosen = dict(rec.config.similar_weights)
    assert chosen == rep.related_weights and chosen != rep.start_related_weights
    assert chosen["content"] > chosen["cooccurrence"]  # the text leads where co-occurrence is noise
    assert rep.related_score > rep.default_related_score and "related items: " in rep.reason
    # what the rail shows follows: an item's group-mates come first
    seed = 5
    assert set(rec.similar(seed, 5).ids.tolist()) <= set(range(0, PER_GROUP))


def test_a_refit_that_keeps_the_search_keeps_the_related_weights(
    fitted: tuple[HybridRecommender, Interactions, np.ndarray],
) -> None:
    rec, data, vectors = fitted
    refit = HybridRecommender(vectors, CFG, reuse=SavedTuning.of(rec))
    refit.fit(data)
    assert refit.tuning.status == "reused" and refit.config.similar_weights == rec.config.similar_weights
    # a store that keeps its configured related weights does not get the reused search's choice
    own = dataclasses.replace(CFG, tune=dataclasses.replace(CFG.tune, related=False))
    kept = HybridRecommender(vectors, own, reuse=SavedTuning.of(rec))
    kept.fit(data)
    assert kept.tuning.status == "reused" and kept.config.similar_weights == own.similar_weights
    assert rec.config.similar_weights != own.similar_weights


def test_no_gain_keeps_the_configured_weights(fitted: tuple[HybridRecommender, Interactions, np.ndarray]) -> None:
    rec, data, _ = fitted
    cases = related_cases(*validation_split(data, 0.3, 2000), 50)
    assert len(cases) == 50
    same = choose_related(rec, cases, dict(rec.config.similar_weights), 10, z=1e9)  # nothing passes this test
    assert same.kept and same.weights == dict(rec.config.similar_weights) and same.score == same.default_score


def test_related_cases_are_items_the_earlier_rows_know_with_their_session_mates() -> None:
    catalog = Catalog([Product(f"i{i}", f"item {i}") for i in range(6)])
    rows = [("a", "s1", "i0"), ("a", "s1", "i1"), ("b", "s2", "i2"), ("b", "s2", "i3"), ("b", "s2", "i4")]
    held_rows = [("c", "s3", "i0"), ("c", "s3", "i2"), ("c", "s3", "i5"), ("d", "s4", "i1")]

    def interactions(rs: list[tuple[str, str, str]], t0: float) -> Interactions:
        ev = [Event(u, EventType.VIEW, t0 + k, i, session_id=s) for k, (u, s, i) in enumerate(rs)]
        return Interactions.from_log(EventLog.from_events(ev, catalog), catalog)

    cases = related_cases(interactions(rows, 0.0), interactions(held_rows, 100.0), 10)
    got = {c.seed: sorted(c.truth.tolist()) for c in cases}
    assert got == {0: [2, 5], 2: [0, 5]}  # i5 is unknown to the earlier rows: no seed; s4 has one item
    assert len(related_cases(interactions(rows, 0.0), interactions(held_rows, 100.0), 1)) == 1  # sampled


def test_a_store_can_keep_its_configured_related_weights(
    fitted: tuple[HybridRecommender, Interactions, np.ndarray],
) -> None:
    _, data, vectors = fitted
    own = HybridConfig(
        similar_weights=(("cooccurrence", 1.0), ("als", 0.0), ("content", 0.2)),
        tune=TuneConfig(fraction=0.3, min_cases=20, related=False),
    )
    rec = HybridRecommender(vectors, own)
    rec.fit(data)
    assert rec.tuning.status == "tuned" and rec.config.similar_weights == own.similar_weights
    assert not rec.tuning.related_weights and "related items" not in rec.tuning.reason


def test_changed_related_weights_are_a_settings_change_for_a_refit(
    fitted: tuple[HybridRecommender, Interactions, np.ndarray],
) -> None:
    rec, data, _ = fitted
    other = dataclasses.replace(CFG, similar_weights=(("cooccurrence", 1.0), ("als", 0.0), ("content", 0.0)))
    why = reuse_verdict(SavedTuning.of(rec), other, len(data), time.time())
    assert why == "the recommender's settings changed since that search"
    assert reuse_verdict(SavedTuning.of(rec), CFG, len(data), time.time()) is None


def test_too_few_seeds_or_a_catalog_past_the_budget_keep_the_configured_weights(
    fitted: tuple[HybridRecommender, Interactions, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, data, vectors = fitted
    monkeypatch.setattr(related_tune, "MAX_CELLS", 50 * N)  # 50 seeds at this catalog's size: under MIN_CASES
    rec = HybridRecommender(vectors, CFG)
    rec.fit(data)
    assert rec.config.similar_weights == HybridConfig().similar_weights
    assert f"related items: configured weights kept (50 seeds within the fit-time budget at {N:,} items" in (
        rec.tuning.reason
    )


def test_a_log_whose_sessions_all_start_together_is_split_at_random() -> None:
    """The bundled H&M demo log is one day of dated purchases: every session starts at midnight, so no
    row was earlier than the held-out sessions and every fit-time search had nothing to fit on."""
    catalog = Catalog([Product(f"i{i}", f"item {i}") for i in range(20)])
    rng = np.random.default_rng(1)
    events = [
        Event(f"u{s}", EventType.PURCHASE, 1_537_401_600.0, f"i{i}", session_id=f"s{s}")
        for s in range(50)
        for i in rng.choice(20, 3, replace=False).tolist()
    ]
    data = Interactions.from_log(EventLog.from_events(events, catalog), catalog)
    train, held = validation_split(data, 0.2, 2000)
    assert len(np.unique(held.session)) == 10 and len(train) + len(held) == len(data)
    assert not set(np.unique(train.session).tolist()) & set(np.unique(held.session).tolist())
    assert validation_split(data, 0.2, 2000)[1].session.tolist() == held.session.tolist()  # seeded: the same split


def _shown_one_at_a_time(fused: np.ndarray, codes: np.ndarray | None, k: int) -> np.ndarray:
    """What each weighting's list shows, one weighting at a time (choose_related's loop before shown_top)."""
    shown = np.zeros(fused.shape, dtype=bool)
    for g in range(len(fused)):
        order = np.argsort(-fused[g], kind="stable")
        if codes is not None:
            order = order[np.sort(np.unique(codes[order], return_index=True)[1])]
        shown[g, order[:k][fused[g, order[:k]] > 0]] = True
    return shown


@pytest.mark.parametrize("seed", range(6))
def test_shown_top_is_each_weightings_collapsed_list(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pool = int(rng.integers(1, 40))
    fused = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], (8, pool)).astype(np.float32)  # ties and zeros
    codes = rng.integers(0, max(1, pool // 2), pool)  # products with several variants
    for k in (1, 3, 10):
        for c in (codes, None):
            assert np.array_equal(shown_top(fused, c, k), _shown_one_at_a_time(fused, c, k))
    assert shown_top(fused, codes, 10).sum(axis=1).max() <= 10
