"""FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from shelfwise.encode.executor import Overloaded
from shelfwise.retrieve.facet_codes import facet_codes
from shelfwise.serve.config import ServeConfig, browser_origin
from shelfwise.serve.deps import check_text_params, reject_unknown_params
from shelfwise.serve.docs import add_offline_docs
from shelfwise.serve.head import HeadMiddleware
from shelfwise.serve.metrics import Metrics
from shelfwise.serve.middleware import GuardMiddleware
from shelfwise.serve.reload import Reloader
from shelfwise.serve.respond import ERROR_CODE
from shelfwise.serve.routes import ROUTERS
from shelfwise.serve.setup import ShelfRecipe
from shelfwise.serve.shedding import SheddingMiddleware, ShedStats
from shelfwise.serve.workload import bound_shelf, encode_executor
from shelfwise.shelf import Shelf, close_event_log

STATIC = Path(__file__).parent / "static"
TITLE = "Shelfwise"
# the storefront's own files (served locally: the page loads nothing from elsewhere)
STATIC_FILES = {
    "store.css": "text/css",
    "store.js": "text/javascript",
    "i18n.js": "text/javascript",  # the page's own wording, English and Simplified Chinese
    "placeholder.svg": "image/svg+xml",
}
NO_REPORT = (
    "no evaluation report on this server: write one with `shelfwise report --index DIR --out report.html` "
    "and serve it with `shelfwise serve --report report.html` (`shelfwise demo` serves its own)"
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At shutdown, the serving shelf's event consumer stops and its event log closes: SQLite then
    checkpoints its write-ahead log and removes ``-wal`` / ``-shm`` beside the file when this was
    its last connection (``--workers N``: the last worker to stop)."""
    yield
    close_event_log(app.state.shelf)


def create_app(
    shelf: Shelf,
    *,
    warmup: bool = True,
    report: Path | None = None,
    config: ServeConfig | None = None,
    prepare: Callable[[Path], Shelf] | None = None,
) -> FastAPI:
    """``report``: an HTML evaluation report to serve at ``/report`` (``shelfwise report`` writes one;
    without it ``/report`` answers 404 naming that command and ``serve --report``).
    ``config``: write keys, Host allow-list, byte limits, access log (default: a loopback server
    with no key, so writes are open to this machine only, and Host must be a loopback name).
    ``prepare``: how ``POST /admin/reload`` turns a shelf folder into the serving shelf: the recipe
    that made ``shelf`` (``shelfwise serve`` passes its :class:`~shelfwise.serve.setup.ShelfRecipe`);
    default: :meth:`ShelfRecipe.of` ``shelf``, its event log, exploration share and valuation report."""
    cfg = config or ServeConfig()
    app = FastAPI(
        title=TITLE,
        version="0.1.0",
        description="Search and recommendation for online stores. Interactive docs at /docs.",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(check_text_params), Depends(reject_unknown_params)],
        lifespan=_lifespan,
    )
    executor = encode_executor(cfg.capacity)  # one per process: query embeddings on a fixed pool
    prep = prepare or ShelfRecipe.of(shelf)
    app.state.shelf = bound_shelf(shelf, executor)
    app.state.serve_config = cfg
    app.state.metrics = Metrics()
    app.state.shed = ShedStats()
    app.state.encode_executor = executor
    app.state.reloader = Reloader(app.state, shelf.source, lambda path: bound_shelf(prep(path), executor))
    app.add_middleware(HeadMiddleware)  # innermost: HEAD wherever GET works, seen as HEAD by those around it
    app.add_middleware(SheddingMiddleware, capacity=cfg.capacity, stats=app.state.shed)
    app.add_middleware(GuardMiddleware, config=cfg, metrics=app.state.metrics)  # counts 503s too
    if cfg.cors_origins:  # outermost: preflights are answered, not queued, and the guard's own 400 / 413 carry
        app.add_middleware(  # the CORS headers, so a page reads the status (a preflight carries no data)
            CORSMiddleware,
            allow_origins=list(dict.fromkeys(browser_origin(o) for o in cfg.cors_origins)),
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=["Retry-After", ERROR_CODE],  # a page reads which part a 503 lacks
            max_age=600,
        )

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> JSONResponse:  # counted by the executor's stats
        retry = str(cfg.capacity.retry_after_s)  # the same Retry-After as a shed request
        return JSONResponse({"detail": f"server busy: {exc}"}, 503, {"Retry-After": retry})

    if warmup:
        shelf.searcher.warmup()
        shelf.suggestions().examples(shelf.catalog)  # suggestions (if not saved) and the search hint, made now
        facet_codes(shelf.catalog)  # the catalog's facet value codes (seconds at 1M products): not in a request
    for router in ROUTERS:
        app.include_router(router)
    add_offline_docs(app, TITLE)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/favicon.ico", include_in_schema=False, status_code=204)
    def favicon() -> Response:  # browsers ask on every page (/docs too): no 404 line in the access log
        return Response(status_code=204)

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> FileResponse:
        if name not in STATIC_FILES:
            raise HTTPException(404, f"no static file {name!r}")
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})

    @app.get("/report", response_class=HTMLResponse, include_in_schema=False)
    def report_page() -> str:  # the storefront asks HEAD /report whether there is one before linking it
        if report is None:
            raise HTTPException(404, NO_REPORT)
        if not report.exists():
            raise HTTPException(404, f"{report.name}: the report file is gone; {NO_REPORT}")
        return report.read_text(encoding="utf-8")

    return app
