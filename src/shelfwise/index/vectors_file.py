"""Bring your own product vectors: read them from a file and align them with the catalog's rows.

Two formats:

- ``.npy``: a float matrix with one row per product, in the catalog's row order.
- ``.parquet``: columns ``id`` (the catalog's product id) and ``vector`` (a list of floats), in
  any order; every catalog product needs exactly one row.

Rows are L2-normalised (the index scores cosines). Every problem raises :class:`DataError` with a
:class:`RowError` naming the file, the 1-based row (``row N``: the matrix row for ``.npy``, the
Parquet row index for ``.parquet``; 0 for the whole file) and the field: a wrong width, a missing or
duplicate id, an id the catalog lacks, a non-finite or all-zero vector.

One float32 matrix is made: ``.npy`` blocks are read with plain file reads (the pages of a memory map
would count in the process's RSS: the whole file on top of the matrix) and normalised into it,
Parquet values are scattered into catalog order and normalised in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.errors import DataError, RowError

ID_COLUMN = "id"
VECTOR_COLUMN = "vector"
_BLOCK = 65536


def _fail(p: Path, message: str, row: int = 0, field: str = "<file>") -> DataError:
    """``row``: 1-based (0: the whole file)."""
    return DataError([RowError(str(p), row, field, message)])


def load_vectors(path: str | Path, catalog_ids: Sequence[str], dim: int | None = None) -> npt.NDArray[np.float32]:
    """Vectors of ``path`` as an ``(len(catalog_ids), dim)`` float32 matrix in catalog row order,
    L2-normalised. ``dim``: the query encoder's width, checked when given."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        raw = _from_npy(p, len(catalog_ids), dim)
        return _normalise_into(p, _npy_blocks(p, raw), np.empty(raw.shape, dtype=np.float32))
    if suffix == ".parquet":
        out, file_row = _from_parquet(p, catalog_ids, dim)
        return _normalise_into(p, (out[s : s + _BLOCK] for s in range(0, len(out), _BLOCK)), out, file_row)
    raise _fail(p, f"unknown vectors format {suffix!r} (use .npy or .parquet with id + vector)")


def _from_npy(p: Path, n: int, dim: int | None) -> np.memmap[Any, Any]:
    """The file's matrix, memory-mapped to check its header (any numeric dtype; read and converted a
    block at a time later)."""
    try:
        raw = np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise _fail(p, f"not a numeric .npy matrix ({exc})") from exc
    if raw.ndim != 2 or not np.issubdtype(raw.dtype, np.number) or np.issubdtype(raw.dtype, np.complexfloating):
        raise _fail(p, f"expected a 2-d numeric matrix, got shape {raw.shape} dtype {raw.dtype}")
    if raw.shape[0] != n:
        raise _fail(p, f"{raw.shape[0]} rows, the catalog has {n} products (one row per product, in catalog order)")
    if dim is not None and raw.shape[1] != dim:
        raise _fail(p, f"vectors are {raw.shape[1]}-d, the query encoder gives {dim}-d")
    return raw


def _npy_blocks(p: Path, raw: np.memmap[Any, Any]) -> Iterator[npt.NDArray[Any]]:
    """Blocks of ``_BLOCK`` rows of the ``.npy`` matrix ``raw`` maps, read from the file (slices of
    the map for a Fortran-ordered matrix)."""
    rows, width = raw.shape
    if not raw.flags.c_contiguous:
        for start in range(0, rows, _BLOCK):
            yield raw[start : start + _BLOCK]
        return
    with open(p, "rb") as f:
        f.seek(raw.offset)
        for start in range(0, rows, _BLOCK):
            k = min(_BLOCK, rows - start)
            block = np.fromfile(f, dtype=raw.dtype, count=k * width)
            if block.size != k * width:
                raise _fail(p, f"the file ends inside row {start + block.size // max(width, 1) + 1}")
            yield block.reshape(k, width)


