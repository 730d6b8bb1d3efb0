"""Transparent huge pages under the stored vectors and the HNSW graph: advice only, so the same bytes
and the same search results with or without them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from shelfwise.index import VectorIndex, VectorIndexConfig
from shelfwise.index import vector as vector_mod

HUGE = 2 << 20


def test_small_arrays_and_the_switch_off_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    assert vector_mod.advise_huge_pages(np.zeros(1000, dtype=np.float32)) == 0  # under one huge page
    monkeypatch.setattr(vector_mod, "HUGE_PAGES", False)
    assert vector_mod.advise_huge_pages(np.ones(3 * HUGE, dtype=np.uint8)) == 0


def test_advice_keeps_the_bytes_and_covers_whole_huge_pages_only() -> None:
    a = np.random.default_rng(0).integers(0, 255, 5 * HUGE, dtype=np.uint8)
    before = a.copy()
    done = vector_mod.advise_huge_pages(a)
    assert done % HUGE == 0 and done <= a.nbytes
    if sys.platform.startswith("linux") and Path("/sys/kernel/mm/transparent_hugepage/enabled").exists():
        mode = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
        if "[never]" not in mode:
            assert done >= 3 * HUGE or done == 0  # (0: a kernel before MADV_COLLAPSE, or no free huge page)
    np.testing.assert_array_equal(a, before)


@pytest.mark.parametrize("storage", ["fp32", "sq8"])
def test_hnsw_answers_the_same_on_huge_pages(storage: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3000, 256)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cfg = VectorIndexConfig(kind="hnsw", storage=storage, hnsw_m=16, ef_construction=40)
    huge = VectorIndex(cfg).fit(x)
    huge.save(tmp_path / "v")
    monkeypatch.setattr(vector_mod, "HUGE_PAGES", False)
    plain = VectorIndex.load(tmp_path / "v", mmap=False)
    for q in x[:40]:
        a, b = huge.search(q, 20), plain.search(q, 20)
        assert a.ids.tolist() == b.ids.tolist()
        np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(huge.rows(np.arange(0, 3000, 7)), plain.rows(np.arange(0, 3000, 7)))
