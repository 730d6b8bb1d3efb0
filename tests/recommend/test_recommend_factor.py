"""The implicit-backed factor model (ALS / BPR): contract, fold-in, persistence, a ranking sanity check."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.errors import MissingExtraError
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import ALSConfig, ALSRecommender, Context, Interactions, Recommender
from shelfwise.recommend.factor import fold_in
from shelfwise.recommend.persist import StateFileError

CONFIGS = {
    "als": ALSConfig(factors=4, iterations=10, num_threads=1),
    "bpr": ALSConfig.bpr(factors=4, iterations=60, num_threads=1),
}


def _groups_data(n_users: int = 60, n_groups: int = 3, per_group: int = 8, seed: int = 0) -> Interactions:
    """Users buy within one item group; item ``g * per_group + 0`` of each group is left untouched
    by user ``u0`` of that group (the held-out item), and two items nobody buys close the catalog."""
    rng = np.random.default_rng(seed)
    n_items = n_groups * per_group
    catalog = Catalog([Product(id=f"i{j}", title=f"item {j}") for j in range(n_items + 2)])
    events = []
    for u in range(n_users):
        g = u % n_groups
        picks = rng.choice(per_group, size=5, replace=False)
        if u < n_groups:  # u0, u1, u2: the held-out users never touch their group's first item
            picks = np.arange(1, 6)
        for t, j in enumerate(picks.tolist()):
            events.append(Event(f"u{u}", EventType.PURCHASE, float(100 * u + t), f"i{g * per_group + j}"))
    return Interactions.from_log(EventLog.from_events(events, catalog), catalog)


@pytest.fixture(scope="module")
def data() -> Interactions:
    return _groups_data()


@pytest.fixture(params=sorted(CONFIGS))
def fitted(request: pytest.FixtureRequest, data: Interactions) -> ALSRecommender:
    m = ALSRecommender(CONFIGS[request.param])
    m.fit(data)
    return m


def test_recommends_and_excludes_seen_items(fitted: ALSRecommender, data: Interactions) -> None:
    assert isinstance(fitted, Recommender)
    assert data.profiles is not None
    seen = data.profiles.seen("u4")
    rec = fitted.recommend("u4", k=5)
    assert len(rec) == 5 and all(r == "shoppers with similar histories bought this" for r in rec.reasons)
    assert not seen & set(rec.ids.tolist())
    assert np.all(np.diff(rec.scores) <= 0)
    again = fitted.recommend("u4", k=len(seen), exclude_seen=False)
    assert set(again.ids.tolist()) & seen
    cold = [data.catalog.row("i24"), data.catalog.row("i25")]  # nobody bought them: no factors, no score
    assert not np.isfinite(fitted.score(Context.of([0, 1]))[cold]).any()
    assert fitted.recommend("nobody", k=5).ids.size == 0  # no history, no evidence (the hybrid falls back)


def test_held_out_co_consumed_item_beats_random(fitted: ALSRecommender, data: Interactions) -> None:
    """u0..u2 never bought their group's first item; it must outrank items of the other groups."""
    for u in range(3):
        s = fitted.score(fitted.context(f"u{u}"))
        held = u * 8
        others = [j for j in range(24) if j // 8 != u]
        assert s[held] > np.max(s[others]), f"u{u}: held-out item {held} ranked below an unrelated item"
        assert fitted.recommend(f"u{u}", k=3).ids[0] // 8 == u


def test_new_user_is_folded_in(fitted: ALSRecommender, data: Interactions) -> None:
    ctx = Context.of([data.catalog.row("i9"), data.catalog.row("i10")], user="newcomer")  # group 1 items
    assert "newcomer" not in fitted.users
    rec = fitted.recommend(ctx, k=3)
    assert len(rec) == 3 and 8 <= int(rec.ids[0]) < 16
    s = fitted.score(ctx)  # the group's items score higher than the other groups' on average
    assert s[8:16].mean() > s[:8].mean() and s[8:16].mean() > s[16:24].mean()
    x = fitted.user_vector(ctx)
    assert x is not None and x.shape == (fitted.item_factors.shape[1],)


def test_als_fold_in_is_implicits_recalculate_user(data: Interactions) -> None:
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares

    cfg = ALSConfig(factors=8, iterations=5, alpha=2.0, regularization=0.3, num_threads=1)
    m = ALSRecommender(cfg)
    m.fit(data)
    ref = AlternatingLeastSquares(factors=8, regularization=0.3, alpha=2.0, random_state=0, num_threads=1)
    ref.item_factors = m.item_factors
    items, weights = np.array([3, 5, 9]), np.array([8.0, 16.0, 8.0])
    row = sp.csr_matrix((weights.astype(np.float32), (np.zeros(3, int), items)), shape=(1, m.n_items))
    expected = ref.recalculate_user(0, row)
    got = fold_in(m.item_factors, m.item_factors.astype(np.float64).T @ m.item_factors, items, 2.0 * weights, 0.3)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    x = m.user_vector(Context.of(items, weights))
    assert x is not None
    np.testing.assert_allclose(x, expected, rtol=1e-4, atol=1e-5)


def test_fit_matches_implicit_directly(data: Interactions) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    m = ALSRecommender(ALSConfig(factors=8, iterations=4, num_threads=1, seed=3))
    m.fit(data)
    ref = AlternatingLeastSquares(factors=8, regularization=0.1, iterations=4, random_state=3, num_threads=1)
    ref.fit(data.user_item().astype(np.float32), show_progress=False)
    np.testing.assert_allclose(m.item_factors, ref.item_factors, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.user_factors, ref.user_factors, rtol=1e-5, atol=1e-6)


def test_known_users_fold_in_by_default_or_keep_learned_factors(data: Interactions) -> None:
    folded = ALSRecommender(CONFIGS["bpr"])
    folded.fit(data)
    assert folded.item_factors.shape == (data.n_items, 5)  # implicit's item-bias column
    ctx = folded.context("u5")
    x = folded.user_vector(ctx)
    assert x is not None
    np.testing.assert_array_equal(x, folded.user_vector(Context(ctx.items, ctx.weights)))  # same as a stranger
    assert folded.recommend("u5", k=3).ids.size == 3
    learned = ALSRecommender(replace(CONFIGS["bpr"], fold_in_known_users=False))
    learned.fit(data)
    x = learned.user_vector(Context.of([0], user="u5"))
    assert x is not None
    np.testing.assert_array_equal(x, learned.user_factors[learned.users["u5"]])
    assert np.isfinite(learned.score(Context.empty("u5"))).any()  # known user, empty live history: still scored
    live = learned.score(Context.of([9, 10], user="u5"))  # learned factors: live history does not move them
    np.testing.assert_array_equal(live, learned.score(Context.of([0], user="u5")))


def test_save_load_round_trip_is_identical(fitted: ALSRecommender, data: Interactions, tmp_path: Path) -> None:
    fitted.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["als.json", "als.npz"]
    back = ALSRecommender(fitted.config)
    back.attach(data.catalog, data.profiles)
    back.load_state(tmp_path)
    assert back.users == fitted.users
    for ctx in (fitted.context("u1"), fitted.context("u7"), Context.of([2, 17], user="newcomer")):
        np.testing.assert_array_equal(back.score(ctx), fitted.score(ctx))
    for item in (0, 11, 25):
        np.testing.assert_array_equal(back.score_item(item), fitted.score_item(item))
    a, b = fitted.recommend("u3", k=6), back.recommend("u3", k=6)
    assert a.ids.tolist() == b.ids.tolist() and a.reasons == b.reasons
    np.testing.assert_array_equal(a.scores, b.scores)


def test_load_rejects_wrong_shapes_and_reads_old_folders(
    fitted: ALSRecommender, data: Interactions, tmp_path: Path
) -> None:
    fitted.save(tmp_path)
    z = dict(np.load(tmp_path / "als.npz"))
    np.savez(tmp_path / "als.npz", **{**z, "user_factors": z["user_factors"][:3]})
    back = ALSRecommender(fitted.config)
    back.attach(data.catalog, data.profiles)
    with pytest.raises(StateFileError, match=r"als\.npz: user_factors has shape"):
        back.load_state(tmp_path)
    wrong = ALSRecommender(ALSConfig(factors=7))
    wrong.attach(data.catalog, data.profiles)
    np.savez(tmp_path / "als.npz", **z)
    with pytest.raises(StateFileError, match=r"als\.npz: factors has shape"):
        wrong.load_state(tmp_path)
    np.savez(tmp_path / "als.npz", **{**z, "rows": z["rows"][1:]})
    with pytest.raises(StateFileError, match=r"als\.npz: rows do not match"):
        back.load_state(tmp_path)
    # A folder saved before user factors and compact factors: a full item-factor matrix only,
    # every user folded in.
    np.savez(tmp_path / "als.npz", item_factors=fitted.item_factors, known=z["known"])
    back.load_state(tmp_path)
    assert back.users == {}
    ctx = Context.of([1, 2, 3], user="u1")
    np.testing.assert_array_equal(back.score(ctx), fitted.score(ctx))


def test_config_validates() -> None:
    for bad in (
        {"model": "svd"},
        {"factors": 0},
        {"iterations": 0},
        {"alpha": 0.0},
        {"regularization": -1.0},
        {"learning_rate": 0.0},
        {"num_threads": -1},
    ):
        with pytest.raises(ValueError, match="ALSConfig"):
            ALSConfig(**bad)  # type: ignore[arg-type]


def test_missing_implicit_names_the_extra(data: Interactions, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "implicit.cpu.als", None)
    with pytest.raises(MissingExtraError, match=r"shelfwise\[recommend\]"):
        ALSRecommender(CONFIGS["als"]).fit(data)


def test_score_many_of_contexts_with_only_unknown_items(fitted: ALSRecommender, data: Interactions) -> None:
    """Items nobody bought in training (the last two) fold nothing in: no evidence, not an error."""
    n = data.n_items
    out = fitted.score_many([Context.of([n - 1]), Context.of([n - 2, n - 1])])
    assert out.shape == (2, n)
    for j, ctx in enumerate((Context.of([n - 1]), Context.of([n - 2, n - 1]))):
        np.testing.assert_array_equal(out[j], fitted.score(ctx))


def test_compact_factors_score_as_the_full_matrix(fitted: ALSRecommender, data: Interactions) -> None:
    """Only the items with factors are kept; scores match the full-matrix computation they
    replaced (``np.where(known, Y @ x, -inf)``), up to float rounding, with the same ranking."""
    full = fitted.item_factors
    assert not fitted.known.all() and fitted.factors.shape == (int(fitted.known.sum()), full.shape[1])
    if fitted.config.model == "als":  # implicit's ALS zeroes the factors of items nobody bought
        np.testing.assert_array_equal(full[~fitted.known], 0.0)
    ctx = Context.of([1, 2, 9], [1.0, 2.0, 1.0])
    items = ctx.items[fitted.known[ctx.items]]
    conf = fitted.confidence(ctx.weights[fitted.known[ctx.items]])
    x = fold_in(full, fitted._yty, items, conf, fitted.config.regularization).astype(np.float32)
    old = np.where(fitted.known, full @ x, -np.inf).astype(np.float32)
    new = fitted.score(ctx)
    np.testing.assert_array_equal(np.isfinite(new), fitted.known)
    np.testing.assert_allclose(new[fitted.known], old[fitted.known], rtol=1e-5, atol=1e-6)
    assert np.argsort(-new, kind="stable")[:10].tolist() == np.argsort(-old, kind="stable")[:10].tolist()
    unit = full / np.maximum(np.linalg.norm(full, axis=1, keepdims=True), 1e-12)
    old_item = np.where(fitted.known, unit @ unit[3], -np.inf)
    np.testing.assert_allclose(fitted.score_item(3), old_item, rtol=1e-5, atol=1e-6)
    assert not np.isfinite(fitted.score_item(int(np.flatnonzero(~fitted.known)[0]))).any()
