"""Contract for :class:`shelfwise.encode.base.Encoder`: shapes, dtype, normalisation, determinism."""

from __future__ import annotations

import numpy as np

from shelfwise.encode import Encoder

TEXTS = ["black trousers", "black slim trousers", "red summer dress", "yoga mat"]


class EncoderContract:
    """Subclasses implement :meth:`make` (fixtures such as ``tmp_path`` are passed by keyword)."""

    def make(self, tmp_path: object) -> Encoder:
        raise NotImplementedError

    def test_is_an_encoder(self, tmp_path: object) -> None:
        enc = self.make(tmp_path)
        assert isinstance(enc, Encoder)
        assert isinstance(enc.name, str) and enc.name
        assert isinstance(enc.dim, int) and enc.dim > 0

    def test_shape_dtype_and_unit_rows(self, tmp_path: object) -> None:
        enc = self.make(tmp_path)
        v = enc.encode(TEXTS)
        assert v.shape == (len(TEXTS), enc.dim) and v.dtype == np.float32
        assert np.isfinite(v).all()
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)

    def test_empty_batch(self, tmp_path: object) -> None:
        enc = self.make(tmp_path)
        v = enc.encode([])
        assert v.shape == (0, enc.dim) and v.dtype == np.float32

    def test_deterministic_and_batch_size_invariant(self, tmp_path: object) -> None:
        enc = self.make(tmp_path)
        a = enc.encode(TEXTS)
        np.testing.assert_allclose(enc.encode(TEXTS, batch_size=1), a, atol=1e-5)
        np.testing.assert_allclose(self.make(tmp_path).encode(TEXTS[::-1])[::-1], a, atol=1e-5)

    def test_near_duplicates_closer_than_unrelated(self, tmp_path: object) -> None:
        v = self.make(tmp_path).encode(TEXTS)
        assert v[0] @ v[1] > v[0] @ v[3]
