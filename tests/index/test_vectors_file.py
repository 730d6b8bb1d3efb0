from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shelfwise.index.vectors_file import VectorsFileError, load_vectors

IDS = ["a", "b", "c", "d"]


def _vecs(n: int = 4, d: int = 3) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)


def _parquet(path: Path, ids: list[object], vectors: list[object]) -> Path:
    pq.write_table(pa.table({"id": ids, "vector": vectors}), path)
    return path


def test_npy_in_catalog_order_is_normalised(tmp_path: Path) -> None:
    v = _vecs()
    np.save(tmp_path / "v.npy", v * 5)
    out = load_vectors(tmp_path / "v.npy", IDS, dim=3)
    assert out.dtype == np.float32 and out.shape == (4, 3)
    assert np.allclose(out, v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-6)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((3, 3)), "3 rows, the catalog has 4 products"),
        (np.ones((4, 5)), "vectors are 5-d, the query encoder gives 3-d"),
        (np.ones(12), "expected a 2-d numeric matrix"),
    ],
)
def test_npy_bad_shapes_name_the_file(tmp_path: Path, array: np.ndarray, message: str) -> None:
    f = tmp_path / "bad.npy"
    np.save(f, array)
    with pytest.raises(VectorsFileError, match=message) as err:
        load_vectors(f, IDS, dim=3)
    assert str(f) in str(err.value)


def test_npy_bad_row_is_named(tmp_path: Path) -> None:
    v = _vecs()
    v[2] = 0.0
    np.save(tmp_path / "z.npy", v)
    with pytest.raises(VectorsFileError, match="row 2 has an all-zero vector"):
        load_vectors(tmp_path / "z.npy", IDS)
    v[2] = np.nan
    np.save(tmp_path / "n.npy", v)
    with pytest.raises(VectorsFileError, match="row 2 has non-finite values"):
        load_vectors(tmp_path / "n.npy", IDS)


def test_parquet_any_order_aligned_by_id(tmp_path: Path) -> None:
    v = _vecs()
    order = [2, 0, 3, 1]
    f = _parquet(tmp_path / "v.parquet", [IDS[i] for i in order], [v[i].tolist() for i in order])
    out = load_vectors(f, IDS, dim=3)
    assert np.allclose(out, v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-6)


@pytest.mark.parametrize(
    ("ids", "vectors", "message"),
    [
        (
            ["a", "b", "c", "d"],
            [[1, 0, 0], [1, 0], [0, 1, 0], [0, 0, 1]],
            r"row 1 \(id 'b'\) has 2 numbers, expected 3",
        ),
        (["a", "b", "c", "d"], [[1, 0, 0], None, [0, 1, 0], [0, 0, 1]], r"row 1 \(id 'b'\) has no vector"),
        (["a", "b", "b", "d"], [[1, 0, 0]] * 4, r"row 2: id 'b' already given at row 1"),
        (["a", "b", "x", "d"], [[1, 0, 0]] * 4, r"row 2: id 'x' is not in the catalog"),
        (["a", "b", "c"], [[1, 0, 0]] * 3, r"3 vectors for 4 products; no vector for id 'd'"),
        (["a", None, "c", "d"], [[1, 0, 0]] * 4, r"row 1 has no id"),
    ],
)
def test_parquet_errors_name_file_and_row(
    tmp_path: Path, ids: list[object], vectors: list[object], message: str
) -> None:
    f = _parquet(tmp_path / "bad.parquet", ids, vectors)
    with pytest.raises(VectorsFileError, match=message) as err:
        load_vectors(f, IDS, dim=3)
    assert str(f) in str(err.value)


def test_parquet_missing_column_and_unknown_format(tmp_path: Path) -> None:
    f = tmp_path / "cols.parquet"
    pq.write_table(pa.table({"id": IDS, "emb": [[1.0, 0.0, 0.0]] * 4}), f)
    with pytest.raises(VectorsFileError, match="missing column"):
        load_vectors(f, IDS)
    (tmp_path / "v.csv").write_text("x")
    with pytest.raises(VectorsFileError, match="unknown vectors format"):
        load_vectors(tmp_path / "v.csv", IDS)
    with pytest.raises(VectorsFileError, match="no such file"):
        load_vectors(tmp_path / "none.npy", IDS)
