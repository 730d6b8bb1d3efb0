"""The text-neighbour graph is the exact top-k with either backend (faiss or numpy)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pytest

from shelfwise.recommend.content import knn_graph


def _vectors(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    v[7] = v[3]  # an exact duplicate: self must still be the row that is dropped
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _exact(v: np.ndarray, k: int, floor: float) -> dict[int, dict[int, float]]:
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    out = {}
    for r in range(len(v)):
        top = np.argsort(-sims[r], kind="stable")[:k]
        out[r] = {int(c): float(sims[r, c]) for c in top if sims[r, c] >= floor}
    return out


def _as_dict(g: Any) -> dict[int, dict[int, float]]:
    g = g.tocsr()
    out = {}
    for r in range(g.shape[0]):
        a, b = g.indptr[r], g.indptr[r + 1]
        out[r] = dict(zip(g.indices[a:b].tolist(), g.data[a:b].tolist(), strict=True))
    return out


@pytest.mark.parametrize("backend", ["faiss", "numpy"])
@pytest.mark.parametrize(("k", "floor"), [(5, -1.0), (5, 0.2), (200, -1.0)])
def test_graph_is_the_exact_top_k(backend: str, k: int, floor: float, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "numpy":
        real = builtins.__import__

        def no_faiss(name: str, *a: Any, **kw: Any) -> Any:
            if name == "faiss":
                raise ImportError("faiss hidden")
            return real(name, *a, **kw)

        monkeypatch.setattr(builtins, "__import__", no_faiss)
    else:
        pytest.importorskip("faiss")
    v = _vectors(60)
    got = _as_dict(knn_graph(v, k, floor, chunk=16))
    want = _exact(v, min(k, len(v) - 1), floor)
    for r in range(len(v)):
        assert r not in got[r]
        assert sorted(got[r].values()) == pytest.approx(sorted(want[r].values()), abs=1e-5)
    assert got[3].get(7) == pytest.approx(1.0, abs=1e-5)  # the duplicate is a neighbour, self is not
