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


def test_approximate_graph_finds_most_exact_neighbours_with_exact_cosines() -> None:
    pytest.importorskip("faiss")
    from shelfwise.recommend.content import approx_knn_graph

    rng = np.random.default_rng(1)
    centres = rng.standard_normal((40, 16)).astype(np.float32)
    v = centres[rng.integers(0, 40, 3000)] + 0.3 * rng.standard_normal((3000, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    got = _as_dict(approx_knn_graph(v, 10, -1.0, probe_cells=4))
    want = _exact(v, 10, -1.0)
    recall = np.mean([len(set(got[r]) & set(want[r])) / 10 for r in range(len(v))])
    assert recall > 0.9
    for r in range(0, len(v), 97):
        assert r not in got[r] and len(got[r]) == 10
        for c, s in got[r].items():
            assert s == pytest.approx(float(v[r] @ v[c]), abs=1e-5)  # exact cosine of a found pair
    # every cell probed: the exact graph
    full = _as_dict(approx_knn_graph(v[:500], 5, 0.2, probe_cells=1000))
    exact = _exact(v[:500], 5, 0.2)
    assert all(sorted(full[r].values()) == pytest.approx(sorted(exact[r].values()), abs=1e-5) for r in range(500))


def test_content_recommender_switches_to_the_approximate_graph_above_exact_max_items() -> None:
    pytest.importorskip("faiss")
    from shelfwise.catalog import Catalog, Product
    from shelfwise.recommend.content import ContentConfig, ContentRecommender
    from shelfwise.recommend.interactions import Interactions

    v = _vectors(400)
    cat = Catalog([Product(id=str(i), title=f"item {i}") for i in range(400)])
    rec = ContentRecommender(v, ContentConfig(neighbours=5, exact_max_items=100, probe_cells=3))
    rec.fit(Interactions.empty(cat))
    assert rec.graph.shape == (400, 400) and 0 < rec.graph.nnz <= 400 * 5
    rows, _ = rec.neighbours(3)
    assert 7 in rows.tolist() and 3 not in rows.tolist()  # the duplicate shares its cell
    with pytest.raises(ValueError):
        ContentConfig(probe_cells=0)


def test_approximate_graph_without_faiss_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from shelfwise.errors import MissingExtraError
    from shelfwise.recommend.content import approx_knn_graph

    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` raises ImportError
    v = np.random.default_rng(0).standard_normal((600, 8)).astype(np.float32)
    with pytest.raises(MissingExtraError, match=r"shelfwise\[search\]"):
        approx_knn_graph(v, 5, 0.0, cells=4)


def test_without_self_keeps_faiss_order_and_drops_own_or_last() -> None:
    from shelfwise.recommend.content import _without_self

    ids = np.array([[4, 7, 2, 9], [1, 3, 5, 6]], dtype=np.int64)
    sims = np.array([[0.9, 0.5, 0.5, 0.1], [0.8, 0.8, 0.8, 0.8]], dtype=np.float32)
    top, s = _without_self(ids, sims, np.array([7, 0], dtype=np.int64))  # row 1: ties left its own id out
    np.testing.assert_array_equal(top, [[4, 2, 9], [1, 3, 5]])
    np.testing.assert_array_equal(s, sims[[[0, 0, 0], [1, 1, 1]], [[0, 2, 3], [0, 1, 2]]])
