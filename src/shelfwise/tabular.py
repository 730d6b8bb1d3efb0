"""Read CSV / JSONL / Parquet files as rows of plain Python values.

Every loader (catalog, events, judgments) goes through :func:`read_rows`, so the file
formats, encodings and row numbering are the same everywhere. Row numbers are 1-based
data rows (the CSV header is not counted).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from shelfwise.errors import DataError, RowError

SUPPORTED = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet")

Row = Mapping[str, Any]
T = TypeVar("T")


def read_rows(path: str | Path) -> Iterator[tuple[int, Row | RowError]]:
    """Yield ``(row_number, row)``; an unparsable line yields a :class:`RowError` instead."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".tsv"):
        yield from _read_csv(p, "\t" if suffix == ".tsv" else ",")
    elif suffix in (".jsonl", ".ndjson", ".json"):
        yield from _read_jsonl(p)
    elif suffix == ".parquet":
        yield from _read_parquet(p)
    else:
        raise DataError([RowError(str(p), 0, "<file>", f"unsupported format; use one of {SUPPORTED}")])


def _bad_utf8(rec: Mapping[str, Any]) -> str | None:
    """The first field whose text was not valid UTF-8 (decoded with ``surrogateescape``), if any."""
    for k, v in rec.items():
        if isinstance(v, str) and any("\udc80" <= ch <= "\udcff" for ch in v):
            return str(k)
    return None


def _read_csv(p: Path, delimiter: str) -> Iterator[tuple[int, Row | RowError]]:
    with p.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        for i, rec in enumerate(reader, start=1):
            if None in rec:
                yield i, RowError(str(p), i, "<row>", f"{len(rec[None])} more values than header columns")  # type: ignore[index]
                continue
            bad = _bad_utf8(rec)
            if bad is not None:
                yield i, RowError(str(p), i, bad, "not valid UTF-8 text")
                continue
            yield i, {k: (v if v != "" else None) for k, v in rec.items()}


def _read_jsonl(p: Path) -> Iterator[tuple[int, Row | RowError]]:
    with p.open(encoding="utf-8", errors="surrogateescape") as fh:
        text = fh.read()
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array of objects
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError([RowError(str(p), 0, "<file>", f"invalid JSON: {exc}")]) from exc
        for i, item in enumerate(items, start=1):
            yield i, item if isinstance(item, dict) else RowError(str(p), i, "<row>", "not a JSON object")
        return
    row = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        row += 1
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield row, RowError(str(p), row, "<row>", f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(item, dict):
            yield row, RowError(str(p), row, "<row>", "not a JSON object")
        elif (bad := _bad_utf8(item)) is not None:
            yield row, RowError(str(p), row, bad, "not valid UTF-8 text")
        else:
            yield row, item


def _read_parquet(p: Path) -> Iterator[tuple[int, Row | RowError]]:
    import pyarrow.parquet as pq

    table = pq.read_table(p)
    row = 0
    for batch in table.to_batches(max_chunksize=65536):
        for rec in batch.to_pylist():
            row += 1
            yield row, rec


def mapping_from_json(cls: type[T], path: str | Path) -> T:
    """Build a column-mapping dataclass (``ProductFields``, ``EventFields``) from a JSON object.

    Unknown keys are an error naming the file and the accepted keys; JSON lists become tuples.
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object mapping field names to column names")
    fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(raw) - set(fields)
    if unknown:
        raise ValueError(f"{path}: unknown field mapping keys {sorted(unknown)}; known: {sorted(fields)}")
    values: dict[str, Any] = {}
    for key, v in raw.items():
        many = fields[key].startswith("tuple")
        if many and isinstance(v, str):
            v = (v,)  # one column given where several are allowed
        elif isinstance(v, list):
            if not many:
                raise ValueError(f"{path}: '{key}' takes one column name, got a list")
            v = tuple(v)
        if v is not None and not (isinstance(v, str) or (isinstance(v, tuple) and all(isinstance(x, str) for x in v))):
            raise ValueError(f"{path}: '{key}' must be a column name (string){' or a list of them' if many else ''}")
        values[key] = v
    return cls(**values)
