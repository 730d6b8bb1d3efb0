from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shelfwise.errors import DataError, RowError
from shelfwise.index.vectors_file import load_vectors

IDS = ["a", "b", "c", "d"]


def _vecs(n: int = 4, d: int = 3) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)


def _parquet(path: Path, ids: Sequence[object], vectors: Sequence[object]) -> Path:
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
    with pytest.raises(DataError, match=message) as err:
        load_vectors(f, IDS, dim=3)
    assert str(err.value).startswith(f"{f}: ")
    assert [(e.file, e.row, e.field) for e in err.value.errors] == [(str(f), 0, "<file>")]  # the whole file


def test_npy_bad_row_is_named(tmp_path: Path) -> None:
    v = _vecs()
    v[2] = 0.0
    np.save(tmp_path / "z.npy", v)
    with pytest.raises(DataError, match=r"z\.npy: row 3: field 'vector': an all-zero vector") as err:
        load_vectors(tmp_path / "z.npy", IDS)
    assert err.value.errors == [
        RowError(str(tmp_path / "z.npy"), 3, "vector", "an all-zero vector (cannot be normalised)")
    ]
    v[2] = np.nan
    np.save(tmp_path / "n.npy", v)
    with pytest.raises(DataError, match=r"n\.npy: row 3: field 'vector': non-finite values"):
        load_vectors(tmp_path / "n.npy", IDS)


def test_npy_float64_is_read_as_float32(tmp_path: Path) -> None:
    v = _vecs().astype(np.float64) * 3
    np.save(tmp_path / "d.npy", v)
    out = load_vectors(tmp_path / "d.npy", IDS, dim=3)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.flags.writeable
    assert np.allclose(out, v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-6)


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
            r"row 2: field 'vector': id 'b' has 2 numbers, expected 3 \(1-based Parquet row index\)",
        ),
        (["a", "b", "c", "d"], [[1, 0, 0], None, [0, 1, 0], [0, 0, 1]], r"row 2: field 'vector': id 'b' has no vector"),
        (["a", "b", "b", "d"], [[1, 0, 0]] * 4, r"row 3: field 'id': id 'b' already given at row 2"),
        (["a", "b", "x", "d"], [[1, 0, 0]] * 4, r"row 3: field 'id': id 'x' is not in the catalog"),
        (["a", "b", "c"], [[1, 0, 0]] * 3, r"field 'id': 3 vectors for 4 products; no vector for id 'd'"),
        (["a", None, "c", "d"], [[1, 0, 0]] * 4, r"row 2: field 'id': no id"),
        (["a", "b", "c", "d"], [[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]], r"row 3: field 'vector': an all-zero"),
        (
            ["d", "c", "b", "a"],
            [[1, 0, 0], [0, 1, 0], [0, float("nan"), 0], [0, 0, 1]],
            r"row 3: field 'vector': non-fin",
        ),
    ],
)
def test_parquet_errors_name_file_and_row(
    tmp_path: Path, ids: list[object], vectors: list[object], message: str
) -> None:
    f = _parquet(tmp_path / "bad.parquet", ids, vectors)
    with pytest.raises(DataError, match=message) as err:
        load_vectors(f, IDS, dim=3)
    assert str(err.value).startswith(f"{f}: ") and len(err.value.errors) == 1 and err.value.errors[0].file == str(f)


def test_parquet_float64_and_integer_values(tmp_path: Path) -> None:
    v = _vecs().astype(np.float64)
    out = load_vectors(_parquet(tmp_path / "d.parquet", IDS, [r.tolist() for r in v]), IDS)
    assert out.dtype == np.float32 and np.allclose(out, v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-6)
    ints = load_vectors(_parquet(tmp_path / "i.parquet", IDS, [[3, 4, 0]] * 4), IDS, dim=3)
    assert np.allclose(ints, [[0.6, 0.8, 0.0]] * 4)


def test_parquet_missing_column_and_unknown_format(tmp_path: Path) -> None:
    f = tmp_path / "cols.parquet"
    pq.write_table(pa.table({"id": IDS, "emb": [[1.0, 0.0, 0.0]] * 4}), f)
    with pytest.raises(DataError, match=r"cols\.parquet: field 'vector': column not in file") as err:
        load_vectors(f, IDS)
    assert err.value.errors[0].row == 0
    strings = _parquet(tmp_path / "s.parquet", IDS, [["x", "y"]] * 4)
    with pytest.raises(DataError, match="field 'vector': must hold lists of numbers"):
        load_vectors(strings, IDS)
    (tmp_path / "v.csv").write_text("x")
    with pytest.raises(DataError, match=r"v\.csv: unknown vectors format"):
        load_vectors(tmp_path / "v.csv", IDS)
    with pytest.raises(FileNotFoundError, match=r"none\.npy: no such file"):
        load_vectors(tmp_path / "none.npy", IDS)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, ">f4"])
def test_npy_read_in_blocks_same_as_whole_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str, dtype: object
) -> None:
    import shelfwise.index.vectors_file as vf

    v = np.asarray(np.random.default_rng(1).normal(size=(11, 5)), dtype=dtype, order=order)  # type: ignore[call-overload]
    np.save(tmp_path / "v.npy", v)
    ids = [str(i) for i in range(11)]
    whole = load_vectors(tmp_path / "v.npy", ids, dim=5)
    monkeypatch.setattr(vf, "_BLOCK", 3)  # four blocks, the last one short
    blocks = load_vectors(tmp_path / "v.npy", ids, dim=5)
    f32 = np.asarray(v, dtype=np.float32)
    assert np.array_equal(whole, blocks)
    assert np.array_equal(blocks, f32 / np.linalg.norm(f32, axis=1)[:, None])
    bad = np.array(v)
    bad[7] = 0
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(DataError) as err:
        load_vectors(tmp_path / "bad.npy", ids, dim=5)
    assert err.value.errors[0].row == 8
