"""``top_k``: exact top-k over the rows above a sampled threshold, checked against a full sort."""

import numpy as np
import numpy.typing as npt
import pytest

from shelfwise.index import topk
from shelfwise.index.topk import top_k
from shelfwise.results import Results


def reference(
    s: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_] | None, drop: npt.NDArray[np.int64] | None
) -> npt.NDArray[np.int64]:
    ok = s > 0
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
