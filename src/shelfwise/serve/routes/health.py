"""GET /health and GET /metrics: live counts and Prometheus metrics (reads only)."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shelfwise.retrieve import HybridSearcher
from shelfwise.serve.metrics import CONTENT_TYPE, Metrics, impression_lines, with_label
from shelfwise.serve.schemas import HealthResponse
from shelfwise.serve.shedding import ShedStats
from shelfwise.shelf import Shelf

router = APIRouter(tags=["ops"])


@router.get("/health", response_model=HealthResponse)
@router.head("/health", response_model=HealthResponse)  # documents HEAD for uptime checkers (HeadMiddleware answers it)
def health(request: Request) -> HealthResponse:
    """Counts as of now: ``events`` = behaviour history loaded at start (the events file, or for a
    saved shelf the interactions its recommender holds) + events logged live since (``events_live``,
    the durable log's size); ``events_applied`` / ``consumer_lag``: how far the live consumer has got."""
    shelf: Shelf = request.app.state.shelf
    if shelf.events is not None:
        history = len(shelf.events)
    else:
        history = shelf.recommender.fitted_interactions if shelf.recommender is not None else 0
    cons = shelf.live.consumer if shelf.live is not None else None
    st = cons.stats() if cons is not None else None
    live = st.last_seq if st is not None else 0
    return HealthResponse(
        status="ok",
        products=len(shelf.catalog),
        items=len(shelf.catalog),  # deprecated: products' old name
        encoder=shelf.searcher.encoder.name,
        events=history + live,
        events_history=history,
        events_live=live,
        events_applied=st.applied_seq if st is not None else 0,
        consumer_lag=st.lag if st is not None else 0,
        consumer_running=st.running if st is not None else False,
        worker=os.getpid(),
        shelf_id=shelf.shelf_id,
        language=catalog_language(shelf.searcher),
    )


def catalog_language(searcher: HybridSearcher) -> str:
    """en, zh or mixed: the profile saved with the index, else (an index saved before profiles were
    recorded) the one its cross-language reading made of the catalog, once."""
    profile = searcher.language
    return profile.language if profile is not None else searcher.bilingual.language


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format: requests and latency per route, events ingested, consumer lag, load
    shedding (requests answered 503 by reason, in flight, queued) and the impression log (explored
    lists sampled / skipped / logged / dropped, the sampling rate) of this worker process."""
    shelf: Shelf = request.app.state.shelf
    reg: Metrics = request.app.state.metrics
    cons = shelf.live.consumer if shelf.live is not None else None
    shed: ShedStats = request.app.state.shed
    text = reg.render(cons.stats() if cons is not None else None)
    text += shed.render(request.app.state.serve_config.capacity, request.app.state.encode_executor)
    if shelf.impressions is not None:
        text += impression_lines(shelf.impressions.stats())
    worker = getattr(request.app.state, "worker_label", None)  # set by `serve --workers N`
    return Response(with_label(text, "worker", worker) if worker else text, media_type=CONTENT_TYPE)
