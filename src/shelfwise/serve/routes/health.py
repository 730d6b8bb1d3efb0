"""GET /health."""

from __future__ import annotations

from fastapi import APIRouter, Request

from shelfwise.serve.schemas import HealthResponse
from shelfwise.shelf import Shelf

router = APIRouter(tags=["ops"])


@router.get("/health", response_model=HealthResponse)
def health(request: Request) -> HealthResponse:
    shelf: Shelf = request.app.state.shelf
    return HealthResponse(
        status="ok",
        items=len(shelf.catalog),
        encoder=shelf.searcher.encoder.name,
        events=len(shelf.events) if shelf.events is not None else 0,
    )
