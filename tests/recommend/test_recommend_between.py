"""Between-sessions weights (recommend/between.py): next-basket cases, their pool's NDCG, the
fit-time choice, how a list with no live session uses it, persistence and the small-log fallback."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.eval.metrics import ndcg_at_k
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import TuneConfig, TuningReport, validation_split
from shelfwise.recommend.base import minmax
from shelfwise.recommend.between import BasketPool, _entries, basket_cases, session_live
from shelfwise.recommend.profiles import UserProfiles
from shelfwise.recommend.retune import SavedTuning, reuse_verdict

DAY = 86_400.0
N_ITEMS = 60


def _catalog(n: int = N_ITEMS) -> Catalog:
    return Catalog([Product(id=f"p{i}", title=f"item {i}") for i in range(n)])


def _grocery(users: int = 60, orders: int = 8, seed: int = 0, t0: float = 0.0) -> list[Event]:
    """Made-up orders: each shopper's three staples in every order (in a random order), then a walk
    of three items along a fixed cycle from a random start: inside an order the next item is the
    walk's next, across orders the staples come back."""
    rng = np.random.default_rng(seed)
    events = []
    for o in range(orders):
        for u in range(users):
            staples = [(3 * u + j) % 30 for j in range(3)]
            start = int(rng.integers(30, N_ITEMS))
            walk = [30 + (start - 30 + j) % 30 for j in range(3)]
            items = [staples[j] for j in rng.permutation(3)] + walk
            ts = t0 + o * 7 * DAY + u * 600.0
            events += [
                Event(f"u{u}", EventType.PURCHASE, ts + 10.0 * j, f"p{i}", session_id=f"u{u}-{o}")
                for j, i in enumerate(items)
            ]
    return events


def _data(cat: Catalog, events: list[Event]) -> Interactions:
    return Interactions.from_log(EventLog.from_events(events, cat), cat)


def _tuned(min_cases: int = 20, **tune: object) -> tuple[Catalog, HybridRecommender]:
    cat = _catalog()
    cfg = HybridConfig(tune=TuneConfig(fraction=0.25, min_cases=min_cases, **tune))  # type: ignore[arg-type]
    rec = HybridRecommender(np.zeros((N_ITEMS, 4), dtype=np.float32), cfg)
    rec.fit(_data(cat, _grocery()))
    return cat, rec


def test_basket_cases_hold_the_history_before_each_held_out_session() -> None:
    cat = _catalog(10)
    ev = [
        Event("a", EventType.PURCHASE, 1.0, "p1", session_id="a1"),
        Event("a", EventType.PURCHASE, 2.0, "p2", session_id="a1"),
        Event("b", EventType.PURCHASE, 3.0, "p5", session_id="b1"),
        Event("a", EventType.PURCHASE, 100.0, "p2", session_id="a2"),
        Event("a", EventType.PURCHASE, 101.0, "p3", session_id="a2"),
        Event("c", EventType.PURCHASE, 150.0, "p7", session_id="c1"),  # no earlier row: no case
        Event("a", EventType.PURCHASE, 200.0, "p4", session_id="a3"),
        Event("a", EventType.PURCHASE, 201.0, "p2", session_id="a3"),
        Event("b", EventType.PURCHASE, 210.0, "p6", session_id="b2"),
    ]
    data = _data(cat, ev)
    held_rows = data.timestamp >= 100.0
    train, held = data.take(~held_rows), data.take(held_rows)
    cases = basket_cases(train, held)
    got = {(c.ctx.user, tuple(c.truth.tolist())): c for c in cases}
    assert set(got) == {("a", (2, 3)), ("a", (2, 4)), ("b", (6,))}
    second = got[("a", (2, 4))]  # a's second held-out order: its first one is history now
    assert second.ctx.items.tolist() == [1, 2, 3] and second.ctx.live is False
    assert second.new_truth.tolist() == [4]
    # the context is the shopper's profile's, built from the same rows
    rows = data.timestamp < 200.0
    want = UserProfiles.from_interactions(data.take(rows)).context("a")
    assert want is not None
    np.testing.assert_array_equal(second.ctx.items, want.items)
    np.testing.assert_array_equal(second.ctx.weights, want.weights)
    np.testing.assert_array_equal(second.ctx.ordered, want.ordered)
    assert got[("a", (2, 3))].ctx.items.tolist() == [1, 2] and got[("b", (6,))].ctx.items.tolist() == [5]


