"""FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from shelfwise.serve.routes import ROUTERS
from shelfwise.shelf import Shelf

STATIC = Path(__file__).parent / "static"


def create_app(shelf: Shelf, *, warmup: bool = True, report: Path | None = None) -> FastAPI:
    """``report``: an HTML evaluation report to serve at ``/report`` (the demo writes one)."""
    app = FastAPI(
        title="Shelfwise",
        version="0.1.0",
        description="Search and recommendation for online stores. Interactive docs at /docs.",
    )
    app.state.shelf = shelf
    if warmup:
        shelf.searcher.warmup()
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/report", response_class=HTMLResponse, include_in_schema=False)
    def report_page() -> str:
        if report is None or not report.exists():
            raise HTTPException(404, "no evaluation report on this server (run 'shelfwise demo')")
        return report.read_text(encoding="utf-8")

    return app
