"""``top_k``: exact top-k over the rows above a sampled threshold, checked against a full sort."""

import numpy as np
import numpy.typing as npt
import pytest

from shelfwise.index import topk
from shelfwise.index.topk import top_k
from shelfwise.results import Results


def reference(
    s: npt.NDArray[np.float32],
    k: int,
    mask: npt.NDArray[np.bool_] | None,
    drop: npt.NDArray[np.int64] | None,
    floor: float = 0.0,
) -> npt.NDArray[np.int64]:
    ok = s > floor
    if mask is not None:
        ok &= mask
    if drop is not None:
        ok[drop] = False
    rows = np.flatnonzero(ok)
    return rows[np.lexsort((rows, -s[rows]))][:k]  # score descending, then row


def scores(rng: np.random.Generator, n: int, positive: float, levels: int) -> npt.NDArray[np.float32]:
    """Few distinct values (many ties, as near-duplicate products give) on a share of the rows."""
    s = np.zeros(n, dtype=np.float32)
    hit = rng.random(n) < positive
    s[hit] = rng.integers(1, levels + 1, int(hit.sum())).astype(np.float32) / levels
    return s


@pytest.mark.parametrize("n", [1, 7, 5_000, 300_000])
@pytest.mark.parametrize("positive", [0.0, 0.0003, 0.05, 1.0])
def test_matches_a_full_sort_with_ties_masks_and_dropped_rows(n: int, positive: float) -> None:
    rng = np.random.default_rng(n + int(positive * 1e4))
    s = scores(rng, n, positive, levels=20)
    masks = [None, rng.random(n) < 0.01, rng.random(n) < 0.5]
    drops = [None, np.unique(rng.integers(0, n, 40)).astype(np.int64)]
    for k in (1, 10, 100, n + 5):
        for mask in masks:
            for drop in drops:
                got = top_k(s, k, mask, drop)
                want = reference(s, k, mask, drop)
                np.testing.assert_array_equal(got.ids, want)
                np.testing.assert_array_equal(got.scores, s[want])
                ok = (s > 0) & (mask if mask is not None else True)
                if drop is not None:
                    ok[drop] = False
                # the same scores, best first, as the full-catalog top-k it replaces
                np.testing.assert_array_equal(got.scores, Results.from_scores(s, k, ok).scores)


def test_threshold_is_a_lower_bound_of_the_kth_best_allowed_score() -> None:
    rng = np.random.default_rng(3)
    s = rng.random(200_000).astype(np.float32)
    mask = rng.random(200_000) < 0.2
    thr = topk._threshold(s, 50, mask, None)
    assert 0 < thr <= np.sort(s[mask])[-50]


def test_negative_nan_and_zero_scores_are_never_returned() -> None:
    s = np.array([0.0, -1.0, np.nan, 0.5, 0.5, 2.0], dtype=np.float32)
    r = top_k(s, 10)
    assert r.ids.tolist() == [5, 3, 4] and r.scores.dtype == np.float32
    assert len(top_k(s, 0)) == 0 and len(top_k(np.zeros(0, np.float32), 3)) == 0


def signed(rng: np.random.Generator, n: int, levels: int, shift: float) -> npt.NDArray[np.float32]:
    """Cosine-like scores in [-1, 1] moved by ``shift`` (-2: every score negative), with ties."""
    return (rng.integers(-levels, levels + 1, n).astype(np.float32) / levels + shift).astype(np.float32)


@pytest.mark.parametrize("n", [1, 7, 5_000, 300_000])
@pytest.mark.parametrize("shift", [-2.0, 0.0, 0.5])
def test_any_sign_matches_a_full_sort_with_negative_scores(n: int, shift: float) -> None:
    rng = np.random.default_rng(n + int(10 * shift) + 100)
    s = signed(rng, n, levels=50, shift=shift)
    masks = [None, rng.random(n) < 0.01, rng.random(n) < 0.5]
    drops = [None, np.unique(rng.integers(0, n, 40)).astype(np.int64)]
    for k in (1, 10, 100, n + 5):
        for mask in masks:
            for drop in drops:
                got = top_k(s, k, mask, drop, positive=False)
                want = reference(s, k, mask, drop, floor=-np.inf)
                np.testing.assert_array_equal(got.ids, want)
                np.testing.assert_array_equal(got.scores, s[want])
                if mask is None and drop is None:
                    assert len(got) == min(k, n)  # every row is eligible, negative ones too


def test_any_sign_drops_only_nan_and_minus_infinity() -> None:
    s = np.array([-0.25, np.nan, -np.inf, -0.5, 0.0, -0.25], dtype=np.float32)
    r = top_k(s, 10, positive=False)
    assert r.ids.tolist() == [4, 0, 5, 3]
    assert r.scores.tolist() == [0.0, -0.25, -0.25, -0.5]
    assert top_k(s, 2, positive=False).ids.tolist() == [4, 0]
    assert len(top_k(s, 10)) == 0  # the default keeps positive scores only


def test_any_sign_threshold_is_a_lower_bound_of_the_kth_best_negative_score() -> None:
    rng = np.random.default_rng(4)
    s = (-rng.random(200_000)).astype(np.float32)
    thr = topk._threshold(s, 50, None, None, -np.inf)
    assert thr is not None and thr <= np.sort(s)[-50] < 0
    assert topk._threshold(s, 50, None, None) is None  # no positive score in the sample


def test_any_sign_is_the_argpartition_top_k_it_can_replace() -> None:
    """Distinct inner products (ties aside): the rows and order of argpartition + stable argsort,
    as ``ItemVectors.nearest`` computes them."""
    rng = np.random.default_rng(5)
    items = rng.standard_normal((20_000, 16)).astype(np.float32)
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    s = items @ items[7]
    s[7] = -1.0  # a query item scored below every other row
    for k in (1, 25, 20_000):
        top = np.argpartition(-s, k - 1)[:k] if k < len(s) else np.arange(len(s))
        top = top[np.argsort(-s[top], kind="stable")]
        got = top_k(s, k, positive=False)
        np.testing.assert_array_equal(got.ids, top)
        np.testing.assert_array_equal(got.scores, s[top])