def _brute_ndcg(fused: np.ndarray, owner: np.ndarray, rel: np.ndarray, sizes: np.ndarray, k: int) -> np.ndarray:
    """Expected NDCG@k of each case over every order of its tied entries (fused 0: not listed)."""
    out = []
    for c in range(len(sizes)):
        f, r = fused[owner == c], rel[owner == c]
        dcg = 0.0
        for v in f[r & (f > 0)]:
            above, ties = int((f > v).sum()), int((f == v).sum())
            dcg += np.mean([1 / np.log2(p + 2) if p < k else 0.0 for p in range(above, above + ties)])
        out.append(dcg / sum(1 / np.log2(p + 2) for p in range(min(sizes[c], k))))
    return np.array(out)


def _pool(scores: np.ndarray, owner: np.ndarray, rel: np.ndarray, sizes: np.ndarray, k: int) -> BasketPool:
    per = np.bincount(owner, minlength=len(sizes))
    width = int(per.max())
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    slot = owner * width + np.arange(len(owner)) - first[owner]
    gain = np.concatenate([[0.0], np.cumsum(1 / np.log2(np.arange(k) + 2.0))])
    counts = np.zeros(len(owner), np.float32)
    return BasketPool(scores, counts, owner, slot, width, np.flatnonzero(rel), gain[np.minimum(sizes, k)], k)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_basket_pool_ndcg_is_the_expected_ndcg_over_tied_orders(seed: int) -> None:
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 30, 40)
    owner = np.repeat(np.arange(40), per)
    # coarse scores: many ties, some zeros (not listed), within and across the k-th place
    scores = (rng.integers(0, 4, (2, len(owner))) / 3.0).astype(np.float32)
    rel = rng.random(len(owner)) < 0.3
    sizes = np.bincount(owner[rel], minlength=40) + rng.integers(0, 3, 40)  # some basket items not in the pool
    sizes = np.maximum(sizes, 1)
    pool = _pool(scores, owner, rel, sizes, 5)
    w = np.array([1.0, 0.5], np.float32)
    want = _brute_ndcg(w[0] * scores[0] + w[1] * scores[1], owner, rel, sizes, 5)
    np.testing.assert_allclose(pool.ndcg(w, 0.0), want, rtol=1e-5, atol=1e-7)


def test_basket_pool_ndcg_without_ties_is_ndcg_of_the_ranked_list() -> None:
    rng = np.random.default_rng(3)
    per = rng.integers(5, 25, 30)
    owner = np.repeat(np.arange(30), per)
    scores = rng.random((1, len(owner))).astype(np.float32) + 0.01
    rel = rng.random(len(owner)) < 0.25
    sizes = np.maximum(np.bincount(owner[rel], minlength=30), 1)
    got = _pool(scores, owner, rel, sizes, 10).ndcg(np.ones(1, np.float32), 0.0)
    for c in range(30):
        at = np.flatnonzero(owner == c)
        ranked = at[np.argsort(-scores[0, at])].tolist()
        truth = {int(e): 1.0 for e in at[rel[at]]}
        if not truth:  # the pool's ideal counts a basket of one item not in the pool: NDCG 0 either way
            assert got[c] == 0.0
            continue
        assert got[c] == pytest.approx(ndcg_at_k(ranked, truth, 10), rel=1e-5)


def test_pool_entries_hold_each_components_top_under_each_tail_penalty() -> None:
    counts = np.array([1000, 500, 50, 40, 30, 1, 1, 1], dtype=np.float64)
    raw = np.log1p(counts)[None, :].astype(np.float32)  # popularity's score
    damp = np.exp(-0.25 * np.log1p(counts)).astype(np.float32)[None, :]
    # its top 2: items 0 and 1; log1p(n) / (1 + n)^0.25 peaks near n = 54: items 2 and 3
    assert set(_entries([raw], [np.array([7])], 2, None)[1].tolist()) == {0, 1, 7}
    case, item, scores, rel = _entries([raw], [np.array([7])], 2, None, [damp])
    assert set(item.tolist()) == {0, 1, 2, 3, 7} and rel.tolist() == [i == 7 for i in item.tolist()]
    np.testing.assert_allclose(scores[0], raw[0, item] / raw.max())
    # the same scores for every context (popularity's): its penalised top found once, for each
    case, item, _, _ = _entries([np.repeat(raw, 2, axis=0)], [np.array([7]), np.array([6])], 2, None, [damp])
    assert set(item[case == 0].tolist()) == {0, 1, 2, 3, 7} and set(item[case == 1].tolist()) == {0, 1, 2, 3, 6}
    # negative scores (ALS's dot products) are min-max scaled before the damping, as recommend() fuses them
    spread = np.stack([raw[0] - 3.0, raw[0][::-1] - 3.0])
    case, item, _, _ = _entries([spread], [np.zeros(0, np.int64)] * 2, 2, None, [damp])
    for r in range(2):
        want = (
            np.argsort(-(minmax(spread[r]) * damp[0]), kind="stable")[:2].tolist() + np.argsort(-spread[r])[:2].tolist()
        )
        assert set(item[case == r].tolist()) == set(want)


