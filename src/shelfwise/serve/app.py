"""FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from shelfwise.serve.config import ServeConfig
from shelfwise.serve.deps import check_text_params
from shelfwise.serve.docs import add_offline_docs
from shelfwise.serve.metrics import Metrics
from shelfwise.serve.middleware import GuardMiddleware
from shelfwise.serve.routes import ROUTERS
from shelfwise.shelf import Shelf

STATIC = Path(__file__).parent / "static"
TITLE = "Shelfwise"


def create_app(
    shelf: Shelf, *, warmup: bool = True, report: Path | None = None, config: ServeConfig | None = None
) -> FastAPI:
    """``report``: an HTML evaluation report to serve at ``/report`` (the demo writes one).
    ``config``: write keys, Host allow-list, byte limits, access log (default: a loopback server
    with no key, so writes are open to this machine only, and Host must be a loopback name)."""
    cfg = config or ServeConfig()
    app = FastAPI(
        title=TITLE,
        version="0.1.0",
        description="Search and recommendation for online stores. Interactive docs at /docs.",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(check_text_params)],
    )
    app.state.shelf = shelf
    app.state.serve_config = cfg
    app.state.metrics = Metrics()
    app.add_middleware(GuardMiddleware, config=cfg, metrics=app.state.metrics)
    if warmup:
        shelf.searcher.warmup()
    for router in ROUTERS:
        app.include_router(router)
    add_offline_docs(app, TITLE)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/report", response_class=HTMLResponse, include_in_schema=False)
    def report_page() -> str:
        if report is None or not report.exists():
            raise HTTPException(404, "no evaluation report on this server (run 'shelfwise demo')")
        return report.read_text(encoding="utf-8")

    return app
