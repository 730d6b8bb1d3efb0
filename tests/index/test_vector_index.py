from pathlib import Path

import numpy as np

from shelfwise.encode import l2_normalise
from shelfwise.index import VectorIndex, VectorIndexConfig


def _data(n: int = 500, d: int = 16) -> np.ndarray:
    return l2_normalise(np.random.default_rng(0).normal(size=(n, d)))


def test_flat_exact_and_mask() -> None:
    v = _data()
    idx = VectorIndex(VectorIndexConfig(kind="flat")).fit(v)
    r = idx.search(v[7], 5)
    assert r.ids[0] == 7 and abs(r.scores[0] - 1.0) < 1e-5
    mask = np.ones(len(v), dtype=bool)
    mask[7] = False
    assert 7 not in idx.search(v[7], 5, mask).ids


def test_hnsw_recall_filter_and_roundtrip(tmp_path: Path) -> None:
    v = _data()
    flat = VectorIndex(VectorIndexConfig(kind="flat")).fit(v)
    hnsw = VectorIndex(VectorIndexConfig(kind="hnsw")).fit(v)
    hits = sum(len(set(flat.search(v[i], 10).ids) & set(hnsw.search(v[i], 10).ids)) for i in range(50))
    assert hits / 500 > 0.9
    mask = np.zeros(len(v), dtype=bool)
    mask[::3] = True
    r = hnsw.search(v[1], 10, mask)
    assert len(r) == 10 and all(i % 3 == 0 for i in r.ids)
    hnsw.save(tmp_path / "v")
    again = VectorIndex.load(tmp_path / "v")
    assert again.kind == "hnsw" and again.search(v[3], 5).ids.tolist() == hnsw.search(v[3], 5).ids.tolist()