def _from_parquet(
    p: Path, catalog_ids: Sequence[str], dim: int | None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """The vectors in catalog order, and for each catalog row the 0-based file row it came from."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    names = pq.read_schema(p).names
    missing = [c for c in (ID_COLUMN, VECTOR_COLUMN) if c not in names]
    if missing:
        raise _fail(p, f"column not in file; need {ID_COLUMN!r} and {VECTOR_COLUMN!r}", field=missing[0])
    table = pq.read_table(p, columns=[ID_COLUMN, VECTOR_COLUMN])
    col = table.column(VECTOR_COLUMN).combine_chunks()
    is_list = pa.types.is_list(col.type) or pa.types.is_large_list(col.type) or pa.types.is_fixed_size_list(col.type)
    value_type = col.type.value_type if is_list else None
    if value_type is None or not (pa.types.is_integer(value_type) or pa.types.is_floating(value_type)):
        raise _fail(p, f"must hold lists of numbers, not {col.type}", field=VECTOR_COLUMN)
    ids = [None if v is None else str(v) for v in table.column(ID_COLUMN).to_pylist()]
    lengths = pc.fill_null(pc.list_value_length(col), -1).to_numpy(zero_copy_only=False)
    given = lengths[lengths >= 0]
    width = dim if dim is not None else (int(given[0]) if len(given) else 0)
    bad = np.flatnonzero(lengths != width)
    if bad.size:
        r = int(bad[0])
        got = "no vector" if lengths[r] < 0 else f"{int(lengths[r])} numbers"
        raise _fail(p, f"id {ids[r]!r} has {got}, expected {width}", r + 1, VECTOR_COLUMN)
    row_of = {pid: i for i, pid in enumerate(catalog_ids)}
    target = np.empty(len(ids), dtype=np.int64)
    seen: dict[str, int] = {}
    for r, pid in enumerate(ids):
        if pid is None or pid == "":
            raise _fail(p, "no id", r + 1, ID_COLUMN)
        if pid in seen:
            raise _fail(p, f"id {pid!r} already given at row {seen[pid] + 1}", r + 1, ID_COLUMN)
        seen[pid] = r
        row = row_of.get(pid)
        if row is None:
            raise _fail(p, f"id {pid!r} is not in the catalog", r + 1, ID_COLUMN)
        target[r] = row
    if len(ids) != len(catalog_ids):
        absent = next(pid for pid in catalog_ids if pid not in seen)
        raise _fail(
            p,
            f"{len(ids)} vectors for {len(catalog_ids)} products; no vector for id {absent!r} (and maybe others)",
            field=ID_COLUMN,
        )
    # the values as Arrow holds them (a view where it can), cast to float32 while scattered into catalog order
    values = col.flatten().to_numpy(zero_copy_only=False)
    out = np.empty((len(catalog_ids), width), dtype=np.float32)
    out[target] = values.reshape(len(ids), width)
    file_row = np.empty(len(ids), dtype=np.int64)
    file_row[target] = np.arange(len(ids))
    return out, file_row


def _normalise_into(
    p: Path,
    blocks: Iterable[npt.NDArray[Any]],
    out: npt.NDArray[np.float32],
    file_row: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.float32]:
    """``out`` = the row ``blocks`` (``_BLOCK`` rows each, in order) as float32 with unit rows (the
    blocks may be views of ``out``: in place). ``file_row``: the 0-based file row of each row, for
    errors (default: the same row)."""
    for start, raw in zip(range(0, len(out), _BLOCK), blocks, strict=True):
        block = np.asarray(raw, dtype=np.float32)
        norms = np.linalg.norm(block, axis=1)
        bad = np.flatnonzero(~np.isfinite(norms) | (norms <= 1e-12))
        if bad.size:
            r = start + int(bad[0])
            what = "non-finite values" if not np.isfinite(norms[bad[0]]) else "an all-zero vector"
            row = r if file_row is None else int(file_row[r])
            raise _fail(p, f"{what} (cannot be normalised)", row + 1, VECTOR_COLUMN)
        np.divide(block, norms[:, None], out=out[start : start + len(block)])
    return out
