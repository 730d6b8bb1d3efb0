"""VectorIndex.load maps the saved vectors (numpy .npy or faiss codes + HNSW graph) read-only from
the file by default: same answers as an index read into memory, and nothing can write through it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.index.vector import VectorIndex, VectorIndexConfig


@pytest.mark.parametrize(("kind", "storage"), [("flat", "fp32"), ("hnsw", "fp32"), ("flat", "sq8"), ("hnsw", "sq8")])
def test_mapped_index_answers_as_the_loaded_one(tmp_path: Path, kind: str, storage: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    VectorIndex(VectorIndexConfig(kind=kind, storage=storage)).fit(x).save(tmp_path)
    mapped, read = VectorIndex.load(tmp_path), VectorIndex.load(tmp_path, mmap=False)
    assert (mapped.kind, mapped.storage, len(mapped)) == (kind, storage, 600)
    mask = np.zeros(600, dtype=bool)
    mask[::3] = True
    for q in x[:5]:
        a, b = mapped.search(q, 10), read.search(q, 10)
        assert a.ids.tolist() == b.ids.tolist() and np.allclose(a.scores, b.scores)
        assert mapped.search(q, 5, mask).ids.tolist() == read.search(q, 5, mask).ids.tolist()
    assert np.array_equal(mapped.rows([3, 1]), read.rows([3, 1]))
    if kind == "flat" and storage == "fp32":
        assert type(mapped.vectors) is np.ndarray and not mapped.vectors.flags.writeable
        with pytest.raises(ValueError):
            mapped.vectors[0, 0] = 1.0


def test_saving_over_a_mapped_index_leaves_it_valid(tmp_path: Path) -> None:
    x = np.eye(8, dtype=np.float32)
    VectorIndex(VectorIndexConfig(kind="flat")).fit(x).save(tmp_path)
    mapped = VectorIndex.load(tmp_path)
    VectorIndex(VectorIndexConfig(kind="flat")).fit(-x).save(tmp_path)  # a new file, not rewritten in place
    assert mapped.search(x[2], 1).ids.tolist() == [2] and VectorIndex.load(tmp_path).rows([2])[0, 2] == -1.0
