"""GET /health and GET /metrics: live counts and Prometheus metrics (reads only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shelfwise.serve.metrics import CONTENT_TYPE, Metrics
from shelfwise.serve.schemas import HealthResponse
from shelfwise.shelf import Shelf

router = APIRouter(tags=["ops"])


@router.get("/health", response_model=HealthResponse)
def health(request: Request) -> HealthResponse:
    """Counts as of now: ``events`` = behaviour history loaded at start + events logged live since
    (``events_live``, the durable log's size); ``events_applied`` / ``consumer_lag``: how far the
    live consumer has got."""
    shelf: Shelf = request.app.state.shelf
    history = len(shelf.events) if shelf.events is not None else 0
    cons = shelf.live.consumer if shelf.live is not None else None
    st = cons.stats() if cons is not None else None
    live = st.last_seq if st is not None else 0
    return HealthResponse(
        status="ok",
        items=len(shelf.catalog),
        encoder=shelf.searcher.encoder.name,
        events=history + live,
        events_history=history,
        events_live=live,
        events_applied=st.applied_seq if st is not None else 0,
        consumer_lag=st.lag if st is not None else 0,
        consumer_running=st.running if st is not None else False,
    )


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format: requests and latency per route, events ingested, consumer lag."""
    shelf: Shelf = request.app.state.shelf
    reg: Metrics = request.app.state.metrics
    cons = shelf.live.consumer if shelf.live is not None else None
    return Response(reg.render(cons.stats() if cons is not None else None), media_type=CONTENT_TYPE)
