"""Bring your own product vectors: read them from a file and align them with the catalog's rows.

Two formats:

- ``.npy``: a float matrix with one row per product, in the catalog's row order.
- ``.parquet``: columns ``id`` (the catalog's product id) and ``vector`` (a list of floats), in
  any order; every catalog product needs exactly one row.

Rows are L2-normalised (the index scores cosines). Every problem is reported with the file and the
row it was found in: a wrong width, a missing or duplicate id, an id the catalog lacks, a
non-finite or all-zero vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

ID_COLUMN = "id"
VECTOR_COLUMN = "vector"


class VectorsFileError(ValueError):
    """A vectors file that cannot be used, with the file and row in its message."""


def load_vectors(path: str | Path, catalog_ids: Sequence[str], dim: int | None = None) -> npt.NDArray[np.float32]:
    """Vectors of ``path`` as an ``(len(catalog_ids), dim)`` float32 matrix in catalog row order,
    L2-normalised. ``dim``: the query encoder's width, checked when given."""
    p = Path(path)
    if not p.exists():
        raise VectorsFileError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        out = _from_npy(p, len(catalog_ids), dim)
    elif suffix == ".parquet":
        out = _from_parquet(p, catalog_ids, dim)
    else:
        raise VectorsFileError(f"{p}: unknown vectors format {suffix!r} (use .npy or .parquet with id + vector)")
    return _normalised(p, out)


def _from_npy(p: Path, n: int, dim: int | None) -> npt.NDArray[np.float32]:
    try:
        raw = np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise VectorsFileError(f"{p}: not a numeric .npy matrix ({exc})") from exc
    if raw.ndim != 2 or not np.issubdtype(raw.dtype, np.number):
        raise VectorsFileError(f"{p}: expected a 2-d numeric matrix, got shape {raw.shape} dtype {raw.dtype}")
    if raw.shape[0] != n:
        raise VectorsFileError(
            f"{p}: {raw.shape[0]} rows, the catalog has {n} products (one row per product, in catalog order)"
        )
    if dim is not None and raw.shape[1] != dim:
        raise VectorsFileError(f"{p}: vectors are {raw.shape[1]}-d, the query encoder gives {dim}-d")
    return np.asarray(raw, dtype=np.float32)


def _from_parquet(p: Path, catalog_ids: Sequence[str], dim: int | None) -> npt.NDArray[np.float32]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    names = pq.read_schema(p).names
    missing = [c for c in (ID_COLUMN, VECTOR_COLUMN) if c not in names]
    if missing:
        raise VectorsFileError(f"{p}: missing column(s) {missing}; need {ID_COLUMN!r} and {VECTOR_COLUMN!r}")
    table = pq.read_table(p, columns=[ID_COLUMN, VECTOR_COLUMN])
    col = table.column(VECTOR_COLUMN).combine_chunks()
    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_fixed_size_list(col.type)):
        raise VectorsFileError(f"{p}: column {VECTOR_COLUMN!r} must hold lists of numbers, not {col.type}")
    ids = [None if v is None else str(v) for v in table.column(ID_COLUMN).to_pylist()]
    lengths = pc.fill_null(pc.list_value_length(col), -1).to_numpy(zero_copy_only=False)
    width = dim if dim is not None else (int(lengths[0]) if len(lengths) else 0)
    bad = np.flatnonzero(lengths != width)
    if bad.size:
        r = int(bad[0])
        got = "no vector" if lengths[r] < 0 else f"{int(lengths[r])} numbers"
        raise VectorsFileError(f"{p}: row {r} (id {ids[r]!r}) has {got}, expected {width}")
    values = np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    matrix = values.reshape(len(ids), width)
    row_of = {pid: i for i, pid in enumerate(catalog_ids)}
    target = np.empty(len(ids), dtype=np.int64)
    seen: dict[str, int] = {}
    for r, pid in enumerate(ids):
        if pid is None or pid == "":
            raise VectorsFileError(f"{p}: row {r} has no id")
        if pid in seen:
            raise VectorsFileError(f"{p}: row {r}: id {pid!r} already given at row {seen[pid]}")
        seen[pid] = r
        row = row_of.get(pid)
        if row is None:
            raise VectorsFileError(f"{p}: row {r}: id {pid!r} is not in the catalog")
        target[r] = row
    if len(ids) != len(catalog_ids):
        absent = next(pid for pid in catalog_ids if pid not in seen)
        raise VectorsFileError(
            f"{p}: {len(ids)} vectors for {len(catalog_ids)} products; no vector for id {absent!r} (and maybe others)"
        )
    out = np.empty((len(catalog_ids), width), dtype=np.float32)
    out[target] = matrix
    return out


def _normalised(p: Path, v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out = np.empty_like(v)
    for start in range(0, len(v), 65536):
        block = v[start : start + 65536]
        norms = np.linalg.norm(block, axis=1)
        bad = np.flatnonzero(~np.isfinite(norms) | (norms <= 1e-12))
        if bad.size:
            r = start + int(bad[0])
            what = "non-finite values" if not np.isfinite(norms[bad[0]]) else "an all-zero vector"
            raise VectorsFileError(f"{p}: row {r} has {what}")
        out[start : start + len(block)] = block / norms[:, None]
    return out