def test_fit_learns_between_sessions_weights_and_lists_use_them_with_no_live_session() -> None:
    _, rec = _tuned()
    t = rec.tuning
    assert t.status == "tuned" and t.between_status == "tuned" and "between sessions: tuned on" in t.reason
    assert t.between_cases >= 20 and t.between_score is not None and t.start_between_score is not None
    assert t.between_score > t.start_between_score  # the in-session weights, scored on the same baskets
    assert rec.config.between_weights is not None and dict(rec.config.between_weights) == t.between_weights
    assert rec.config.fusion(False, live=False) == (t.between_weights, t.between_penalty)
    assert rec.config.fusion(False) == (t.weights, t.penalty)  # in-session lists keep theirs
    user = rec.context("u7")
    staples = {21, 22, 23}
    between = rec.recommend(dataclasses.replace(user, live=False), 3, exclude_seen=False)
    assert set(between.ids.tolist()) == staples  # the next order starts with the shopper's staples
    weights, pen = rec.config.fusion(False, live=False)
    fused = rec.fuse(rec.component_scores(user, weights), weights, pen)
    assert fused[between.ids].min() >= np.sort(fused)[-3]


def test_a_shopper_id_gets_between_weights_once_the_latest_event_is_idle() -> None:
    cat = _catalog()
    now = time.time()
    rec = HybridRecommender(np.zeros((N_ITEMS, 4), dtype=np.float32), HybridConfig(tune=TuneConfig(enabled=False)))
    rec.fit(_data(cat, _grocery(users=5, orders=2, t0=now - 8 * DAY)))
    rec.config = rec.config.with_weights({"repeat": 1.0}, between=True)
    rec.config = rec.config.with_weights({"popularity": 1.0}, new=True, between=True)
    last = rec.profiles.last_event("u1") if rec.profiles is not None else None
    assert last is not None and now - last > 30 * 60
    ctx = rec.context("u1")
    assert session_live(rec, "u1", ctx) is False
    assert session_live(rec, "u1", ctx, now=last + 29 * 60) is True  # within idle_minutes: live
    assert session_live(rec, ctx, ctx) is True  # a context with no word on it: a session's own items
    assert session_live(rec, "u1", dataclasses.replace(ctx, live=True)) is True
    by_id = rec.recommend("u1", 5, exclude_seen=False)
    assert by_id.ids.tolist() == rec.recommend(dataclasses.replace(ctx, live=False), 5, exclude_seen=False).ids.tolist()
    assert by_id.ids.tolist() != rec.recommend(ctx, 5, exclude_seen=False).ids.tolist()  # in-session fusion
    # a live event moves the shopper back into a session
    rec.update([Event("u1", EventType.PURCHASE, time.time(), "p40", session_id="live")])
    assert session_live(rec, "u1", rec.context("u1")) is True


def test_between_weights_survive_save_and_load(tmp_path: Path) -> None:
    cat, rec = _tuned()
    rec.save(tmp_path / "rec")
    meta = json.loads((tmp_path / "rec" / "hybrid.json").read_text())
    assert meta["tuning"]["between_weights"] == rec.tuning.between_weights
    loaded = HybridRecommender.load(tmp_path / "rec", cat, np.zeros((N_ITEMS, 4), dtype=np.float32))
    assert loaded.config == rec.config and loaded.tuning == rec.tuning
    ctx = dataclasses.replace(rec.context("u3"), live=False)
    for excl in (False, True):
        np.testing.assert_array_equal(loaded.score(ctx, excl), rec.score(ctx, excl))
        assert (
            loaded.recommend(ctx, 5, exclude_seen=excl).ids.tolist()
            == rec.recommend(ctx, 5, exclude_seen=excl).ids.tolist()
        )


