"""``shelfwise index --vectors``: precomputed product vectors instead of embedding."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shelfwise.cli import main
from shelfwise.encode import HashingEncoder

CATALOG = (
    "id,title,category\n1,Black jeans,Men > Trousers\n2,Red dress,Women > Dresses\n"
    "3,Blue jeans,Men > Trousers\n4,Wool scarf,Women > Accessories\n"
)


def _setup(tmp_path: Path) -> tuple[Path, list[str]]:
    cat = tmp_path / "products.csv"
    cat.write_text(CATALOG, encoding="utf-8")
    return cat, ["--catalog", str(cat), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]


def test_index_with_parquet_vectors(tmp_path: Path) -> None:
    _, common = _setup(tmp_path)
    dim = HashingEncoder().dim
    v = np.random.default_rng(0).normal(size=(4, dim)).astype(np.float32)
    f = tmp_path / "v.parquet"
    pq.write_table(pa.table({"id": ["4", "3", "2", "1"], "vector": [v[i].tolist() for i in (3, 2, 1, 0)]}), f)
    assert main(["index", *common, "--vectors", str(f), "--out", str(tmp_path / "idx")]) == 0
    from shelfwise.index import VectorIndex

    idx = VectorIndex.load(next((tmp_path / "idx").rglob("vector_index.json")).parent)
    assert np.allclose(idx.rows(np.arange(4)), v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-6)


def test_index_with_bad_vectors_names_file_and_row(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _, common = _setup(tmp_path)
    f = tmp_path / "v.npy"
    np.save(f, np.ones((3, 8), dtype=np.float32))
    assert main(["index", *common, "--vectors", str(f), "--out", str(tmp_path / "idx")]) != 0
    err = capsys.readouterr().err
    assert str(f) in err and "3 rows, the catalog has 4 products" in err


def test_index_rejects_unknown_vector_store(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    _, common = _setup(tmp_path)
    assert main(["index", *common, "--vector-store", "redis://x", "--out", str(tmp_path / "idx")]) != 0
    assert "unknown vector store 'redis://x'" in capsys.readouterr().err


def test_index_with_embedded_vector_store_is_the_default_layout(tmp_path: Path) -> None:
    _, common = _setup(tmp_path)
    assert main(["index", *common, "--vector-store", "embedded", "--out", str(tmp_path / "idx")]) == 0
    assert next((tmp_path / "idx").rglob("vector_index.json"), None) is not None
