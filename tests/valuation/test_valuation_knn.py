"""Exact KNN-Shapley, the KNN utility, TMC and LOO on tiny made-up data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from shelfwise.eval.metrics import precision_at_k
from shelfwise.valuation import (
    KNNUtility,
    TMCConfig,
    Values,
    detection_precision,
    flip_labels,
    knn_shapley,
    leave_one_out,
    prefix_utilities,
    tmc_shapley,
)


def _blobs(n: int, seed: int = 0, classes: int = 3, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[:classes] * 3.0
    y = rng.integers(0, classes, n)
    x = centres[y] + rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), y.astype(np.int64)


def _exact_shapley(u: KNNUtility) -> np.ndarray:
    n = u.n_players
    vals = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for r in range(n):
            for s in itertools.combinations(others, r):
                w = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
                base = np.array(s, dtype=np.int64)
                vals[i] += w * (u(np.append(base, i)) - u(base))
    return vals


def test_knn_shapley_matches_brute_force_shapley() -> None:
    xt, yt = _blobs(7, seed=1)
    xv, yv = _blobs(5, seed=2)
    u = KNNUtility(xt, yt, xv, yv, k=3)
    exact = _exact_shapley(u)
    fast = knn_shapley(xt, yt, xv, yv, k=3)
    np.testing.assert_allclose(fast.values, exact, atol=1e-9)
    # efficiency: values sum to U(all) - U(empty)
    assert fast.values.sum() == pytest.approx(u(np.arange(7)) - 0.0)


def test_knn_utility_is_precision_at_k_of_neighbours() -> None:
    xt, yt = _blobs(30, seed=3)
    xv, yv = _blobs(6, seed=4)
    u = KNNUtility(xt, yt, xv, yv, k=4)
    sub = np.arange(0, 30, 2)
    expected = []
    for v in range(6):
        sims = xv[v] @ xt[sub].T
        ranked = sub[np.argsort(-sims)].tolist()
        rel = {int(j): 1.0 for j in sub if yt[j] == yv[v]}
        expected.append(precision_at_k(ranked, rel, 4))
    assert u(sub) == pytest.approx(float(np.mean(expected)))


def test_scan_equals_repeated_calls_and_groups() -> None:
    xt, yt = _blobs(25, seed=5)
    xv, yv = _blobs(10, seed=6)
    u = KNNUtility(xt, yt, xv, yv, k=3)
    order = np.random.default_rng(0).permutation(25).astype(np.int64)
    slow = np.array([u(order[: i + 1]) for i in range(25)])
    np.testing.assert_allclose(prefix_utilities(u, order), slow)
    groups = np.arange(25) % 4
    ug = KNNUtility(xt, yt, xv, yv, k=3, groups=groups)
    assert ug.n_players == 4
    assert ug(np.array([0, 1, 2, 3])) == pytest.approx(u(np.arange(25)))


def test_flipped_labels_get_lowest_values() -> None:
    xt, yt = _blobs(200, seed=7)
    xv, yv = _blobs(80, seed=8)
    noisy, flipped = flip_labels(yt, 0.1, 3, seed=1)
    assert (noisy[flipped] != yt[flipped]).all() and (noisy != yt).sum() == len(flipped)
    vals = knn_shapley(xt, noisy, xv, yv, k=5)
    assert detection_precision(vals, flipped) >= 0.7


def test_tmc_agrees_with_exact_and_stops() -> None:
    xt, yt = _blobs(40, seed=9)
    xv, yv = _blobs(30, seed=10)
    exact = knn_shapley(xt, yt, xv, yv, k=3)
    u = KNNUtility(xt, yt, xv, yv, k=3)
    names = tuple(str(i) for i in range(40))
    est = tmc_shapley(u, names, config=TMCConfig(max_permutations=1000, truncation=0.0, rhat=1.02, seed=1))
    assert est.converged and est.info["max_rhat"] < 1.02
    assert np.corrcoef(est.values, exact.values)[0, 1] > 0.9
    capped = tmc_shapley(u, names, config=TMCConfig(max_permutations=8, min_permutations=8, rhat=1.0001))
    assert capped.info["permutations"] == 8


def test_tmc_progress_says_when_rhat_starts_and_when_the_cap_stops_it() -> None:
    xt, yt = _blobs(40, seed=9)
    xv, yv = _blobs(30, seed=10)
    u = KNNUtility(xt, yt, xv, yv, k=3)
    names = tuple(str(i) for i in range(40))
    lines: list[str] = []
    cfg = TMCConfig(max_permutations=12, min_permutations=8, batch=4, rhat=1.0001)
    capped = tmc_shapley(u, names, config=cfg, progress=lines.append)
    assert not capped.converged and not any("inf" in line for line in lines)
    assert "max R-hat not yet (first at 8 permutations)" in lines[0]
    assert lines[-1].startswith("  tmc-shapley: NOT converged: stopped at the permutation cap (12, --max-permutations)")
    lines.clear()
    done = tmc_shapley(u, names, config=TMCConfig(max_permutations=1000, rhat=1.5, seed=1), progress=lines.append)
    assert done.converged and not any("NOT converged" in line for line in lines)


def test_loo_on_groups_and_values_roundtrip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    xt, yt = _blobs(30, seed=11)
    xv, yv = _blobs(20, seed=12)
    groups = np.arange(30) % 3
    u = KNNUtility(xt, yt, xv, yv, k=3, groups=groups)
    loo = leave_one_out(u, ("a", "b", "c"))
    full = u(np.arange(3))
    assert loo.values[1] == pytest.approx(full - u(np.array([0, 2])))
    path = loo.save(tmp_path / "v")
    back = Values.load(path)
    assert back.names == ("a", "b", "c") and np.allclose(back.values, loo.values)
    assert back.info["utility_all"] == pytest.approx(full)
    agg = knn_shapley(xt, yt, xv, yv, k=3).aggregate(groups.astype(np.int64), ["a", "b", "c"])
    assert agg.sizes is not None and agg.sizes.tolist() == [10, 10, 10]
    with pytest.raises(ValueError, match="grain"):
        Values("x", "bogus", ("a",), np.zeros(1))


def test_knn_loo_closed_form_matches_generic_loo() -> None:
    from shelfwise.valuation.knn_shapley import knn_loo

    xt, yt = _blobs(40, seed=13)
    xv, yv = _blobs(25, seed=14)
    u = KNNUtility(xt, yt, xv, yv, k=3)
    generic = leave_one_out(u, tuple(str(i) for i in range(40)), "sample")
    np.testing.assert_allclose(knn_loo(xt, yt, xv, yv, k=3).values, generic.values, atol=1e-12)
