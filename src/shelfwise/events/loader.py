"""Load events from CSV / JSONL / Parquet with per-row validation.

Event-type names of common public logs are understood out of the box (:data:`COMMON_TYPE_ALIASES`)
and a mapping can add its own (``type_aliases``); a log without session ids gets sessions cut at
inactivity gaps (``session_gap_minutes``, 30 by default, the usual web-analytics timeout).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import ConfigError, DataError, RowError, counted
from shelfwise.events.schema import EXPOSURE_TYPES, Event, EventLog, EventType, request_id_problem
from shelfwise.tabular import has_header, mapping_from_json, read_rows, require_columns

# Event-type names of public logs -> Shelfwise types: Taobao user behaviour (pv/fav/cart/buy), RetailRocket
# (view/addtocart/transaction), REES46 (view/cart/purchase), YOOCHOOSE (click/buy). A favourite/wishlist
# shows more intent than a view and less than a cart, so it counts as a click.
COMMON_TYPE_ALIASES: Mapping[str, str] = {
    "pv": "view",
    "pageview": "view",
    "page_view": "view",
    "fav": "click",
    "favorite": "click",
    "favourite": "click",
    "wishlist": "click",
    "addtocart": "cart",
    "add-to-cart": "cart",
    "add_to_cart": "cart",
    "buy": "purchase",
    "order": "purchase",
    "transaction": "purchase",
}


@dataclass(frozen=True)
class EventFields:
    """Which source columns fill which event fields. ``type`` may be a constant via ``default_type``.

    ``type_aliases`` maps the log's own type names to event types (case-insensitive), on top of
    :data:`COMMON_TYPE_ALIASES`. ``request_id``: the column naming the ``/search`` or ``/recommend``
    answer each event came from (optional, like the catalog's image or price: a bad one is left out of
    its event, which is kept, with a warning naming file, row and field). ``session_gap_minutes``:
    events without a session id (no session column, or a blank cell) are grouped per user into
    sessions that end after this many minutes without an event; ``None`` keeps them session-less
    (one session per user downstream).
    """

    user_id: str = "user_id"
    item_id: str = "item_id"
    type: str | None = "type"
    timestamp: str = "timestamp"
    session_id: str | None = "session_id"
    query: str | None = "query"
    request_id: str | None = "request_id"
    default_type: str | None = None
    type_aliases: Mapping[str, str] = field(default_factory=dict, hash=False)
    session_gap_minutes: float | None = 30.0

    def __post_init__(self) -> None:
        aliases = self.type_aliases
        if not isinstance(aliases, Mapping) or not all(isinstance(k, str) and k.strip() for k in aliases):
            raise ValueError('\'type_aliases\' must map source type names to event types, e.g. {"pv": "view"}')
        for name, target in aliases.items():
            try:
                EventType.parse(target if isinstance(target, str) else repr(target))
            except ValueError as exc:
                raise ValueError(f"'type_aliases': {name!r} -> {exc}") from None
        object.__setattr__(self, "type_aliases", {k.strip().lower(): v for k, v in aliases.items()})
        gap = self.session_gap_minutes
        if gap is not None and (isinstance(gap, bool) or not isinstance(gap, int | float) or not gap > 0):
            raise ValueError(f"'session_gap_minutes' must be a positive number of minutes or null, got {gap!r}")

    def type_table(self) -> Mapping[str, EventType]:
        """Lower-cased source type name -> event type, for the built-in and this mapping's aliases."""
        return _type_table(tuple(sorted(self.type_aliases.items())))

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


@functools.lru_cache(maxsize=32)
def _type_table(aliases: tuple[tuple[str, str], ...]) -> Mapping[str, EventType]:
    merged = {**COMMON_TYPE_ALIASES, **dict(aliases)}
    return MappingProxyType({k: EventType.parse(v) for k, v in merged.items()})


@dataclass
class EventLoad:
    """What a load produced: the good events, the errors of the bad rows (skipped), and ``warnings``:
    events kept with an optional field left out (a ``request_id`` that is not one)."""

    events: list[Event]
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)


def parse_timestamp(value: Any) -> float:
    """Unix seconds (int/float, or ms when > 1e11), ISO-8601 text, or a date/datetime; from
    1970-01-01 (a negative unix time is a corrupt cell or a sign error, not a shopper's event)."""
    ts = _parse_time(value)
    if ts < 0:
        raise ValueError(f"timestamp out of range: {str(value)[:40]} is before 1970-01-01")
    return ts


