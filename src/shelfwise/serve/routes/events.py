"""POST /events and GET /events/stats: parse the body, call the live consumer, format.

Uses ``shelf.live.consumer`` (an :class:`~shelfwise.events.consumer.EventConsumer`, set up by
:func:`~shelfwise.shelf.enable_live`); when ``shelf.live`` is unset, ingestion answers 503.
Row validation is :func:`~shelfwise.events.rows.parse_event_rows` (timestamps more than a day
ahead of the server clock are rejected); appending, waking the consumer and waiting for
read-your-writes is :meth:`~shelfwise.events.consumer.EventConsumer.ingest`.

Batches are **partially accepted**: every valid row is committed (atomically, in request order)
and each bad row comes back in ``errors`` with its 0-based ``index``, the ``field`` and why, so a
client resends only the rows it fixes (resending the whole batch would duplicate the good ones).
A request with no valid row commits nothing and answers 422 with the same error list.

Writes need an API key unless the server is loopback-only with none configured
(:func:`~shelfwise.serve.deps.require_write`). Text values are bounded and an optional per-row
``event_id`` makes retries idempotent (:mod:`shelfwise.serve.ingest`): ``duplicates`` counts the
accepted rows that were already stored, ``stored`` the rows this request added. An ``event_id`` the
log holds for a different event is rejected like a bad row (``conflicts``; IETF Idempotency-Key
draft, Stripe: a key reused with another payload is a client error), so a batch of such rows alone
answers 422.

An optional per-row ``request_id`` names the ``/search`` or ``/recommend/*`` answer the event came
from (each answers one): the list a click, cart or purchase was made from, or a query event's own
search (Algolia Insights' ``queryID``). It is stored with the event and used for exact attribution
(``shelfwise ope --impressions``, the report's search analytics); a malformed one (not 1 to 64 ASCII
letters, digits or ``. _ : -``) rejects its row, field ``request_id``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from shelfwise.events.consumer import EventConsumer
from shelfwise.serve.deps import require_write, serve_config
from shelfwise.serve.error_docs import NEEDS_EVENT_LOG, WRITE, ErrorOut, Responses
from shelfwise.serve.ingest import ingest_rows
from shelfwise.serve.metrics import Metrics
from shelfwise.serve.respond import NO_EVENT_LOG, answer
from shelfwise.shelf import Shelf

router = APIRouter(tags=["events"])

_EXAMPLE = {"user_id": "u42", "type": "click", "item_id": "0108775015", "session_id": "s1", "event_id": "e-1"}


class RowErrorOut(BaseModel):
    index: int
    field: str
    message: str


class RejectedBatch(BaseModel):
    message: str
    errors: list[RowErrorOut]


class EventsRejected(BaseModel):
    """422 when no row of the batch is valid: nothing was stored (a parameter error such as
    ``wait_ms`` answers FastAPI's usual list instead)."""

    detail: RejectedBatch


POST_ERRORS: Responses = {
    **WRITE,
    413: {"model": ErrorOut, "description": "more events than --max-batch, or a body over --max-body-bytes"},
    415: {"model": ErrorOut, "description": "the body is not sent as application/json"},
    422: {"model": EventsRejected, "description": "no valid event in the batch: each row's index, field and why"},
    **NEEDS_EVENT_LOG,
}


class EventsAccepted(BaseModel):
    accepted: int = Field(description="valid rows, resent ones (duplicates) included")
    duplicates: int = Field(
        description="of those, rows whose event_id the log already held for the same event: not stored again"
    )
    stored: int = Field(description="rows this request added to the log: accepted - duplicates")
    rejected: int = Field(description="invalid rows, each in errors; the valid ones are stored all the same")
    conflicts: int = Field(
        0,
        description="of the rejected rows, those whose event_id the log already holds for a different event "
        "(another user_id, item_id, type, session_id, query, request_id, or a timestamp the row gives): a reused "
        "id, not a "
        "retry; not stored; each in errors (field event_id, naming the stored copy's sequence number and the "
        "fields that differ)",
    )
    first_seq: int = Field(description="log sequence number of the first row stored (0 when none was)")
    last_seq: int = Field(description="log sequence number of the last row stored (0 when none was)")
    applied: bool = Field(description="live state (recommendations, personalised search) reflects them already")
    errors: list[RowErrorOut] = Field(description="each rejected row: its 0-based index, the field and why")


class EventStats(BaseModel):
    events: int = Field(description="events in the live log (POST /events); /health's events adds the history")
    last_seq: int = Field(description="sequence number of the log's last event")
    applied_seq: int = Field(description="last sequence number the live consumer applied (/health: events_applied)")
    lag: int = Field(description="logged events not applied yet: last_seq - applied_seq")
    events_applied: int = Field(description="events this process's consumer applied since it started (a count)")
    target_errors: int = Field(description="failed attempts to apply a batch to a live model (see last_error)")
    consumer_running: bool = Field(description="the consumer thread is alive")
    last_error: str = Field(description="the consumer's last error, empty when none")
    events_dropped: dict[str, int] = Field(
        description="events a live model never absorbed (every attempt failed), by model class name"
    )


def _consumer(request: Request) -> EventConsumer:
    shelf: Shelf = request.app.state.shelf
    cons = shelf.live.consumer if shelf.live is not None else None
    if cons is None:
        raise HTTPException(
            503,
            "event ingestion is not configured: serve with `--events-db FILE` (a durable SQLite log; "
            "Python: shelfwise.shelf.enable_live)",
            headers=NO_EVENT_LOG,
        )
    return cons


@router.post("/events", response_model=EventsAccepted, dependencies=[Depends(require_write)], responses=POST_ERRORS)
async def post_events(
    request: Request,
    payload: Annotated[
        Any,
        Body(
            description="one event object or a list of them: user_id, type (query/view/click/cart/purchase), "
            "item_id (catalog id; optional for query), timestamp (unix seconds or ISO-8601; default now), "
            "session_id, query, event_id (optional; a retried event with the same id is stored once; the id "
            "reused for a different event is rejected: conflicts), request_id (optional: the request_id of the "
            "/search or /recommend answer the event came from, for exact attribution)",
            examples=[_EXAMPLE, [_EXAMPLE, {**_EXAMPLE, "type": "purchase", "event_id": "e-2"}]],
        ),
    ],
    wait_ms: Annotated[int, Query(ge=0, le=5000, description="wait until live state reflects the events")] = 0,
) -> Response:
    return await answer(_ingest, request, payload, wait_ms)


def _ingest(request: Request, payload: Any, wait_ms: int) -> EventsAccepted:
    """Validate and log the events (blocking: the event log's disk write, the wait for live state)."""
    cons = _consumer(request)
    shelf: Shelf = request.app.state.shelf
    limits = serve_config(request).limits
    if isinstance(payload, bytes):  # FastAPI hands over the raw body when it is not declared JSON
        ctype = request.headers.get("content-type", "")
        raise HTTPException(415, f"the body must be JSON: send 'Content-Type: application/json' (got {ctype!r})")
    rows = payload if isinstance(payload, list) else [payload]
    if not rows:
        raise HTTPException(422, "empty batch")
    if len(rows) > limits.max_batch:
        raise HTTPException(413, f"batch of {len(rows)} events; at most {limits.max_batch} per request")
    out = ingest_rows(rows, shelf.catalog, cons, limits, wait_ms / 1000.0)
    metrics: Metrics = request.app.state.metrics
    metrics.count_ingest(out.accepted - out.duplicates, out.duplicates, len(out.errors), out.conflicts)
    errors = [RowErrorOut(index=e.row, field=e.field, message=e.message) for e in out.errors]
    if not out.accepted:
        raise HTTPException(422, {"message": "no valid event", "errors": [e.model_dump() for e in errors]})
    return EventsAccepted(
        accepted=out.accepted,
        duplicates=out.duplicates,
        stored=out.accepted - out.duplicates,
        rejected=len(errors),
        conflicts=out.conflicts,
        first_seq=out.first_seq,
        last_seq=out.last_seq,
        applied=out.applied,
        errors=errors,
    )


@router.get("/events/stats", response_model=EventStats, responses=NEEDS_EVENT_LOG)
def event_stats(request: Request) -> EventStats:
    cons = _consumer(request)
    st = cons.stats()
    return EventStats(
        events=cons.store.count(),
        last_seq=st.last_seq,
        applied_seq=st.applied_seq,
        lag=st.lag,
        events_applied=st.events_applied,
        target_errors=st.target_errors,
        consumer_running=st.running,
        last_error=st.last_error,
        events_dropped=dict(st.events_dropped),
    )
