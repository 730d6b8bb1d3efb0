"""Errors and row-level validation reports shared by every loader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

# Formats whose row numbers are physical line numbers (1-based; a CSV header is line 1).
LINE_NUMBERED = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".txt")


def position(file: str, row: int) -> str:
    """How a row number reads for ``file``: ``line N`` for text formats, ``row N`` otherwise."""
    return f"{'line' if PurePath(file).suffix.lower() in LINE_NUMBERED else 'row'} {row}"


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless one: "1 bad row", "3 bad rows"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class RowError:
    """One bad value: which file, where in it, which field, and why.

    ``row`` is the physical line number (1-based, header = line 1) for CSV / TSV / JSON Lines /
    JSON files, the 1-based row index for Parquet, and 0 for a problem with the whole file
    (e.g. a mapped column missing from the header).
    """

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        if self.row <= 0:
            where = "" if self.field == "<file>" else f"field '{self.field}': "
            return f"{self.file}: {where}{self.message}"
        note = " (1-based Parquet row index)" if PurePath(self.file).suffix.lower() == ".parquet" else ""
        return f"{self.file}: {position(self.file, self.row)}: field '{self.field}': {self.message}{note}"


class DataError(ValueError):
    """Raised when a loader is strict, or when nothing usable was loaded."""

    def __init__(self, errors: list[RowError], summary: str = "", *, list_errors: bool = True) -> None:
        """The message: ``summary``, then the first 20 ``errors`` one a line; with ``list_errors=False``
        (a summary that already names them all) a non-empty ``summary`` alone. ``errors`` keeps every one."""
        self.errors = errors
        if summary and not list_errors:
            super().__init__(summary)
            return
        head = "\n".join(str(e) for e in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__((summary + "\n" if summary else "") + head + more)


class ConfigError(ValueError):
    """A configuration file (e.g. a JSON column mapping) is missing, unreadable or wrong.

    The message always starts with the file name, then the line and column when known.
    """

    def __init__(self, file: str | PurePath, message: str, line: int | None = None, column: int | None = None) -> None:
        self.file = str(file)
        self.line = line
        self.column = column
        where = "" if line is None else f"line {line}" + ("" if column is None else f", column {column}") + ": "
        super().__init__(f"{self.file}: {where}{message}")


class MissingExtraError(ImportError):
    """A heavy optional dependency is not installed; says which extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"'{package}' is not installed. Install it with: pip install 'shelfwise[{extra}]'")


def require_torch() -> Any:
    """``torch``, or a :class:`MissingExtraError` naming the ``lm`` extra."""
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", "lm") from exc
    return torch
