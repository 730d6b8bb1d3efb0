"""Load events from CSV / JSONL / Parquet with per-row validation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import ConfigError, DataError, RowError
from shelfwise.events.schema import Event, EventType
from shelfwise.tabular import mapping_from_json, read_rows


@dataclass(frozen=True)
class EventFields:
    """Which source columns fill which event fields. ``type`` may be a constant via ``default_type``."""

    user_id: str = "user_id"
    item_id: str = "item_id"
    type: str | None = "type"
    timestamp: str = "timestamp"
    session_id: str | None = "session_id"
    query: str | None = "query"
    default_type: str | None = None

    @classmethod
    def from_json(cls, path: str | Path) -> EventFields:
        """Read a mapping from JSON; ``null`` means "no column" for ``type`` / ``session_id`` / ``query``.
        Every error is a :class:`ConfigError` naming the file (a missing file: ``FileNotFoundError``)."""
        spec = mapping_from_json(cls, path)
        if spec.default_type is not None:
            try:
                EventType.parse(spec.default_type)
            except ValueError as exc:
                raise ConfigError(path, f"'default_type': {exc}") from exc
        elif spec.type is None:
            raise ConfigError(path, "'type' is null and no 'default_type' is set, so no event would have a type")
        return spec


@dataclass
class EventLoad:
    events: list[Event]
    errors: list[RowError] = field(default_factory=list)


def parse_timestamp(value: Any) -> float:
    """Unix seconds (int/float, or ms when > 1e11), ISO-8601 text, or a date/datetime."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.timestamp()
    if hasattr(value, "isoformat") and not isinstance(value, str):  # datetime.date
        return datetime.fromisoformat(value.isoformat()).replace(tzinfo=UTC).timestamp()
    if isinstance(value, int | float):
        return _unix(float(value))
    s = str(value).strip()
    try:
        return _unix(float(s))
    except ValueError as exc:
        if "finite" in str(exc):
            raise
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _unix(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError(f"timestamp must be finite, got {v}")
    return v / 1000.0 if v > 1e11 else v


def _parse_row(
    rec: Mapping[str, Any], spec: EventFields, file: str, row: int, catalog: Catalog | None
) -> Event | RowError:
    def text(col: str | None) -> str:
        v = rec.get(col) if col else None
        return "" if v is None else str(v).strip()

    user = text(spec.user_id)
    if not user:
        return RowError(file, row, spec.user_id, "missing user id")
    raw_type = text(spec.type) or (spec.default_type or "")
    if not raw_type:
        return RowError(file, row, spec.type or "type", "missing event type")
    try:
        etype = EventType.parse(raw_type)
    except ValueError as exc:
        return RowError(file, row, spec.type or "type", str(exc))
    ts_raw = rec.get(spec.timestamp)
    if ts_raw is None or ts_raw == "":
        return RowError(file, row, spec.timestamp, "missing timestamp")
    try:
        ts = parse_timestamp(ts_raw)
    except (TypeError, ValueError):
        return RowError(file, row, spec.timestamp, f"not a timestamp: {ts_raw!r}")
    item = text(spec.item_id)
    if etype is not EventType.QUERY and not item:
        return RowError(file, row, spec.item_id, f"{etype.name.lower()} event needs an item id")
    if item and catalog is not None and item not in catalog:
        return RowError(file, row, spec.item_id, f"item {item!r} is not in the catalog")
    try:
        return Event(
            user_id=user,
            type=etype,
            timestamp=ts,
            item_id=item,
            session_id=text(spec.session_id),
            query=text(spec.query),
        )
    except ValueError as exc:  # any schema rule not checked above still names the row
        return RowError(file, row, "<row>", str(exc))


def load_events(
    path: str | Path, fields: EventFields | None = None, *, catalog: Catalog | None = None, strict: bool = False
) -> EventLoad:
    """Read events; rows with a bad field (or an item unknown to ``catalog``) are reported and skipped."""
    spec = fields or EventFields()
    file = str(path)
    events: list[Event] = []
    errors: list[RowError] = []
    for row, rec in read_rows(path):
        if isinstance(rec, RowError):
            errors.append(rec)
            continue
        parsed = _parse_row(rec, spec, file, row, catalog)
        (errors if isinstance(parsed, RowError) else events).append(parsed)  # type: ignore[arg-type]
    if strict and errors:
        raise DataError(errors, f"{file}: {len(errors)} bad rows")
    if not events and errors:
        raise DataError(errors, f"{file}: no valid events")
    return EventLoad(events, errors)
