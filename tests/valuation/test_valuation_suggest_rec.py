"""What-to-label-next gains, removal curves and the recommendation (interaction) utility."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.events import Event, EventLog
from shelfwise.recommend import Interactions
from shelfwise.valuation import (
    InteractionUtility,
    KNNUtility,
    expected_gain,
    groups_by_category,
    groups_by_event_type,
    groups_by_recency,
    knn_shapley,
    leave_one_out,
    removal_curve,
    suggest_labels,
)


def _blobs(n: int, seed: int, classes: int = 3, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = np.eye(dim)[y] * 2.0 + rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y.astype(np.int64)


def test_expected_gain_is_exact_when_label_is_certain() -> None:
    xt, yt = _blobs(20, seed=1)
    xv, yv = _blobs(15, seed=2)
    xp, _ = _blobs(6, seed=3)
    u = KNNUtility(xt, yt, xv, yv, k=3)
    gain = expected_gain(u, xp, smoothing=0.0)
    # with smoothing 0 and a posterior that is one-hot, the expectation equals the real change
    from shelfwise.valuation.suggest import knn_posterior

    post = knn_posterior(u, xp, smoothing=0.0)
    for j in np.flatnonzero(post.max(axis=1) == 1.0):
        y = int(post[j].argmax())
        after = KNNUtility(np.vstack([xt, xp[j : j + 1]]), np.append(yt, y), xv, yv, k=3)
        assert gain[j] == pytest.approx(after(np.arange(21)) - u(np.arange(20)))


def test_suggestions_rank_groups_missing_from_training() -> None:
    xt, yt = _blobs(60, seed=4, classes=3)
    keep = yt != 2  # class 2 has no labelled examples
    xv, yv = _blobs(60, seed=5, classes=3)
    xp, yp = _blobs(30, seed=6, classes=3)
    u = KNNUtility(xt[keep], yt[keep], xv, yv, k=3)
    sug = suggest_labels(u, xp, [f"cat{c}" for c in yp])
    assert sug.ranked(1)[0][0] == "cat2"
    assert sug.group_size.sum() == 30 and len(sug.ranked_items(5)) == 5
    with pytest.raises(ValueError, match="group labels"):
        suggest_labels(u, xp, ["a"])


def test_removal_curve_low_value_beats_random_on_noisy_data() -> None:
    from shelfwise.valuation import flip_labels

    xt, yt = _blobs(150, seed=7)
    xv, yv = _blobs(80, seed=8)
    xs, ys = _blobs(80, seed=9)
    noisy, _ = flip_labels(yt, 0.2, 3, seed=2)
    vals = knn_shapley(xt, noisy, xv, yv, k=5)
    test_u = KNNUtility(xt, noisy, xs, ys, k=5)
    curve = removal_curve(test_u, vals, (0.0, 0.1, 0.2), n_random=3)
    assert curve.lowest[2] > curve.random_mean[2]
    assert curve.lowest[2] >= curve.lowest[0]
    assert curve.highest[2] < curve.random_mean[2]


def test_interaction_utility_groups(tiny_catalog: Catalog, tiny_events: list[Event]) -> None:
    log = EventLog.from_events(tiny_events, tiny_catalog)
    data = Interactions.from_log(log, tiny_catalog)
    ids, names = groups_by_category(data)
    assert set(names) <= {"Men", "Women", "Sport", "Kids"}
    truth = {"u1": {tiny_catalog.row("p3")}, "u4": {tiny_catalog.row("p3")}}
    u = InteractionUtility(data, ids, truth, k=3)
    assert u.n_players == len(names)
    loo = leave_one_out(u, names)
    men = names.index("Men")
    # belt (p3) is only recommendable from trousers bought with it: removing "Men" removes all signal
    assert loo.values[men] > 0 and u(np.arange(len(names))) > 0
    t_ids, t_names = groups_by_event_type(log, data)
    assert "purchase" in t_names and len(t_ids) == len(data)
    r_ids, r_names = groups_by_recency(data, (1.0,))
    assert len(r_ids) == len(data) and r_names[0] == "0-1d"
    with pytest.raises(ValueError, match="group ids"):
        InteractionUtility(data, ids[:-1], truth)


def test_interaction_utility_batched_scores_match_user_by_user() -> None:
    """The co-occurrence fast path (one sparse product for all users) gives recommend()'s utility."""
    from shelfwise.catalog import Product
    from shelfwise.events import EventType
    from shelfwise.recommend import CooccurrenceRecommender

    class Slow(CooccurrenceRecommender):  # same model, forced down the user-by-user path
        def recommend(self, user, k=10, filters=None, *, exclude_seen=True):  # type: ignore[no-untyped-def]
            return super().recommend(user, k, filters, exclude_seen=exclude_seen)

    rng = np.random.default_rng(0)
    cat = Catalog([Product(id=f"p{i}", title=f"item {i}", category=(f"c{i % 4}",)) for i in range(40)])
    events = [
        Event(
            f"u{u}",
            EventType(int(rng.integers(1, 5))),
            float(t),
            f"p{int(rng.zipf(1.5)) % 40}",
            session_id=f"s{u}-{t // 5}",
        )
        for u in range(30)
        for t in range(12)
    ]
    data = Interactions.from_log(EventLog.from_events(events, cat), cat)
    ids, _ = groups_by_category(data)
    truth = {f"u{u}": {int(rng.integers(0, 40)), int(rng.integers(0, 40))} for u in range(0, 34, 2)}
    for excl in (False, True):
        fast = InteractionUtility(data, ids, truth, k=5, exclude_seen=excl)
        slow = InteractionUtility(data, ids, truth, k=5, exclude_seen=excl, model=Slow)
        for players in (np.arange(4), np.array([0, 2]), np.array([3])):
            assert fast(players) == pytest.approx(slow(players))
        assert fast(np.array([1, 0])) == fast(np.array([0, 1]))  # cached by coalition, order-free


