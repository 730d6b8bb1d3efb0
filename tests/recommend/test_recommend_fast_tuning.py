"""Fit-time tuning's batched paths give what one prefix at a time gives, bit for bit: contexts of
every prefix at once, each component's ``score_many`` and the candidate search. A made-up store:
150 items, sessions drifting along a cycle, some shoppers with earlier sessions (histories)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
import pytest

from session_logs import walking_sessions
from shelfwise.recommend import ALSConfig, Context, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import Case, TuneConfig, TuningReport, prefix_cases, validation_split
from shelfwise.recommend.base import BaseRecommender
from shelfwise.recommend.factor import ALSRecommender
from shelfwise.recommend.sequence import SessionKNNConfig, SessionKNNRecommender
from shelfwise.recommend.tuning_pool import top_positive

N_ITEMS = 150


def _undated(report: TuningReport) -> dict[str, object]:
    """A tuning report without the time its search ran (two fits of one log differ only there)."""
    return {**report.as_dict(), "tuned_at": None}


def _store(users: int = 60) -> Interactions:
    return walking_sessions(np.random.default_rng(7), N_ITEMS, 400, users, 9, move=0.8)  # some re-views


def _reference_cases(train: Interactions, held: Interactions, tail: int = 50) -> list[Case]:
    """prefix_cases one prefix at a time (the code before the batched version)."""
    hist: dict[object, tuple[np.ndarray, np.ndarray]] = {}
    order = np.lexsort((train.timestamp, train.user))
    for idx in np.split(order, np.flatnonzero(np.diff(train.user[order])) + 1):
        if len(idx):
            hist[train.users[int(train.user[idx[0]])]] = (train.item[idx], train.weight[idx])
    none = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    out = []
    order = np.lexsort((np.arange(len(held)), held.timestamp, held.session))
    for k, idx in enumerate(np.split(order, np.flatnonzero(np.diff(held.session[order])) + 1)):
        if len(idx) < 2:
            continue
        items, weights = held.item[idx], held.weight[idx]
        user = held.users[int(held.user[idx[0]])]
        h_items, h_w = hist.get(user, none)
        for t in range(1, len(idx)):
            it = np.concatenate([h_items, items[:t]]).astype(np.int64)
            w = np.concatenate([h_w, weights[:t]]).astype(np.float32)
            uniq, inv = np.unique(it, return_inverse=True)
            ctx = Context(uniq, np.bincount(inv, weights=w).astype(np.float32), user, sequence=it[-tail:])
            out.append(Case(ctx, int(items[t]), k))
    return out


@pytest.mark.parametrize("users", [60, 400])  # 400: one session per shopper, no history
def test_prefix_cases_are_the_one_at_a_time_contexts(users: int) -> None:
    data = _store(users)
    train, held = validation_split(data, 0.2, 1000)
    got, want = prefix_cases(train, held), _reference_cases(train, held)
    assert len(got) == len(want) > 100
    assert (users == 400) != any(len(c.ctx.ordered) > 8 for c in got)  # sessions hold <= 8 clicks: longer = history
    for g, w in zip(got, want, strict=True):
        assert (g.truth, g.session, g.ctx.user, g.new) == (w.truth, w.session, w.ctx.user, w.new)
        for f in ("items", "weights", "sequence"):
            a, b = getattr(g.ctx, f), getattr(w.ctx, f)
            assert a.dtype == b.dtype and np.array_equal(a, b), f


@pytest.mark.parametrize(
    "config",
    [SessionKNNConfig(), SessionKNNConfig(neighbours=3, sample=20), SessionKNNConfig(lambda_pos=1e9, lambda_item=1e9)],
)
def test_session_knn_scores_many_as_one_bit_for_bit(config: SessionKNNConfig) -> None:
    data = _store()
    train, held = validation_split(data, 0.2, 1000)
    knn = SessionKNNRecommender(config)
    knn.fit(train)
    contexts = [*[c.ctx for c in prefix_cases(train, held)][:120], Context.empty(), Context.of([3, 3, 9])]
    np.testing.assert_array_equal(knn.score_many(contexts), np.stack([knn.score(c) for c in contexts]))


def test_top_positive_is_each_rows_top_positives_ties_kept() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        b, n, k = int(rng.integers(1, 30)), int(rng.integers(1, 300)), int(rng.integers(1, 60))
        d = np.round(rng.random((b, n)) * rng.integers(2, 30)).astype(np.float32) - np.float32(rng.random() < 0.3)
        got = np.zeros(b * n, dtype=bool)
        got[top_positive(d, k)] = True
        for r in range(b):
            pos = np.flatnonzero(d[r] > 0)
            if len(pos) > k:
                pos = pos[d[r, pos] >= np.sort(d[r, pos])[::-1][k - 1]]
            assert set(np.flatnonzero(got.reshape(b, n)[r]).tolist()) == set(pos.tolist())


def test_tuning_on_batched_scores_learns_what_one_prefix_at_a_time_learns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path (every component's batched ``score_many``) against the slow one (each
    prefix scored by ``score`` alone): the same tuning report, weights and scores."""
    data = _store()
    vec = np.random.default_rng(2).normal(size=(N_ITEMS, 8)).astype(np.float32)
    cfg = HybridConfig(
        als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=TuneConfig(fraction=0.2, min_cases=10)
    )
    fast = HybridRecommender(vec, cfg)
    fast.fit(data)
    monkeypatch.setattr(BaseRecommender, "score_many", lambda self, cs: np.stack([self.score(c) for c in cs]))
    for cls in {type(c) for c in fast.components.values()}:
        if "score_many" in vars(cls):
            monkeypatch.delattr(cls, "score_many")
    slow = HybridRecommender(vec, cfg)
    slow.fit(data)
    assert fast.tuning.status == "tuned"
    assert _undated(fast.tuning) == _undated(slow.tuning)


