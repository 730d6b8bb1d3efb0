"""The session-graph walk ("walk", P3 / RP3beta steps from the recent clicks)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from session_logs import numbered_catalog, view_sessions
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    Context,
    CooccurrenceRecommender,
    HybridConfig,
    HybridRecommender,
    Interactions,
    TuneConfig,
)
from shelfwise.recommend.persist import StateFileError
from shelfwise.recommend.sequence import SessionKNNRecommender
from shelfwise.recommend.walk import SessionWalkRecommender, WalkConfig, top_per_row, transitions


def _fitted(sessions: list[list[int]], n: int, config: WalkConfig | None = None) -> SessionWalkRecommender:
    m = SessionWalkRecommender(config)
    m.fit(view_sessions(numbered_catalog(n), sessions))
    return m


def test_one_step_is_item_to_session_to_item_without_self_steps() -> None:
    # item 1 is in both sessions: 1/2 to each, then 1/2 to each of that session's items
    step, degree = transitions(view_sessions(numbered_catalog(3), [[0, 1], [1, 2], [1]]), neighbours=10)
    want = np.array([[0, 0.5, 0], [1 / 6, 0, 1 / 6], [0, 0.5, 0]], dtype=np.float32)
    np.testing.assert_allclose(step.toarray(), want, rtol=1e-6)
    np.testing.assert_array_equal(degree, [1, 3, 1])


def test_two_steps_reach_an_item_that_shares_no_session_with_the_clicks() -> None:
    sessions = [[0, 1], [1, 2]] * 3
    walk = _fitted(sessions, 4)
    ctx = Context.of([0])
    s = walk.score(ctx)
    # from 0: one step to 1 (0.5), then from 1: 0.25 back to 0 and 0.25 on to 2 (gamma 1 adds it)
    np.testing.assert_allclose(s[:3], [0.125, 0.5, 0.125], rtol=1e-6)
    assert np.isneginf(s[3])  # never seen: no evidence
    data = view_sessions(numbered_catalog(4), sessions)
    for other in (CooccurrenceRecommender(), SessionKNNRecommender()):
        other.fit(data)
        assert np.isneginf(other.score(ctx)[2])  # one shared session away at best: they cannot reach it
    one = _fitted(sessions, 4, WalkConfig(hops=1))
    assert np.isneginf(one.score(ctx)[2]) and one.score(ctx)[1] == pytest.approx(0.5)


def test_gamma_weighs_the_second_step_and_beta_penalises_popular_items() -> None:
    sessions = [[0, 1], [1, 2], [1, 3], [3, 2]]
    ctx = Context.of([0])
    a = _fitted(sessions, 4, WalkConfig(gamma=0.0))
    b = _fitted(sessions, 4, WalkConfig(gamma=2.0))
    assert np.isneginf(a.score(ctx)[2]) and b.score(ctx)[2] > 0
    plain = _fitted(sessions, 4)
    pen = _fitted(sessions, 4, WalkConfig(beta=1.0))
    degree = np.array([1, 3, 2, 2], dtype=np.float32)
    got, want = pen.score(ctx), plain.score(ctx) / degree
    np.testing.assert_allclose(got[np.isfinite(got)], want[np.isfinite(want)], rtol=1e-6)


def test_later_clicks_weigh_more() -> None:
    walk = _fitted([[0, 1], [2, 3]] * 2, 4)
    s = walk.score(Context.of([0, 2]))  # 2 is the last click
    assert s[3] > s[1] > 0


def test_top_per_row_keeps_the_largest_and_breaks_ties_by_column() -> None:
    m = sp.csr_matrix(np.array([[0.1, 0.5, 0.5, 0.25], [0.0, 0.0, 0.75, 0.0]], dtype=np.float32))
    got = top_per_row(m, 2).toarray()
    np.testing.assert_array_equal(got, [[0, 0.5, 0.5, 0], [0, 0, 0.75, 0]])
    got = top_per_row(m, 1).toarray()
    np.testing.assert_array_equal(got, [[0, 0.5, 0, 0], [0, 0, 0.75, 0]])


def test_neighbours_bound_each_items_transitions() -> None:
    rng = np.random.default_rng(0)
    sessions = [rng.choice(30, 5, replace=False).tolist() for _ in range(200)]
    walk = _fitted(sessions, 30, WalkConfig(neighbours=4))
    assert np.diff(walk.step.indptr).max() == 4


def test_score_many_is_score_of_each_context() -> None:
    rng = np.random.default_rng(1)
    sessions = [rng.choice(40, int(rng.integers(2, 6)), replace=False).tolist() for _ in range(120)]
    walk = _fitted(sessions, 45)
    contexts = [Context.of(rng.choice(45, int(rng.integers(1, 8))).tolist()) for _ in range(30)]
    contexts += [Context.empty(), Context.of([44])]  # an item no session holds
    many = walk.score_many(contexts)
    np.testing.assert_array_equal(many, np.stack([walk.score(c) for c in contexts]))
    assert np.isneginf(many[-1]).all() and np.isneginf(many[-2]).all()


def test_explain_names_the_click_with_a_direct_step() -> None:
    walk = _fitted([[0, 1], [1, 2]] * 2, 3)
    ctx = Context.of([0])
    assert "item 0" in walk.explain(ctx, 1)
    assert walk.explain(ctx, 2) == walk.wording.shoppers_like_you()  # two steps away


def test_save_and_load_keep_the_scores(tmp_path: Path) -> None:
    cat = numbered_catalog(5)
    walk = SessionWalkRecommender(WalkConfig(beta=0.5))
    walk.fit(view_sessions(cat, [[0, 1, 2], [2, 3], [3, 4]]))
    walk.save(tmp_path)
    back = SessionWalkRecommender(WalkConfig(beta=0.5))
    back.attach(cat, None)
    back.load_state(tmp_path)
    ctx = Context.of([0, 3])
    np.testing.assert_array_equal(back.score(ctx), walk.score(ctx))
    bad = SessionWalkRecommender()
    bad.attach(numbered_catalog(6), None)
    with pytest.raises(StateFileError, match=r"walk\.npz"):
        bad.load_state(tmp_path)


@pytest.mark.parametrize(
    "kw", [{"hops": 0}, {"neighbours": 0}, {"window": 0}, {"gamma": -0.1}, {"beta": 1.5}, {"lambda_pos": 0.0}]
)
def test_config_rejects_bad_settings(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="WalkConfig"):
        WalkConfig(**kw)  # type: ignore[arg-type]


def test_hybrid_saves_the_walk_and_reads_folders_saved_before_it(tmp_path: Path) -> None:
    cat = numbered_catalog(10)
    vec = np.zeros((10, 4), dtype=np.float32)
    off = HybridRecommender(vec, HybridConfig(tune=TuneConfig(enabled=False)))
    off.fit(view_sessions(cat, [[i % 10, (i + 1) % 10, (i + 3) % 10] for i in range(30)]))
    assert np.isneginf(off.walk.score(Context.of([1, 2]))).all()  # opt-in: not weighted, not fitted
    weights = (*HybridConfig().weights, ("walk", 1.0))
    rec = HybridRecommender(vec, HybridConfig(weights=weights, tune=TuneConfig(enabled=False)))
    rec.fit(view_sessions(cat, [[i % 10, (i + 1) % 10, (i + 3) % 10] for i in range(30)]))
    d = tmp_path / "rec"
    rec.save(d)
    ctx = Context.of([1, 2])
    loaded = HybridRecommender.load(d, cat, vec)
    np.testing.assert_array_equal(loaded.walk.score(ctx), rec.walk.score(ctx))
    assert np.isfinite(rec.walk.score(ctx)).any()
    (d / "walk.npz").unlink()
    meta = json.loads((d / "hybrid.json").read_text())
    meta["format_version"] = 3
    (d / "hybrid.json").write_text(json.dumps(meta))
    old = HybridRecommender.load(d, cat, vec)
    assert np.isneginf(old.walk.score(ctx)).all()
    assert len(old.recommend(ctx, 3)) > 0


def test_explain_names_the_strongest_direct_step_among_several_clicks() -> None:
    # 2 -> 3 is stronger (2's only session holds 3) than 0 -> 3 (one of 0's two sessions)
    walk = _fitted([[0, 3], [0, 1], [2, 3]], 4)
    assert "item 2" in walk.explain(Context.of([0, 2, 1]), 3)
    assert "item 0" in walk.explain(Context.of([0, 2]), 1)


def test_a_direct_step_is_worded_by_the_pairs_evidence_and_count() -> None:
    cat = numbered_catalog(3)
    events = [
        Event(f"u{k}", kind, 100.0 * k + j, f"p{i}", session_id=f"s{k}")
        for k in range(2)
        for j, (i, kind) in enumerate(((0, EventType.PURCHASE), (1, EventType.PURCHASE)))
    ] + [Event("u9", EventType.VIEW, 900.0 + j, f"p{i}", session_id="s9") for j, i in enumerate((1, 2))]
    data = Interactions.from_log(EventLog.from_events(events, cat), cat)
    pairs = CooccurrenceRecommender()
    pairs.fit(data)
    walk = SessionWalkRecommender(pairs=pairs)
    walk.fit(data)
    assert walk.explain(Context.of([0]), 1) == pairs.explain(Context.of([0]), 1)
    assert "2 times" in walk.explain(Context.of([0]), 1) and "item 0" in walk.explain(Context.of([0]), 1)
    assert "item 2" in walk.explain(Context.of([2]), 1)


def test_explain_weighs_a_step_by_how_recent_its_click_is() -> None:
    # 0 -> 3 is the stronger step (0.5 vs 0.25), but 0 is two clicks back: 0.5 * e^-4 < 0.25
    walk = _fitted([[0, 3], [1, 3], [1, 4]], 5, WalkConfig(lambda_pos=0.5))
    assert "item 1" in walk.explain(Context.of([0, 2, 1]), 3)
    assert "item 0" in walk.explain(Context.of([1, 0]), 3)
