"""The tuning pool's candidates from raw component scores (``RowScale``, ``_top_scaled``,
``_candidates``) are the ones found on the scaled (``minmax_rows``) matrices, bit for bit: the
same scaled values, the same top entries with ties, even where scaling rounds distinct raw
scores to one value."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from raw_scores import tricky_rows
from shelfwise.recommend import Context
from shelfwise.recommend.autotune import Case
from shelfwise.recommend.base import RowScale, minmax, minmax_rows
from shelfwise.recommend.tuning_pool import _candidates, _top_scaled, top_positive

F32 = npt.NDArray[np.float32]


def _bits(a: F32) -> npt.NDArray[np.int32]:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.int32)


def test_row_scale_values_are_minmax_rows_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    for _ in range(60):
        b, n = int(rng.integers(1, 40)), int(rng.integers(1, 300))
        d = tricky_rows(rng, b, n)
        scale = RowScale(d, d.max(axis=1))
        got = scale.values(np.repeat(np.arange(b), n), d.reshape(-1)).reshape(b, n)
        np.testing.assert_array_equal(_bits(got), _bits(minmax_rows(d)))  # one RowScale, entries or rows
        np.testing.assert_array_equal(got, np.stack([minmax(r) for r in d]))  # and minmax row by row
    with pytest.raises(ValueError, match="finite or -inf"):
        bad = np.array([[1.0, np.nan]], dtype=np.float32)
        RowScale(bad, bad.max(axis=1))


@pytest.mark.parametrize("n_cand", [1, 3, 50])
def test_top_of_raw_scores_is_the_top_of_the_scaled_ones(n_cand: int) -> None:
    rng = np.random.default_rng(n_cand)
    for _ in range(80):
        b, n = int(rng.integers(1, 30)), int(rng.integers(1, 400))  # n < n_cand too: no group bound
        d = tricky_rows(rng, b, n)
        got, scale = _top_scaled(d, n_cand)
        np.testing.assert_array_equal(got, top_positive(minmax_rows(d), n_cand))
        assert len(scale.div) == b


def test_candidates_and_scores_are_those_of_the_scaled_matrices() -> None:
    """``_candidates`` against the dense path it replaces: each component scaled, its top
    positives picked (one row's for a component the same for every prefix), the truth added, the
    scaled scores gathered."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        b, n, n_cand = int(rng.integers(2, 20)), int(rng.integers(20, 300)), int(rng.integers(1, 30))
        raw = [tricky_rows(rng, b, n) for _ in range(3)]
        raw.append(np.repeat(tricky_rows(rng, 1, n), b, axis=0))  # popularity: every row the same
        cases = [Case(Context.of([0]), int(t), 0) for t in rng.integers(0, n, size=b)]
        prefix, item, where, scores = _candidates(raw, cases, n_cand)
        dense = [minmax_rows(d) for d in raw]
        pick = np.zeros((b, n), dtype=bool)
        for d in dense:
            pick.reshape(-1)[top_positive(d, n_cand)] = True
        pick[np.arange(b), [c.truth for c in cases]] = True
        want_p, want_i = np.nonzero(pick)
        np.testing.assert_array_equal(prefix, want_p)
        np.testing.assert_array_equal(item, want_i)
        for s, d in zip(scores, dense, strict=True):
            np.testing.assert_array_equal(_bits(s), _bits(d[want_p, want_i]))
        first = np.searchsorted(want_p, np.arange(b))
        assert (item[first + where] == [c.truth for c in cases]).all()