def test_stan_score_many_equals_score_when_position_weights_underflow() -> None:
    """A tiny lambda_pos underflows old positions' weights to 0: score and score_many both leave
    the sessions reached only through them out of the neighbours."""
    data = _store()
    train, held = validation_split(data, 0.2, 1000)
    knn = SessionKNNRecommender(SessionKNNConfig(lambda_pos=0.05, neighbours=3))
    knn.fit(train)
    ctxs = [c.ctx for c in prefix_cases(train, held)][:200]
    assert np.array_equal(knn.score_many(ctxs), np.stack([knn.score(c) for c in ctxs]))


def test_als_fitted_in_threads_and_refitted_ahead_is_the_sequential_fit() -> None:
    """ALS of the earlier rows starts fitting (on a copy) as soon as the validation slice is cut,
    beside the prefixes and the other components, and the final warm refit on all rows starts
    (on a copy) while tuning still scores with the ALS of the earlier rows: the factors are those
    of fitting on the earlier rows and then refitting on all, one after the other, and tuning's
    scores came from the earlier rows' ALS (the same report as without the early fit and the
    refit ahead)."""
    data = _store()
    vec = np.random.default_rng(2).normal(size=(N_ITEMS, 8)).astype(np.float32)
    tc = TuneConfig(fraction=0.2, min_cases=10)
    cfg = HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=tc)
    h = HybridRecommender(vec, cfg)
    started: list[object] = []
    early = h._als_early

    def record(*a: Interactions) -> object:
        started.append(early(*a))
        return started[-1]

    h._als_early = record  # type: ignore[method-assign,assignment]
    h.fit(data)
    assert h.tuning.status == "tuned" and started[0] is not None
    assert h.components["als"] is h.als
    want = ALSRecommender(cfg.als)
    want.fit(validation_split(data, tc.fraction, tc.max_sessions)[0])
    want.refit(data, tc.refit_iterations)
    assert np.array_equal(h.als.item_factors, want.item_factors)
    behind = HybridRecommender(vec, cfg)  # the final refit after tuning, as before
    behind._als_ahead = lambda rows: None  # type: ignore[method-assign,assignment,return-value]
    behind._als_early = lambda *a: None  # type: ignore[method-assign]
    behind._fit_components = _sequential_fit(behind)  # type: ignore[method-assign]
    behind.fit(data)
    assert _undated(behind.tuning) == _undated(h.tuning)
    assert np.array_equal(behind.als.item_factors, h.als.item_factors)