def test_interaction_utility_item_partition_path_matches_refitting() -> None:
    """Grouping by category partitions the items: coalition utilities come without refits, same values."""
    from shelfwise.catalog import Product
    from shelfwise.events import EventType
    from shelfwise.recommend import CooccurrenceRecommender

    class Refit(CooccurrenceRecommender):  # not the default factory: refits every coalition
        pass

    rng = np.random.default_rng(1)
    cat = Catalog([Product(id=f"p{i}", title=f"item {i}", category=(f"c{i % 5}",)) for i in range(60)])
    events = [
        Event(f"u{u}", EventType.PURCHASE, float(t), f"p{int(rng.zipf(1.3)) % 60}", session_id=f"s{u}-{t // 4}")
        for u in range(40)
        for t in range(16)
    ]
    data = Interactions.from_log(EventLog.from_events(events, cat), cat)
    ids, names = groups_by_category(data)
    truth = {f"u{u}": {int(rng.integers(0, 60)) for _ in range(3)} for u in range(0, 44, 2)}
    for excl in (False, True):
        fast = InteractionUtility(data, ids, truth, k=5, exclude_seen=excl)
        slow = InteractionUtility(data, ids, truth, k=5, exclude_seen=excl, model=Refit)
        for players in (np.arange(len(names)), np.array([0, 2]), np.array([4]), np.array([1, 3, 4])):
            assert fast(players) == pytest.approx(slow(players), abs=1e-6)
        assert fast._fast is not None and fast._fast is not False


def test_value_interactions_too_few_sessions_says_how_many(tiny_catalog: Catalog, tiny_events: list[Event]) -> None:
    from shelfwise.valuation.pipeline import value_interactions

    log = EventLog.from_events(tiny_events, tiny_catalog)  # one session per user
    with pytest.raises(ValueError, match=r"0 of 4 users have three or more, the most any user has is 1\b"):
        value_interactions(tiny_catalog, log)
