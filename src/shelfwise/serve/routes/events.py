"""POST /events and GET /events/stats: parse the body, call the live consumer, format.

Uses ``shelf.live.consumer`` (an :class:`~shelfwise.events.live.EventConsumer`, set up by
:func:`~shelfwise.shelf.enable_live`); when ``shelf.live`` is unset, ingestion answers 503.
Row validation is :func:`~shelfwise.events.live.parse_event_rows` (timestamps more than a day
ahead of the server clock are rejected); appending, waking the consumer and waiting for
read-your-writes is :meth:`~shelfwise.events.live.EventConsumer.ingest`.

Batches are **partially accepted**: every valid row is committed (atomically, in request order)
and each bad row comes back in ``errors`` with its 0-based ``index``, the ``field`` and why, so a
client resends only the rows it fixes (resending the whole batch would duplicate the good ones).
A request with no valid row commits nothing and answers 422 with the same error list.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from pydantic import BaseModel

from shelfwise.events.live import EventConsumer, parse_event_rows
from shelfwise.shelf import Shelf

router = APIRouter(tags=["events"])

MAX_BATCH = 10_000

_EXAMPLE = {"user_id": "u42", "type": "click", "item_id": "0108775015", "session_id": "s1"}


class RowErrorOut(BaseModel):
    index: int
    field: str
    message: str


class EventsAccepted(BaseModel):
    accepted: int
    rejected: int
    first_seq: int
    last_seq: int
    applied: bool
    errors: list[RowErrorOut]


class EventStats(BaseModel):
    events: int
    last_seq: int
    applied_seq: int
    lag: int
    events_applied: int
    target_errors: int
    consumer_running: bool
    last_error: str
    events_dropped: dict[str, int]


def _consumer(request: Request) -> EventConsumer:
    shelf: Shelf = request.app.state.shelf
    cons = shelf.live.consumer if shelf.live is not None else None
    if cons is None:
        raise HTTPException(503, "event ingestion is not configured (shelf.live is unset; see enable_live)")
    return cons


@router.post("/events", response_model=EventsAccepted)
def post_events(
    request: Request,
    payload: Annotated[
        Any,
        Body(
            description="one event object or a list of them: user_id, type (query/view/click/cart/purchase), "
            "item_id (catalog id; optional for query), timestamp (unix seconds or ISO-8601; default now), "
            "session_id, query",
            examples=[_EXAMPLE, [_EXAMPLE, {**_EXAMPLE, "type": "purchase"}]],
        ),
    ],
    wait_ms: Annotated[int, Query(ge=0, le=5000, description="wait until live state reflects the events")] = 0,
) -> EventsAccepted:
    cons = _consumer(request)
    shelf: Shelf = request.app.state.shelf
    rows = payload if isinstance(payload, list) else [payload]
    if not rows:
        raise HTTPException(422, "empty batch")
    if len(rows) > MAX_BATCH:
        raise HTTPException(413, f"batch of {len(rows)} events; at most {MAX_BATCH} per request")
    parsed = parse_event_rows(rows, shelf.catalog)
    errors = [RowErrorOut(index=e.row, field=e.field, message=e.message) for e in parsed.errors]
    if not parsed.events:
        raise HTTPException(422, {"message": "no valid event", "errors": [e.model_dump() for e in errors]})
    res = cons.ingest(parsed.events, wait_ms / 1000.0)
    return EventsAccepted(
        accepted=len(parsed.events),
        rejected=len(errors),
        first_seq=res.first_seq,
        last_seq=res.last_seq,
        applied=res.applied,
        errors=errors,
    )


@router.get("/events/stats", response_model=EventStats)
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
