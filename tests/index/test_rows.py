"""Unions of catalog rows (index.rows): ``np.union1d``'s answer (sorted, unique, int64), which is
what the two copies they replace gave (the search's candidate union, ``retrieve.hybrid._union``, and
the total's merge, ``retrieve.facets.union_sorted``, before session 19): equal to ``np.union1d`` is
equal to them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from shelfwise.index.rows import MASK_SHARE, union_rows, union_sorted

Rows = npt.NDArray[np.int64]


def _cases(rng: np.random.Generator, ordered: bool) -> list[tuple[Rows, Rows]]:
    empty = np.zeros(0, dtype=np.int64)
    cases = [(empty, empty), (np.array([3], dtype=np.int64), empty), (empty, np.array([5, 2], dtype=np.int64))]
    for _ in range(300):
        a, b = (rng.choice(500, int(rng.integers(0, 120)), replace=False).astype(np.int64) for _ in range(2))
        cases.append((a, b))
    return [(np.sort(a), np.sort(b)) for a, b in cases] if ordered else cases


def test_the_candidate_union_of_rows_in_any_order_is_union1d() -> None:
    for a, b in _cases(np.random.default_rng(0), ordered=False):
        got = union_rows(a, b)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, np.union1d(a, b))


def test_the_merge_of_sorted_runs_is_union1d() -> None:
    for a, b in _cases(np.random.default_rng(1), ordered=True):
        got = union_rows(a, b, runs=True)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, np.union1d(a, b))


@pytest.mark.parametrize(("na", "nb"), [(0, 5), (5, 0), (40, 3), (3, 40), (300, 250), (1000, 1000)])
def test_union_of_two_sorted_row_lists_by_merge_or_by_flags(na: int, nb: int) -> None:
    n = 2000
    rng = np.random.default_rng(na * 7 + nb)
    a, b = (np.sort(rng.choice(n, size, replace=False)).astype(np.int64) for size in (na, nb))
    got = union_sorted(a, b, n)
    assert got.tolist() == np.union1d(a, b).tolist()
    flagged = min(na, nb) * MASK_SHARE > n  # (300, 250) and (1000, 1000) take the mask, the rest merge
    assert flagged == (min(na, nb) >= 250)
