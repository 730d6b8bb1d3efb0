"""Untrusted request rows (``POST /events`` JSON) to typed events, with one error per bad row."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import RowError
from shelfwise.events.loader import EventFields, _parse_row
from shelfwise.events.schema import Event


@dataclass
class ParsedEvents:
    """Valid events with their index in the request, and one error per bad row."""

    events: list[Event] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


DEFAULT_MAX_FUTURE_S = 86400.0


def parse_event_rows(
    rows: Sequence[object],
    catalog: Catalog | None,
    *,
    source: str = "body",
    now: float | None = None,
    max_future_s: float = DEFAULT_MAX_FUTURE_S,
    also_known: Sequence[str] = (),
) -> ParsedEvents:
    """Validate raw JSON rows (``user_id``, ``type``, ``item_id``, optional ``timestamp`` defaulting
    to ``now`` (server clock), ``session_id``, ``query``, ``request_id``: the ``/search`` or
    ``/recommend`` answer the event came from, see :func:`~shelfwise.events.schema.request_id_problem`).
    Errors name the 0-based row index and the field. A timestamp more than ``max_future_s`` seconds
    after ``now`` (client clock skew allowance, default one day) is rejected as a ``timestamp``
    error. ``also_known``: fields the caller takes out of the rows before (e.g. ``event_id``), named
    among the known ones in an unknown-field error."""
    if not max_future_s >= 0:
        raise ValueError("parse_event_rows: max_future_s must be >= 0")
    spec = EventFields()
    known = {"user_id", "item_id", "type", "timestamp", "session_id", "query", "request_id"}
    ts_now = time.time() if now is None else now
    out = ParsedEvents()
    for i, rec in enumerate(rows):
        if not isinstance(rec, Mapping):
            out.errors.append(RowError(source, i, "<row>", "each event must be a JSON object"))
            continue
        extra = sorted(set(rec) - known)
        if extra:
            names = sorted(known.union(also_known))
            out.errors.append(RowError(source, i, str(extra[0]), f"unknown field; known: {names}"))
            continue
        bad = next((k for k in known if rec.get(k) is not None and not isinstance(rec[k], str | int | float)), None)
        if bad is not None:
            out.errors.append(RowError(source, i, bad, "must be a string or number"))
            continue
        filled = dict(rec)
        if filled.get("timestamp") in (None, ""):
            filled["timestamp"] = ts_now
        parsed = _parse_row(filled, spec, source, i, catalog)
        if isinstance(parsed, RowError):
            out.errors.append(parsed)
        elif not parsed.timestamp <= ts_now + max_future_s:
            msg = f"{parsed.timestamp:.0f} is more than {max_future_s:g} s ahead of the server clock ({ts_now:.0f})"
            out.errors.append(RowError(source, i, spec.timestamp, msg))
        else:
            out.events.append(parsed)
            out.indices.append(i)
    return out