def test_too_few_next_baskets_keep_the_in_session_weights() -> None:
    _, rec = _tuned(min_cases=20, max_sessions=15)  # 15 held-out orders: enough prefixes, too few baskets
    t = rec.tuning
    assert t.status == "tuned" and t.between_status == "in-session kept" and t.between_cases == 15
    assert "between sessions: in-session weights kept (15 next baskets" in t.reason
    assert rec.config.between_weights is None and rec.config.between_new_weights is None
    assert rec.config.fusion(False, live=False) == rec.config.fusion(False)
    assert t.between_weights == t.weights


def test_tuning_without_the_between_search_and_reuse_of_an_older_search() -> None:
    _, rec = _tuned(between=False)
    assert rec.tuning.between_status == "not run" and rec.config.between_weights is None
    saved = SavedTuning.of(rec)
    why = reuse_verdict(saved, HybridConfig(tune=TuneConfig(fraction=0.25, min_cases=20)), 3000, time.time())
    assert why is not None and "between-sessions" in why


def test_between_config_is_validated() -> None:
    with pytest.raises(ValueError, match="unknown component"):
        HybridConfig(between_weights=(("nope", 1.0),))
    with pytest.raises(ValueError, match=">= 0"):
        HybridConfig(between_new_weights=(("repeat", -1.0),))
    with pytest.raises(ValueError, match="idle_minutes"):
        HybridConfig(idle_minutes=0.0)
    cfg = HybridConfig(between_weights=(("repeat", 1.0),), between_penalty=0.25)
    assert cfg.fusion(False, live=False) == ({"repeat": 1.0}, 0.25)
    assert cfg.fusion(True, live=False) == cfg.fusion(True)  # no between new-items weights: the in-session ones
    assert cfg.untuned().between_weights is None
    assert TuningReport.from_dict(TuningReport(between_status="tuned").as_dict()).between_status == "tuned"


def test_validation_split_gives_baskets_with_history() -> None:
    cat = _catalog()
    data = _data(cat, _grocery())
    cases = basket_cases(*validation_split(data, 0.25, 2000))
    assert len(cases) == 120 and all(len(c.ctx) and c.ctx.live is False for c in cases)


def test_a_refit_without_the_between_search_keeps_no_reused_between_weights() -> None:
    """``TuneConfig(between=False)``: the in-session weights serve a shopper with no live session; a
    refit handed a model whose search chose between-sessions weights keeps its in-session ones only."""
    cat, rec = _tuned()
    assert rec.config.between_weights is not None
    cfg = HybridConfig(tune=TuneConfig(fraction=0.25, min_cases=20, between=False))
    again = HybridRecommender(np.zeros((N_ITEMS, 4), dtype=np.float32), cfg, reuse=SavedTuning.of(rec))
    again.fit(_data(cat, _grocery()))
    assert again.tuning.status == "reused", again.tuning.reason
    assert again.config.fusion(False) == rec.config.fusion(False)  # the searched in-session weights, kept
    assert again.config.between_weights is None and again.config.between_new_weights is None
    assert again.config.fusion(False, live=False) == again.config.fusion(False)
    assert again.tuning.between_status == "not run" and not again.tuning.between_weights


def test_a_component_with_no_score_above_zero_adds_no_penalised_top() -> None:
    """Rows with no evidence (all ``-inf``) have no top under any damping; rows of negative scores
    only are min-max scaled (their best scales to 1), so they still do."""
    counts = np.array([1000, 500, 50, 40, 30, 1, 1, 1], dtype=np.float64)
    damp = np.exp(-0.25 * np.log1p(counts)).astype(np.float32)[None, :]
    none = np.full((2, 8), -np.inf, dtype=np.float32)
    case, item, scores, _ = _entries([none], [np.array([7]), np.array([6])], 2, None, [damp])
    assert case.tolist() == [0, 1] and item.tolist() == [7, 6] and not scores[0].any()  # the basket items alone
    negative = np.full((1, 8), -np.inf, dtype=np.float32)
    negative[0, [0, 4, 5]] = [-5.0, -4.0, -4.4]  # the best is item 4, the worst (item 0) scales to 0
    _, item, scores, _ = _entries([negative], [np.zeros(0, np.int64)], 1, None, [damp])
    assert set(item.tolist()) == {4, 5} and scores[0].max() == 1.0  # undamped top: 4; damped: 5 (0.6 x 0.84 > 1 x 0.42)
