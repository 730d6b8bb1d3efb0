"""TIFU-KNN ("tifu": group- and basket-decayed own frequency, blended with neighbours; Hu et al., 2020)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from session_logs import basket_interactions, numbered_catalog
from shelfwise.events import Event, EventConsumer, EventStore, EventType
from shelfwise.recommend import Context, HybridConfig, HybridRecommender, TuneConfig
from shelfwise.recommend.persist import StateFileError
from shelfwise.recommend.tifu import TifuConfig, TifuRecommender, neighbour_matrix, user_vectors


def test_decay_by_basket_and_group_on_a_hand_example() -> None:
    # 4 baskets, groups of 2 from the newest: {b3, b2} (group 0), {b1, b0} (group 1); 2 groups
    data = basket_interactions(numbered_catalog(4), {"u": [[0], [1], [2, 0], [3, 3]]})
    v = user_vectors(data, TifuConfig(group_size=2, basket_decay=0.5, group_decay=0.25)).toarray()[0]
    # item 3: newest basket (rb^0), group 0 (rg^0), counted once though bought twice: 1 / (2 * 2)
    # item 2: b2 (rb^1): 0.5 / 4; item 1: b1 (rb^0, rg^1): 0.25 / 4; item 0: b2 (0.5 / 4) + b0 (0.5 * 0.25 / 4)
    want = np.array([0.5 / 4 + 0.125 / 4, 0.25 / 4, 0.5 / 4, 1 / 4])
    np.testing.assert_allclose(v, want, rtol=1e-6)


def test_a_partial_oldest_group_averages_over_its_own_size() -> None:
    data = basket_interactions(numbered_catalog(3), {"u": [[0], [1], [2]]})  # groups of 2: {b2, b1}, {b0}
    v = user_vectors(data, TifuConfig(group_size=2, basket_decay=0.5, group_decay=0.5)).toarray()[0]
    np.testing.assert_allclose(v, [0.5 / 1 / 2, 0.5 / 2 / 2, 1 / 2 / 2], rtol=1e-6)


def test_neighbours_are_the_most_similar_others_with_something_in_common() -> None:
    data = basket_interactions(numbered_catalog(6), {"a": [[0, 1]], "b": [[0, 1, 2]], "c": [[0, 4]], "d": [[5]]})
    v = user_vectors(data, TifuConfig())
    nb = neighbour_matrix(v, 2).toarray()
    a, b, c, d = (data.users.index(u) for u in "abcd")
    assert set(np.flatnonzero(nb[a])) == {b, c} and nb[a, b] == pytest.approx(0.5)
    assert not nb[d].any()  # shares no item with anyone
    assert (np.diag(nb) == 0).all()


def test_score_blends_own_and_neighbours_and_unknown_users_score_nothing() -> None:
    cat = numbered_catalog(6)
    data = basket_interactions(cat, {"a": [[0, 1]], "b": [[0, 1, 2]], "c": [[5]]})
    cfg = TifuConfig(neighbours=1, alpha=0.75)
    m = TifuRecommender(cfg)
    m.fit(data)
    s = m.score(Context.empty("a"))
    v = user_vectors(data, cfg).toarray()
    a, b = data.users.index("a"), data.users.index("b")
    np.testing.assert_allclose(s[[0, 1, 2]], (0.75 * v[a] + 0.25 * v[b])[[0, 1, 2]], rtol=1e-6)
    assert s[2] > 0 and np.isneginf(s[[3, 4, 5]]).all()  # 2 only from the neighbour; 5's owner shares nothing
    assert np.isneginf(m.score(Context.empty("stranger"))).all()
    assert np.isneginf(m.score(Context.of([0, 1]))).all()  # no user id: no fitted vector
    assert m.explain(Context.empty("a"), 0) == m.wording.before
    assert m.explain(Context.empty("a"), 2) == m.wording.similar_shoppers()
    many = m.score_many([Context.empty("a"), Context.empty("b"), Context.empty("x")])
    assert many.shape == (3, 6)
    np.testing.assert_array_equal(many[0], s)


def test_save_and_load_keep_the_scores(tmp_path: Path) -> None:
    cat = numbered_catalog(5)
    m = TifuRecommender(TifuConfig(neighbours=2))
    m.fit(basket_interactions(cat, {"a": [[0, 1], [1]], "b": [[1, 2], [3]], "c": [[0, 4]]}))
    m.save(tmp_path)
    back = TifuRecommender(TifuConfig(neighbours=2))
    back.attach(cat, None)
    back.load_state(tmp_path)
    for u in "abc":
        np.testing.assert_array_equal(back.score(Context.empty(u)), m.score(Context.empty(u)))
    bad = TifuRecommender()
    bad.attach(numbered_catalog(6), None)
    with pytest.raises(StateFileError, match=r"tifu\.npz"):
        bad.load_state(tmp_path)


@pytest.mark.parametrize(
    "kw", [{"group_size": 0}, {"neighbours": -1}, {"basket_decay": 0.0}, {"group_decay": 1.5}, {"alpha": -0.1}]
)
def test_config_rejects_bad_settings(kw: dict[str, float]) -> None:
    (field,) = kw  # the shared checks (BasketDecay) name TifuConfig, the field and its value too
    with pytest.raises(ValueError, match=rf"TifuConfig\.{field} must .*got "):
        TifuConfig(**kw)  # type: ignore[arg-type]


def test_hybrid_fits_tifu_only_when_weighted_and_reads_folders_saved_before_it(tmp_path: Path) -> None:
    cat = numbered_catalog(10)
    vec = np.zeros((10, 4), dtype=np.float32)
    users = {f"u{k}": [[k % 10, (k + 1) % 10], [(k + 3) % 10]] for k in range(12)}
    off = HybridRecommender(vec, HybridConfig(tune=TuneConfig(enabled=False)))
    off.fit(basket_interactions(cat, users))
    assert np.isneginf(off.tifu.score(Context.empty("u1"))).all()  # opt-in: not weighted, not fitted
    weights = (*HybridConfig().weights, ("tifu", 1.0))
    rec = HybridRecommender(vec, HybridConfig(weights=weights, tune=TuneConfig(enabled=False)))
    rec.fit(basket_interactions(cat, users))
    ctx = Context.empty("u1")
    assert np.isfinite(rec.tifu.score(ctx)).any()
    d = tmp_path / "rec"
    rec.save(d)
    loaded = HybridRecommender.load(d, cat, vec)
    np.testing.assert_array_equal(loaded.tifu.score(ctx), rec.tifu.score(ctx))
    (d / "tifu.npz").unlink()
    meta = json.loads((d / "hybrid.json").read_text())
    meta["format_version"] = 4
    (d / "hybrid.json").write_text(json.dumps(meta))
    old = HybridRecommender.load(d, cat, vec)
    assert np.isneginf(old.tifu.score(ctx)).all()
    assert len(old.recommend("u1", 3)) > 0


def test_a_live_purchase_changes_the_shoppers_own_vector(tmp_path: Path) -> None:
    """Through the live path (the event log, the consumer, the hybrid's update: the histories the
    "baskets" component reads too), a purchase counts in tifu's scores at once: a new newest basket,
    the older ones a place further back. The neighbours stay those of the fit."""
    cat = numbered_catalog(10)
    vec = np.zeros((10, 4), dtype=np.float32)
    users = {f"u{k}": [[k % 10, (k + 1) % 10], [(k + 3) % 10]] for k in range(12)}
    weights = (*HybridConfig().weights, ("tifu", 1.0))
    rec = HybridRecommender(vec, HybridConfig(weights=weights, tune=TuneConfig(enabled=False)))
    rec.fit(basket_interactions(cat, users))
    before = rec.tifu.score(rec.context("u1"))
    np.testing.assert_allclose(before, rec.tifu.score(Context.empty("u1")), rtol=1e-6)  # no live event: the fit's
    assert np.isneginf(rec.tifu.score(rec.context("newcomer"))).all()
    store = EventStore(tmp_path / "events.sqlite")
    late = 86_400.0 * 5  # days after the fitted baskets: a basket of its own
    store.append([Event("u1", EventType.PURCHASE, late, "p9"), Event("newcomer", EventType.PURCHASE, late, "p7")])
    assert EventConsumer(store, [rec]).drain() == 2
    after = rec.tifu.score(rec.context("u1"))
    assert after[9] > 0 and not before[9] > after[9]  # item 9 in the newest basket
    assert not np.allclose(np.where(np.isfinite(after), after, 0), np.where(np.isfinite(before), before, 0))
    a, cfg = rec.config.tifu.alpha, rec.config.tifu
    own = user_vectors(basket_interactions(cat, {"u1": [*users["u1"], [9]]}), cfg).toarray()[0]  # the history refitted
    mine = rec.tifu.score(Context.empty("u1"))  # the fit-time own vector: its neighbours' term is the same
    data = basket_interactions(cat, users)
    fitted = user_vectors(data, cfg).toarray()[data.users.index("u1")]
    np.testing.assert_allclose(np.maximum(after, 0), np.maximum(mine, 0) + a * (own - fitted), rtol=1e-5, atol=1e-7)
    fresh = rec.tifu.score(rec.context("newcomer"))  # unknown at fit: its own vector alone, alpha x
    assert fresh[7] == pytest.approx(a) and np.isneginf(np.delete(fresh, 7)).all()
    assert rec.tifu.explain(rec.context("u1"), 9) == rec.tifu.wording.before
