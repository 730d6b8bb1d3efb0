"""Min-max scaling: one implementation for weighted fusion and convex fusion's dense half. Convex
fusion is bit for bit what it computed on its own before; weighted fusion too (a float64 span of two
float32s rounds to the float32 span, since 53 >= 2 x 24 + 2 bits make double rounding innocuous),
except that "all equal" is now decided on the float32 span: the two differ only for a span within
one float32 ulp (~1e-19) of the 1e-12 cut-off."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shelfwise.retrieve.fusion import minmax
from shelfwise.retrieve.hybrid import _convex_mix


def _cases() -> list[npt.NDArray[np.float32]]:
    rng = np.random.default_rng(7)
    out = [np.zeros(3, dtype=np.float32), np.full(4, 0.3, dtype=np.float32), np.array([0.5], dtype=np.float32)]
    for i in range(3000):
        n = int(rng.integers(1, 120))
        c = rng.uniform(-1, 1, n) if i % 3 == 0 else rng.normal(0.5, 0.1, n)
        c = c.astype(np.float32)
        if i % 3 == 2:  # wide exponent gaps: a near-zero cosine beside large ones, tiny spans
            c[0] = np.float32(rng.uniform(-1e-9, 1e-9))
            c *= np.float32(10.0 ** -int(rng.integers(0, 12)))
        out.append(c)
    return out


def _bits(a: npt.NDArray[np.float32]) -> npt.NDArray[np.uint32]:
    assert a.dtype == np.float32
    return a.view(np.uint32)


def test_minmax_of_float32_is_what_the_float64_span_gave() -> None:
    for c in _cases():
        lo, hi = float(c.min()), float(c.max())  # minmax as first written
        want = np.ones_like(c) if hi - lo < 1e-12 else ((c - lo) / (hi - lo)).astype(np.float32)
        np.testing.assert_array_equal(_bits(minmax(c)), _bits(want))
    assert minmax(np.zeros(0, dtype=np.float32)).dtype == np.float32
    np.testing.assert_array_equal(minmax(np.array([1.0, 3.0, 2.0])), np.array([0.0, 1.0, 0.5], dtype=np.float32))


def test_convex_mix_is_its_own_float32_formula_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    for c in _cases():
        b = rng.uniform(0, 1, len(c)).astype(np.float32)
        for w in (0.0, 0.3, 0.55, 1.0):
            lo = c.min()  # _convex_mix as first written, before it used minmax
            span = float(c.max() - lo)
            d = (c - lo) / span if span > 1e-12 else np.ones_like(c)
            want = np.asarray((1 - w) * b + w * d, dtype=np.float32)
            np.testing.assert_array_equal(_bits(_convex_mix(b, c, w)), _bits(want))
