"""Errors and row-level validation reports shared by every loader."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    """One bad value: which file, which 1-based data row, which field, and why."""

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: field '{self.field}': {self.message}"


class DataError(ValueError):
    """Raised when a loader is strict, or when nothing usable was loaded."""

    def __init__(self, errors: list[RowError], summary: str = "") -> None:
        self.errors = errors
        head = "\n".join(str(e) for e in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__((summary + "\n" if summary else "") + head + more)


class MissingExtraError(ImportError):
    """A heavy optional dependency is not installed; says which extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"'{package}' is not installed. Install it with: pip install 'shelfwise[{extra}]'")