def _sequential_fit(h: HybridRecommender) -> Callable[..., None]:
    """``_fit_components`` with ALS fitted in this thread, after tuning (no refit ahead)."""
    fit_all = h._fit_components

    def fit(rows: Interactions, warm: bool = False, als: object = None) -> None:
        done: Future[ALSRecommender] = Future()
        done.set_result(h._fit_als(rows, warm))
        fit_all(rows, warm, done)

    return fit


@pytest.mark.parametrize("cells", [1, 40, 1 << 20])  # 1: one prefix per cumulative sum; 40: a few
def test_history_contexts_are_per_prefix_bincounts(cells: int) -> None:
    """Each prefix's sums after a long history, rows taken a few at a time or all at once, are
    one ``np.bincount`` per prefix, bit for bit (weights of all magnitudes, items repeated)."""
    from shelfwise.recommend.autotune import _history_contexts

    rng = np.random.default_rng(3)
    h_items, items = rng.integers(0, 30, 200), rng.integers(0, 40, 25)
    h_w = (rng.random(200) * 10.0 ** rng.integers(-6, 6, 200)).astype(np.float32)
    w = (rng.random(25) * 10.0 ** rng.integers(-6, 6, 25)).astype(np.float32)
    got = list(_history_contexts(h_items, h_w, items, w, cells))
    assert len(got) == len(items) - 1
    for t, (ctx_items, sums, new) in enumerate(got, 1):
        it, ws = np.concatenate([h_items, items[:t]]), np.concatenate([h_w, w[:t]])
        uniq, inv = np.unique(it, return_inverse=True)
        assert np.array_equal(ctx_items, uniq) and ctx_items.dtype == np.int64
        want = np.bincount(inv, weights=ws).astype(np.float32)
        assert sums.dtype == np.float32 and np.array_equal(sums.view(np.int32), want.view(np.int32))
        assert new == (items[t] not in uniq)
    assert any(new for *_, new in got) and not all(new for *_, new in got)


def test_no_early_als_fit_when_new_item_prefixes_are_too_few(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough prefixes but surely too few new-item ones (the store re-views): tuning keeps the
    defaults, so the early ALS fit on the earlier rows is not started (one ALS fit in all, not
    two), and the model is the one fitted without the early fit, bit for bit."""
    data = _store()
    train, held = validation_split(data, 0.2, 2000)
    sessions = len(np.unique(held.session))
    new_most = len(np.unique(held.session * held.n_items + held.item)) - sessions  # distinct items after the first
    cases = prefix_cases(train, held)
    assert sum(c.new for c in cases) <= new_most < len(cases) == len(held) - sessions  # re-views: a gap
    tc = TuneConfig(fraction=0.2, min_cases=new_most + 1)  # enough prefixes, too few new ones
    cfg = HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=tc)
    vec = np.random.default_rng(2).normal(size=(N_ITEMS, 8)).astype(np.float32)
    fitted: list[int] = []  # rows of each ALS fit from random factors (a warm refit is not one)
    als_fit = ALSRecommender.fit

    def counting(self: ALSRecommender, rows: Interactions) -> None:
        fitted.append(len(rows))
        als_fit(self, rows)

    monkeypatch.setattr(ALSRecommender, "fit", counting)
    h = HybridRecommender(vec, cfg)
    h.fit(data)
    assert h.tuning.status == "defaults" and h.tuning.new_cases < tc.min_cases <= h.tuning.repeat_cases
    assert fitted == [len(data)]  # the final fit only: no early fit on the earlier rows
    fitted.clear()
    behind = HybridRecommender(vec, cfg)
    behind._als_early = lambda *a: None  # type: ignore[method-assign]
    behind.fit(data)
    assert fitted == [len(data)] and _undated(behind.tuning) == _undated(h.tuning)
    assert np.array_equal(behind.als.item_factors, h.als.item_factors)
    assert np.array_equal(behind.als.user_factors, h.als.user_factors)
    fitted.clear()
    HybridRecommender(vec, HybridConfig(als=cfg.als, tune=TuneConfig(fraction=0.2, min_cases=10))).fit(data)
    assert fitted == [len(train)]  # enough of both: the early fit runs, as before (then a warm refit on all)
