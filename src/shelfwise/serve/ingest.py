"""Event ingestion for the HTTP API, without HTTP: bound untrusted rows, dedupe by ``event_id``,
append durably, wake the live consumer, optionally wait for read-your-writes.

Rows are first checked here for what the generic row parser (:func:`~shelfwise.events.rows.parse_event_rows`)
does not bound: every text value's UTF-8 size (ids, type, timestamp text: ``Limits.max_id_bytes``;
``query``: ``Limits.max_query_bytes``), lone surrogates (JSON ``"\\ud800"``: not storable), and
integer timestamps too large for a float. Each such row is rejected with its index and field,
like any other bad row (the batch is partially accepted).

``event_id`` (optional, a non-empty string or integer per row) makes ingestion idempotent: the
:class:`~shelfwise.events.store.EventStore` stores each id once (its UNIQUE index survives
restarts), so a client may resend a whole batch after a timeout; rows whose id is already stored,
or repeated within the batch, count as ``duplicates`` and are not stored again. A row whose id
the log holds for a *different* event (another user, item, type, session, query, request id, or a timestamp
the row gives: :mod:`shelfwise.events.idempotency`) is a reused id, not a retry: it is rejected
like a bad row (field ``event_id``, naming the stored copy and the fields that differ) and counted
in ``conflicts``, not stored and not counted as a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import RowError
from shelfwise.events.consumer import EventConsumer
from shelfwise.events.idempotency import find_conflicts
from shelfwise.events.rows import parse_event_rows
from shelfwise.serve.config import Limits
from shelfwise.serve.guard import safe_name, text_problem

SOURCE = "body"
EVENT_ID = "event_id"
WRAPPER = "events"  # {"events": [...]}: the envelope other engines take, answered with a clear error
_FIELDS = ("user_id", "item_id", "type", "timestamp", "session_id", "query", "request_id")


@dataclass(frozen=True)
class IngestOutcome:
    """``accepted``: valid rows acknowledged (stored now, or stored earlier: ``duplicates``);
    ``first_seq``..``last_seq``: log positions of the rows stored now (0, 0 when all were
    duplicates); ``applied``: live state reflects every accepted row; ``errors``: one per
    rejected row, ``row`` being its 0-based index in the request; ``conflicts``: of those, rows
    whose ``event_id`` the log holds for a different event."""

    accepted: int
    duplicates: int
    first_seq: int
    last_seq: int
    applied: bool
    errors: list[RowError] = field(default_factory=list)
    conflicts: int = 0


def _value_problem(name: str, value: object, limits: Limits) -> str | None:
    if isinstance(value, str):
        return text_problem(value, limits.for_field(name))
    if isinstance(value, int) and not isinstance(value, bool):
        if name == "timestamp":
            try:
                float(value)
            except OverflowError:
                return "out of range for a timestamp"
        digits = len(str(abs(value)))  # ints are bounded by the JSON parser (4300 digits)
        if digits > limits.for_field(name):
            return f"too long: {digits} digits, at most {limits.for_field(name)}"
    return None


def _check_row(index: int, rec: Mapping[object, object], limits: Limits) -> RowError | str | None:
    """A row's error, else its ``event_id`` (None when it has none)."""
    for key in rec:
        if not isinstance(key, str) or text_problem(key, limits.max_id_bytes):
            return RowError(SOURCE, index, safe_name(str(key)), "field name is not valid text or is too long")
    if isinstance(rec.get(WRAPPER), list) and not any(k in rec for k in _FIELDS):
        return RowError(
            SOURCE, index, WRAPPER, 'the body is one event object or a JSON array of events, not {"events": [...]}'
        )
    for name in (*_FIELDS, EVENT_ID):
        problem = _value_problem(name, rec.get(name), limits)
        if problem is not None:
            return RowError(SOURCE, index, name, problem)
    eid = rec.get(EVENT_ID)
    if eid is None:
        return None
    if isinstance(eid, bool) or not isinstance(eid, str | int):
        return RowError(SOURCE, index, EVENT_ID, "must be a string or integer")
    text = str(eid).strip()
    if not text:
        return RowError(SOURCE, index, EVENT_ID, "must be non-empty when given")
    return text


@dataclass
class CheckedRows:
    """Rows that passed the byte/Unicode checks (``event_id`` removed), their request indices and
    ids, and the errors of the others."""

    rows: list[object] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    event_ids: list[str | None] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def check_rows(rows: Sequence[object], limits: Limits) -> CheckedRows:
    """Bound every row's text and pull out its ``event_id``; non-object rows pass through (the
    row parser reports them)."""
    out = CheckedRows()
    for i, rec in enumerate(rows):
        eid: str | None = None
        if isinstance(rec, Mapping):
            verdict = _check_row(i, rec, limits)
            if isinstance(verdict, RowError):
                out.errors.append(verdict)
                continue
            eid = verdict
            rec = {k: v for k, v in rec.items() if k != EVENT_ID}
        out.rows.append(rec)
        out.indices.append(i)
        out.event_ids.append(eid)
    return out


def ingest_rows(
    rows: Sequence[object], catalog: Catalog, consumer: EventConsumer, limits: Limits, wait_s: float = 0.0
) -> IngestOutcome:
    """Validate ``rows``, durably append the valid ones not already stored (by ``event_id``), wake
    ``consumer`` and, when ``wait_s`` > 0, wait that long for live state to reflect them. With no
    valid row nothing is written (``accepted`` = 0)."""
    if not wait_s >= 0:
        raise ValueError("ingest_rows: wait_s must be >= 0")
    checked = check_rows(rows, limits)
    parsed = parse_event_rows(checked.rows, catalog, source=SOURCE, also_known=(EVENT_ID,))
    errors = checked.errors + [RowError(e.file, checked.indices[e.row], e.field, e.message) for e in parsed.errors]
    errors.sort(key=lambda e: e.row)
    if not parsed.events:
        return IngestOutcome(0, 0, 0, 0, False, errors)
    ids = [checked.event_ids[j] for j in parsed.indices]
    res = consumer.store.append_unique(parsed.events, ids)
    if res.stored:
        consumer.notify()
    given = [_gives_timestamp(checked.rows[j]) for j in parsed.indices]
    conflicts = find_conflicts(consumer.store, parsed.events, ids, res, given)
    if conflicts:
        errors += [RowError(SOURCE, checked.indices[parsed.indices[c.index]], EVENT_ID, c.message()) for c in conflicts]
        errors.sort(key=lambda e: e.row)
    target = res.max_seq
    applied = consumer.wait_for(target, wait_s) if wait_s > 0 else consumer.applied_seq >= target
    n = len(conflicts)
    return IngestOutcome(
        len(parsed.events) - n, res.duplicates - n, res.first_seq, res.last_seq, applied, errors, conflicts=n
    )


def _gives_timestamp(row: object) -> bool:
    """Whether a request row sets its timestamp (else the parser takes the server's clock)."""
    return isinstance(row, Mapping) and row.get("timestamp") not in (None, "")
