"""int8 item vectors (fast) and the dynamic-int8 encoder path (slow, real MiniLM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.encode import l2_normalise
from shelfwise.index.quantized import Int8VectorIndex
from shelfwise.index.vector import VectorIndex


def test_int8_vectors_are_4x_smaller_and_rank_like_fp32(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    v = l2_normalise(rng.normal(size=(2000, 64)))
    q = l2_normalise(rng.normal(size=(20, 64)))
    fp = VectorIndex().fit(v)
    iq = Int8VectorIndex(chunk=300).fit(v)
    assert iq.codes.dtype == np.int8 and iq.nbytes < v.nbytes / 3.5
    overlap = [len(set(fp.search(x, 10).ids.tolist()) & set(iq.search(x, 10).ids.tolist())) / 10 for x in q]
    assert np.mean(overlap) >= 0.9
    assert np.abs(iq.dequantised() - v).max() <= iq.scale.max() / 2 + 1e-6
    mask = np.zeros(2000, dtype=bool)
    mask[:5] = True
    assert set(iq.search(q[0], 10, mask).ids.tolist()) <= set(range(5))
    iq.save(tmp_path / "i8")
    back = Int8VectorIndex.load(tmp_path / "i8")
    np.testing.assert_array_equal(back.codes, iq.codes)
    with pytest.raises(ValueError):
        Int8VectorIndex().fit(np.zeros(3, dtype=np.float32))


@pytest.mark.slow
def test_int8_encoder_stays_close_to_fp32() -> None:
    pytest.importorskip("sentence_transformers")
    import torch

    from shelfwise.encode import SentenceTransformerEncoder
    from shelfwise.encode.quantized import Int8Encoder

    torch.set_num_threads(1)
    base = SentenceTransformerEncoder()
    q8 = Int8Encoder(base)
    texts = ["black slim trousers", "red summer dress", "running shoes"]
    a, b = base.encode(texts), q8.encode(texts)
    assert q8.name == f"{base.name}+int8" and b.shape == a.shape
    assert np.all((a * b).sum(1) > 0.9)
    assert np.array_equal(np.argmax(a @ a.T, 1), np.argmax(b @ a.T, 1))
