"""``cooccurrence.dense_product`` is ``(a @ b).toarray()`` bit for bit: the same scipy kernel
writing into dense-sized buffers, and the plain product where it does not apply."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from shelfwise.recommend.cooccurrence import dense_product


def _csr(rng: np.random.Generator, m: int, n: int, density: float, dtype: type = np.float32) -> sp.csr_matrix:
    a = sp.random(m, n, density=density, format="csr", dtype=np.float64, random_state=rng)
    a.data = (a.data * 10 - 3).astype(dtype)  # both signs, products that round
    return sp.csr_matrix(a, dtype=dtype)


@pytest.mark.parametrize("density", [0.0, 0.02, 0.3, 1.0])
def test_dense_product_is_the_sparse_product_densified(density: float) -> None:
    rng = np.random.default_rng(int(density * 100))
    for _ in range(10):
        m, k, n = (int(v) for v in rng.integers(1, 60, size=3))
        a, b = _csr(rng, m, k, density), _csr(rng, k, n, 0.2)
        want = np.asarray((a @ b).toarray(), dtype=np.float32)
        got = dense_product(a, b)
        assert got.dtype == np.float32 and got.shape == (m, n)
        np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def test_dense_product_sums_duplicate_and_unsorted_entries_as_the_product_does() -> None:
    rng = np.random.default_rng(3)
    rows, cols = rng.integers(0, 5, size=40), rng.integers(0, 30, size=40)
    vals = rng.normal(size=40).astype(np.float32)
    a = sp.csr_matrix((vals, cols, np.searchsorted(np.sort(rows), np.arange(6))), shape=(5, 30))  # unsorted, repeated
    assert not a.has_canonical_format
    b = _csr(rng, 30, 25, 0.3)
    want = np.asarray((a @ b).toarray(), dtype=np.float32)
    np.testing.assert_array_equal(dense_product(a, b).view(np.int32), want.view(np.int32))


def test_dense_product_of_other_dtypes_is_the_plain_product() -> None:
    rng = np.random.default_rng(4)
    a, b = _csr(rng, 7, 9, 0.5, np.float64), _csr(rng, 9, 11, 0.5, np.float64)
    np.testing.assert_array_equal(dense_product(a, b), np.asarray((a @ b).toarray(), dtype=np.float32))