def _parse_time(value: Any) -> float:
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.timestamp()
    if hasattr(value, "isoformat") and not isinstance(value, str):  # datetime.date
        return datetime.fromisoformat(value.isoformat()).replace(tzinfo=UTC).timestamp()
    if isinstance(value, bool):  # JSON true / false: an int to Python, 1970 as a time
        raise ValueError(f"timestamp {value!r} is a boolean")
    if isinstance(value, int | float):
        return _unix(float(value))
    s = str(value).strip()
    try:
        return _unix(float(s))
    except ValueError as exc:
        if "finite" in str(exc) or "out of range" in str(exc):  # a number, but not a time: say why
            raise
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


TIME_FORMATS = " (expected unix seconds or ms, or ISO-8601 such as 2017-05-01 or 2017-05-01T10:00:00Z)"

# 9999-12-31T23:59:59Z: the last second a datetime can show; a larger value (after the ms -> s
# rule) is a corrupt cell, not a time
MAX_UNIX_S = 253402300799.0


def _unix(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError(f"timestamp must be finite, got {v}")
    s = v / 1000.0 if v > 1e11 else v
    if s > MAX_UNIX_S:
        raise ValueError(f"timestamp out of range: {v:g} is after the year 9999 as unix seconds or ms")
    return s


def _parse_row(
    rec: Mapping[str, Any],
    spec: EventFields,
    file: str,
    row: int,
    catalog: Catalog | None,
    types: Mapping[str, EventType] | None = None,
    warnings: list[RowError] | None = None,
) -> Event | RowError:
    """One row to an event, or the error that skips it. With ``warnings`` (the file loaders) a bad
    ``request_id`` is left out and warned about there, the event kept; without (``POST /events``) it
    is the row's error, for the caller to fix and resend."""

    def text(col: str | None) -> str:
        v = rec.get(col) if col else None
        return "" if v is None else str(v).strip()

    def nested(col: str | None) -> str | None:  # JSON Lines / Parquet nested value
        v = rec.get(col) if col else None
        return f"must be a string or number, got {type(v).__name__}" if isinstance(v, Mapping | list | tuple) else None

    for col in (spec.user_id, spec.item_id, spec.type, spec.session_id, spec.query):
        if col and (why := nested(col)):
            return RowError(file, row, col, why)
    rid_col = spec.request_id or "request_id"
    rid_problem = nested(spec.request_id)
    rid = "" if rid_problem else text(spec.request_id)
    if rid and (problem := request_id_problem(rid)):
        rid_problem = f"{rid[:80]!r}: {problem}"
    if rid_problem and warnings is None:
        return RowError(file, row, rid_col, rid_problem)
    user = text(spec.user_id)
    if not user:
        return RowError(file, row, spec.user_id, "missing user id")
    raw_type = text(spec.type) or (spec.default_type or "")
    if not raw_type:
        return RowError(file, row, spec.type or "type", "missing event type")
    try:
        known = (types if types is not None else spec.type_table()).get(raw_type.lower())
        etype = known if known is not None else EventType.parse(raw_type)
    except ValueError as exc:  # how to map a store's own type name, which is what this usually is
        alias = f'"type_aliases": {{"{raw_type.lower()}": "view"}}'
        hint = (
            f" (such rows are skipped; if yours record product-page views, map them in the events mapping: {alias})"
            if raw_type.strip().upper() in EXPOSURE_TYPES
            else f" (map your own names in the events mapping: {alias})"
        )
        return RowError(file, row, spec.type or "type", f"{exc}{hint}")
    ts_raw = rec.get(spec.timestamp)
    if ts_raw is None or ts_raw == "":
        return RowError(file, row, spec.timestamp, "missing timestamp")
    try:
        ts = parse_timestamp(ts_raw)
    except (TypeError, ValueError) as exc:
        why = f" ({str(exc).removeprefix('timestamp ')})" if "out of range" in str(exc) else TIME_FORMATS
        shown = repr(ts_raw[:40]) if isinstance(ts_raw, str) else repr(ts_raw)
        return RowError(file, row, spec.timestamp, f"not a timestamp: {shown}{why}")
    item = text(spec.item_id)
    if etype is not EventType.QUERY and not item:
        return RowError(file, row, spec.item_id, f"{etype.name.lower()} event needs an item id")
    if etype is EventType.QUERY and not item and not text(spec.query):  # nothing to learn from: an unmapped column?
        return RowError(file, row, spec.query or "query", "query event has no query text and no item id")
    if item and catalog is not None and item not in catalog:
        return RowError(file, row, spec.item_id, f"item {item!r} is not in the catalog")
    try:
        event = Event(
            user_id=user,
            type=etype,
            timestamp=ts,
            item_id=item,
            session_id=text(spec.session_id),
            query=text(spec.query),
            request_id="" if rid_problem else rid,
        )
    except ValueError as exc:  # any schema rule not checked above still names the row: its error only
        return RowError(file, row, "<row>", str(exc))
    if rid_problem and warnings is not None:  # the event is kept: only its request_id is left out
        warnings.append(RowError(file, row, rid_col, f"{rid_problem} (kept without it)"))
    return event


def load_events(
    path: str | Path, fields: EventFields | None = None, *, catalog: Catalog | None = None, strict: bool = False
) -> EventLoad:
    """Read events; rows with a bad field (or an item unknown to ``catalog``) are reported and skipped;
    an event whose optional ``request_id`` is bad is kept without it, in ``warnings``.

    Events without a session id get one inferred from ``fields.session_gap_minutes`` (see
    :func:`infer_sessions`).
    """
    spec = fields or EventFields()
    file = str(path)
    types = spec.type_table()
    events: list[Event] = []
    errors: list[RowError] = []
    warnings: list[RowError] = []
    checked = not has_header(path)  # JSON Lines rows may omit keys
    for row, rec in read_rows(path):
        if isinstance(rec, RowError):
            errors.append(rec)
            continue
        if not checked:
            checked = True
            _check_columns(spec, rec, file)
        parsed = _parse_row(rec, spec, file, row, catalog, types, warnings)
        (errors if isinstance(parsed, RowError) else events).append(parsed)  # type: ignore[arg-type]
    if strict and errors:
        raise DataError(errors, f"{file}: {len(errors)} bad rows")
    if not events and errors:
        raise DataError(errors, f"{file}: no valid events")
    if spec.session_gap_minutes is not None:
        events = infer_sessions(events, spec.session_gap_minutes)
    return EventLoad(events, errors, warnings)


def _check_columns(spec: EventFields, header: Mapping[str, Any], file: str) -> None:
    """A fixed-header file (CSV, TSV, Parquet) lacking the user, timestamp or (with no
    ``default_type``) type column would fail on every row: say so once, with its columns."""
    needed = [spec.user_id, spec.timestamp] + ([spec.type] if spec.type and not spec.default_type else [])
    hint = ": map them with an event fields file (--event-fields, e.g. data/hm/event_fields.json)"
    require_columns(file, header, needed, "mapped column not in file", hint)


def load_event_log(
    path: str | Path, fields: str | Path | None, catalog: Catalog, say: Callable[[str], None] = print
) -> EventLog:
    """The behaviour log in ``path`` for ``catalog`` (``fields``: a JSON file mapping its columns,
    see :class:`EventFields`); the bad rows that were skipped are reported through ``say`` (the
    first ten), and so are events kept without a bad optional field. Shared by the CLI commands and
    the server's ``--events``."""
    loaded = load_events(path, EventFields.from_json(fields) if fields else None, catalog=catalog)
    if not loaded.events:
        say(f"warning: {path}: no events (the file is empty or holds only its header): nothing to recommend from")
    if loaded.errors:
        say(f"{path}: skipped {counted(len(loaded.errors), 'bad row')} (kept {len(loaded.events)}); first ones:")
        for e in loaded.errors[:10]:
            say(f"  {e}")
    if loaded.warnings:
        say(f"{path}: kept {counted(len(loaded.warnings), 'event')} without a bad optional field; first ones:")
        for e in loaded.warnings[:10]:
            say(f"  {e}")
    return EventLog.from_events(loaded.events, catalog)


def infer_sessions(events: Sequence[Event], gap_minutes: float = 30.0) -> list[Event]:
    """Give events without a session id one: per user, in time order, a new session starts after
    ``gap_minutes`` without an event (the inactivity timeout of web analytics). Ids are
    ``"auto:<user>:<n>"``; events that have a session id, and the order of the list, are kept."""
    if gap_minutes <= 0:
        raise ValueError("gap_minutes must be positive")
    gap = gap_minutes * 60.0
    missing = [i for i, e in enumerate(events) if not e.session_id]
    if not missing:
        return list(events)
    out = list(events)
    missing.sort(key=lambda i: (events[i].user_id, events[i].timestamp))
    user, last, n = "", -math.inf, -1
    for i in missing:
        e = events[i]
        if e.user_id != user:
            user, last, n = e.user_id, -math.inf, -1
        if e.timestamp - last > gap:
            n += 1
        last = e.timestamp
        out[i] = dataclasses.replace(e, session_id=f"auto:{user}:{n}")
    return out
