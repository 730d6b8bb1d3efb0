from pathlib import Path

import numpy as np
import pytest

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


def _exact(v: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[int]:
    s = v @ q
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    return [int(i) for i in np.argsort(-s, kind="stable")[:k] if np.isfinite(s[i])]


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
@pytest.mark.parametrize("storage", ["fp32", "fp16", "sq8"])
def test_storage_roundtrip_one_copy(tmp_path: Path, kind: str, storage: str) -> None:
    v = _data(800, 32)
    idx = VectorIndex(VectorIndexConfig(kind=kind, storage=storage)).fit(v)
    assert idx.kind == kind and idx.storage == storage and len(idx) == 800 and idx.dim == 32
    tol = {"fp32": 1e-6, "fp16": 2e-3, "sq8": 3e-2}[storage]
    rows = idx.rows(np.array([0, 5, 799]))
    assert rows.dtype == np.float32 and np.abs(rows - v[[0, 5, 799]]).max() < tol
    assert np.abs(idx.scores(v[3]) - v @ v[3]).max() < tol * 4
    if kind != "flat" or storage != "fp32":  # the vectors live once, inside faiss
        assert idx._vecs.size == 0
    if kind == "ivf":
        assert idx._faiss.nlist == 128  # 4 * sqrt(800) = 113 -> 128
    idx.save(tmp_path / "v")
    again = VectorIndex.load(tmp_path / "v")
    assert (again.kind, again.storage, len(again), again.dim) == (kind, storage, 800, 32)
    assert np.array_equal(again.rows(np.arange(800)), idx.rows(np.arange(800)))
    for i in (3, 50, 400):
        assert again.search(v[i], 10).ids.tolist() == idx.search(v[i], 10).ids.tolist()
    assert np.abs(again.vectors - v).max() < tol


def test_auto_storage_rule() -> None:
    cfg = VectorIndexConfig(hnsw_min_items=100, compact_min_items=300)
    assert (VectorIndex(cfg).fit(_data(50)).kind, VectorIndex(cfg).fit(_data(50)).storage) == ("flat", "fp32")
    mid = VectorIndex(cfg).fit(_data(200))
    assert (mid.kind, mid.storage) == ("hnsw", "fp32")
    big = VectorIndex(cfg).fit(_data(400))
    assert (big.kind, big.storage) == ("hnsw", "sq8")
    assert big.nbytes == 400 * 16
    huge = VectorIndex(VectorIndexConfig(hnsw_min_items=100, compact_min_items=300, ivf_min_items=350)).fit(_data(400))
    assert (huge.kind, huge.storage) == ("ivf", "sq8")


@pytest.mark.parametrize(("kind", "storage"), [("hnsw", "fp32"), ("hnsw", "sq8"), ("ivf", "sq8"), ("flat", "fp16")])
@pytest.mark.parametrize("exact_filter_max", [0, 10_000])  # 0: every filter goes through the faiss bitmap
def test_filtered_search_matches_exact(kind: str, storage: str, exact_filter_max: int) -> None:
    v = _data(2000, 24)
    rng = np.random.default_rng(1)
    cfg = VectorIndexConfig(kind=kind, storage=storage, exact_filter_max=exact_filter_max, ef_search=256, ivf_nprobe=48)
    idx = VectorIndex(cfg).fit(v)
    ref = v if storage == "fp32" else idx.rows(np.arange(len(v)))
    for share in (0.5, 0.05, 0.002):
        mask = rng.random(len(v)) < share
        hits = total = 0
        for qi in rng.choice(len(v), 20, replace=False):
            got = idx.search(v[qi], 10, mask)
            want = _exact(ref, v[qi], 10, mask)
            assert all(mask[i] for i in got.ids)  # never a row outside the filter
            assert len(got) == min(10, int(mask.sum()))
            hits += len(set(got.ids.tolist()) & set(want))
            total += len(want)
            if exact_filter_max and mask.sum() <= exact_filter_max:
                assert got.ids.tolist() == want
        assert hits / total >= 0.95
    empty = np.zeros(len(v), dtype=bool)
    assert len(idx.search(v[0], 10, empty)) == 0


def test_filter_work_is_cached_per_mask() -> None:
    v = _data(1000, 16)
    idx = VectorIndex(VectorIndexConfig(kind="hnsw", exact_filter_max=0)).fit(v)
    mask = np.zeros(len(v), dtype=bool)
    mask[::2] = True
    idx.search(v[0], 5, mask)
    first = idx._allowed[id(mask)]
    idx.search(v[1], 5, mask)
    assert idx._allowed[id(mask)] is first and first.selector is not None and first.count == 500


def test_legacy_folder_with_npy_and_hnsw_loads(tmp_path: Path) -> None:
    import json

    import faiss

    v = _data(300, 16)
    folder = tmp_path / "old"
    folder.mkdir()
    np.save(folder / "vectors.npy", v)
    old = faiss.IndexHNSWFlat(16, 32, faiss.METRIC_INNER_PRODUCT)
    old.add(v)
    faiss.write_index(old, str(folder / "hnsw.faiss"))
    cfg = {"kind": "hnsw", "hnsw_m": 32, "ef_construction": 200, "ef_search": 128, "hnsw_min_items": 50000}
    (folder / "vector_index.json").write_text(json.dumps({"config": cfg}))
    idx = VectorIndex.load(folder)
    assert (idx.kind, idx.storage, len(idx)) == ("hnsw", "fp32", 300)
    assert np.array_equal(idx.vectors, v) and idx.search(v[4], 3).ids[0] == 4


def test_ivf_filter_far_from_the_query_still_finds_its_rows() -> None:
    """A filter whose rows all sit far from the query (a category unlike the query) must not
    leave IVF probing only the cells near the query, where no allowed row lives."""
    rng = np.random.default_rng(3)
    near = l2_normalise(rng.normal(size=(3000, 16)) + 4 * np.eye(16)[0])
    far = l2_normalise(rng.normal(size=(100, 16)) - 4 * np.eye(16)[0])
    v = np.concatenate([near, far]).astype(np.float32)
    mask = np.zeros(len(v), dtype=bool)
    mask[3000:] = True  # 3% of rows, none near the queries
    idx = VectorIndex(VectorIndexConfig(kind="ivf", storage="sq8", exact_filter_max=0, ivf_nprobe=4)).fit(v)
    ref = idx.rows(np.arange(len(v)))
    for qi in range(0, 3000, 300):
        got = idx.search(v[qi], 10, mask)
        assert got.ids.tolist() == _exact(ref, v[qi], 10, mask)


@pytest.mark.parametrize("storage", ["sq8", "fp16", "fp32"])
def test_ivf_selective_filter_searches_its_own_lists_with_the_bitmap_results(storage: str, tmp_path: Path) -> None:
    """A filter allowing <= 1/10 of the rows is answered from an IVF index holding only its rows
    (same cells and codes): the same hits as every cell of the full index under the bitmap."""
    import faiss

    v = _data(4000, 16)
    idx = VectorIndex(VectorIndexConfig(kind="ivf", storage=storage, exact_filter_max=0, ivf_nprobe=4)).fit(v)
    idx.save(tmp_path / "ivf")
    loaded = VectorIndex.load(tmp_path / "ivf")  # memory-mapped lists are copied the same way
    mask = np.random.default_rng(2).random(len(v)) < 0.05
    bitmap = np.packbits(mask, bitorder="little")
    params = faiss.SearchParametersIVF()
    params.nprobe = int(idx._faiss.nlist)
    params.sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
    for index in (idx, loaded):
        for qi in range(0, 4000, 400):
            got = index.search(v[qi], 10, mask)
            if qi == 0:  # first use: the bitmap over every cell; the subset is built from the second use
                first = index._allowed[id(mask)]
                assert first.subset is None and first.wants_subset and first.selector is not None
            want_s, want_i = idx._faiss.search(v[qi : qi + 1].astype(np.float32), 10, params=params)
            assert got.ids.tolist() == want_i[0].tolist() and np.array_equal(got.scores, want_s[0])
        entry = index._allowed[id(mask)]
        assert entry.subset is not None and entry.subset.ntotal == mask.sum() and entry.selector is None
    broad = np.random.default_rng(3).random(len(v)) < 0.5  # a broad filter keeps the bitmap
    idx.search(v[0], 10, broad)
    assert idx._allowed[id(broad)].subset is None


def test_ivf_subsets_beyond_the_byte_budget_are_evicted_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Subsets cost count x (code + 8-byte id) bytes; past IVF_SUBSET_BYTES the oldest entries go."""
    from shelfwise.index import vector

    v = _data(4000, 16)
    idx = VectorIndex(VectorIndexConfig(kind="ivf", storage="sq8", exact_filter_max=0, ivf_nprobe=4)).fit(v)
    rng = np.random.default_rng(5)
    masks = [rng.random(len(v)) < 0.05 for _ in range(3)]
    per_row = int(idx._faiss.code_size) + 8  # sq8: 16 one-byte codes
    sizes = [int(m.sum()) for m in masks]
    budget = (sizes[1] + max(sizes[0], sizes[2])) * per_row  # room for any two of them, not three
    monkeypatch.setattr(vector, "IVF_SUBSET_BYTES", budget)
    for m in masks:
        idx.search(v[0], 5, m)
        idx.search(v[1], 5, m)  # second use: the subset replaces the first-use entry
        assert idx._allowed[id(m)].subset_bytes == int(m.sum()) * per_row
        assert idx._subset_bytes == sum(a.subset_bytes for a in idx._allowed.values())
    assert list(idx._allowed) == [id(masks[1]), id(masks[2])]  # the first went, over the budget
    idx.fit(v)
    assert idx._subset_bytes == 0 and not idx._allowed


@pytest.mark.parametrize("storage", ["sq8", "fp16", "fp32"])
def test_ivf_scores_list_by_list_are_every_rows_inner_product(storage: str, tmp_path: Path) -> None:
    """An IVF index scores every row list by list (codes decoded per inverted list): the same
    inner products as the rows it decodes, loaded (memory-mapped lists) or not."""
    v = _data(3000, 16)
    idx = VectorIndex(VectorIndexConfig(kind="ivf", storage=storage, ivf_nprobe=4)).fit(v)
    idx.save(tmp_path / "ivf")
    for index in (idx, VectorIndex.load(tmp_path / "ivf")):
        for q in (v[0], v[1234]):
            want = index.rows(np.arange(len(v))) @ q
            np.testing.assert_allclose(index.scores(q), want, rtol=1e-5, atol=1e-6)
