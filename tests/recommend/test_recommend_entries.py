"""Scores held as their finite entries (recommend/entries.py) give the tuning pool what the dense
matrices give, bit for bit: the row scales, the top candidates, the masked new-item rows, and the
components' entries (repeat purchases, session kNN, cold items) are their ``score_many``."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest

from raw_scores import tricky_rows
from session_logs import walking_sessions
from shelfwise.recommend import ALSConfig, Context, HybridConfig, HybridRecommender, tuning_pool
from shelfwise.recommend.autotune import Case, TuneConfig, prefix_cases, validation_split
from shelfwise.recommend.base import RowScale
from shelfwise.recommend.cold_items import scores_many
from shelfwise.recommend.entries import EntryScores, entry_sums, last_entries
from shelfwise.recommend.sequence import dense_sums_many
from shelfwise.recommend.tuning_pool import _caches, _candidates, _top_scaled, entry_top, masked_rows


def _bits(a: npt.NDArray[np.float32]) -> npt.NDArray[np.int32]:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.int32)


def _same(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(_bits(a), _bits(b))


def test_entries_hold_the_matrix_and_read_its_cells() -> None:
    rng = np.random.default_rng(0)
    for _ in range(40):
        b, n = int(rng.integers(1, 20)), int(rng.integers(1, 200))
        d = tricky_rows(rng, b, n)
        e = EntryScores.of_dense(d)
        assert np.isfinite(e.values).all() and (np.diff(e.keys) > 0).all()
        _same(e.dense(), d)
        cells = rng.integers(0, b * n, size=50)
        _same(e.at(cells), d.reshape(-1)[cells])
        rows = np.flatnonzero(rng.random(b) < 0.5)
        seen = rng.integers(0, max(len(rows) * n, 1), size=7) if len(rows) else np.zeros(0, np.int64)
        _same(e.masked_rows(rows, seen).dense(), masked_rows(d, rows, seen))


def test_row_scale_of_entries_is_the_row_scale_of_the_matrix() -> None:
    rng = np.random.default_rng(1)
    for _ in range(60):
        b, n = int(rng.integers(1, 30)), int(rng.integers(1, 300))
        d = tricky_rows(rng, b, n)
        e = EntryScores.of_dense(d)
        got, want = RowScale.of_entries(e.rows, e.values, b), RowScale(d, d.max(axis=1))
        for f in ("div", "sub", "spread", "zero"):
            np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)
    with pytest.raises(ValueError, match="finite or -inf"):
        RowScale.of_entries(np.array([0]), np.array([np.nan], dtype=np.float32), 1)


@pytest.mark.parametrize("n_cand", [1, 3, 50])
def test_top_of_entries_is_the_top_of_the_matrix(n_cand: int) -> None:
    rng = np.random.default_rng(n_cand)
    for _ in range(60):
        b, n = int(rng.integers(1, 30)), int(rng.integers(1, 400))
        d = tricky_rows(rng, b, n)
        got, scale = entry_top(EntryScores.of_dense(d), n_cand)
        want, _ = _top_scaled(d, n_cand)
        np.testing.assert_array_equal(np.sort(got), want)
        assert len(scale.div) == b


def test_candidates_from_entries_are_those_from_matrices() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        b, n, n_cand = int(rng.integers(2, 20)), int(rng.integers(20, 300)), int(rng.integers(1, 30))
        raw = [tricky_rows(rng, b, n) for _ in range(3)]
        cases = [Case(Context.of([0]), int(t), 0) for t in rng.integers(0, n, size=b)]
        mixed = [raw[0], EntryScores.of_dense(raw[1]), EntryScores.of_dense(raw[2])]
        for got, want in zip(_candidates(mixed, cases, n_cand), _candidates(raw, cases, n_cand), strict=True):
            for g, w in zip(got, want, strict=True) if isinstance(got, list) else [(got, want)]:
                np.testing.assert_array_equal(g, w)


def test_entry_sums_and_last_entries_are_their_matrices() -> None:
    rng = np.random.default_rng(2)
    b, n, m = 7, 40, 300
    rows, items = np.sort(rng.integers(0, b, m)), rng.integers(0, n, m)
    values = rng.normal(size=m) * 10.0 ** rng.integers(-8, 8, m)
    _same(entry_sums(rows, items, values, b, n).dense(), dense_sums_many(rows, items, values, b, n))
    written = np.full((b, n), -np.inf, dtype=np.float32)
    vals = rng.choice(np.array([1.0, 2.0, -np.inf], dtype=np.float32), m)
    for r, i, v in zip(rows.tolist(), items.tolist(), vals.tolist(), strict=True):
        written[r, i] = v  # in entry order: a cell written twice keeps its last value
    _same(last_entries(rows, items, vals, b, n).dense(), written)


def test_components_entries_are_their_score_many_and_the_pool_is_the_dense_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = walking_sessions(np.random.default_rng(7), 150, 400, 60, 9, move=0.8)
    vec = np.random.default_rng(2).normal(size=(150, 8)).astype(np.float32)
    cfg = HybridConfig(
        als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=TuneConfig(enabled=False, fraction=0.2)
    )
    rec = HybridRecommender(vec, cfg)
    train, held = validation_split(data, 0.2, 1000)
    rec.fit(train)
    rec.counts[::7] = 0.0  # some cold items
    cases = prefix_cases(train, held)
    contexts = [*[c.ctx for c in cases][:150], Context.empty(), Context.of([3, 3, 9])]
    names = [n for n, _ in cfg.weights]
    got = scores_many(rec.components, contexts, names, entries=True)
    assert {n for n, v in got.items() if isinstance(v, EntryScores)} == {"repeat", "sknn", "cold"}
    for name in names:
        v = got[name]
        _same(v.dense() if isinstance(v, EntryScores) else v, rec.components[name].score_many(contexts))
    every, new = _caches(rec, cases, names, 5, cells=150 * 40, unseen=True)
    dense = scores_many  # the pool from the dense matrices alone: no component gives entries
    monkeypatch.setattr(tuning_pool, "scores_many", lambda comps, ctxs, nm, entries=False: dense(comps, ctxs, nm))
    want_every, want_new = _caches(rec, cases, names, 5, cells=150 * 40, unseen=True)
    assert want_new is not None and new is not None
    for a, b in ((every, want_every), (new, want_new)):
        for f in ("scores", "log_counts", "seen", "start", "truth", "owner", "item"):
            x, y = getattr(a, f), getattr(b, f)
            assert x.dtype == y.dtype and np.array_equal(x.view(np.uint8), y.view(np.uint8)), f


def test_next_basket_pools_from_entries_are_those_from_matrices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The between-sessions pools (recommend/between.py) too, their penalised tops included."""
    from shelfwise.recommend import between

    data = walking_sessions(np.random.default_rng(3), 150, 600, 40, 9, move=0.8)  # shoppers come back
    cfg = HybridConfig(
        als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=TuneConfig(enabled=False, fraction=0.2)
    )
    rec = HybridRecommender(np.random.default_rng(2).normal(size=(150, 8)).astype(np.float32), cfg)
    train, held = validation_split(data, 0.2, 1000)
    rec.fit(train)
    rec.counts[::7] = 0.0  # some cold items
    cases = between.basket_cases(train, held)
    assert len(cases) > 20 and any(len(c.new_truth) for c in cases)
    names = [n for n, _ in cfg.weights]
    tune = dataclasses.replace(cfg.tune, candidates=3)  # tops that leave most items out
    got = between.basket_pools(rec, cases, names, tune, cells=150 * 30)
    matrices = tuning_pool.raw_scores
    monkeypatch.setattr(
        between,
        "raw_scores",
        lambda h, ctxs, nm: [e.dense() if isinstance(e, EntryScores) else e for e in matrices(h, ctxs, nm)],
    )
    want = between.basket_pools(rec, cases, names, tune, cells=150 * 30)
    for a, b in zip(got, want, strict=True):
        for f in ("scores", "log_counts", "owner", "slot", "relevant", "ideal"):
            x, y = getattr(a, f), getattr(b, f)
            assert x.dtype == y.dtype and np.array_equal(x.view(np.uint8), y.view(np.uint8)), f
        assert a.width == b.width


def test_penalised_tops_of_entries_are_those_of_matrices() -> None:
    from shelfwise.recommend.between import _entries

    rng = np.random.default_rng(9)
    for _ in range(40):
        b, n, n_cand = int(rng.integers(1, 12)), int(rng.integers(5, 200)), int(rng.integers(1, 8))
        raw = [tricky_rows(rng, b, n) for _ in range(2)]  # negative rows too: scaled before the damping
        damping = [rng.random((1, n)).astype(np.float32) for _ in range(2)]
        truths = [rng.integers(0, n, size=int(rng.integers(0, 4))) for _ in range(b)]
        seen = rng.integers(0, b * n, size=5) if rng.random() < 0.5 else None
        got = _entries([raw[0], EntryScores.of_dense(raw[1])], truths, n_cand, seen, damping)
        want = _entries(raw, truths, n_cand, seen, damping)
        for g, w in zip(got, want, strict=True):
            for x, y in zip(g, w, strict=True) if isinstance(g, list) else [(g, w)]:
                np.testing.assert_array_equal(x, y)
