"""Interactive API docs (``/docs``, ``/redoc``) that work offline.

FastAPI's default pages load Swagger UI / ReDoc from a CDN (and Google Fonts), so ``/docs`` is
blank on an air-gapped server. The same files ship in the PyPI package ``fastapi-offline`` (MIT;
Swagger UI 5 and ReDoc 2 bundles), installed by the ``serve`` extra; they are served from
``/docs-assets/<name>`` and the pages point there. Without the package the pages say how to
install it instead of reaching out to the internet.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS_URL = "/docs-assets"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
_MISSING = (
    "<!doctype html><title>API docs unavailable</title><p>The offline API docs need the "
    "<code>fastapi-offline</code> package: <code>pip install 'shelfwise[serve]'</code>. "
    "The OpenAPI schema is at <a href='/openapi.json'>/openapi.json</a>.</p>"
)


def assets_dir() -> Path | None:
    """Folder holding the Swagger UI / ReDoc files, or None when the package is not installed."""
    try:
        folder = Path(str(resources.files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        return None
    return folder if all((folder / name).is_file() for name in _ASSETS) else None


def add_offline_docs(app: FastAPI, title: str) -> None:
    """Register ``/docs``, its OAuth2 redirect, ``/redoc`` and the asset route on ``app`` (created
    with ``docs_url=None, redoc_url=None``)."""
    folder = assets_dir()
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_page() -> HTMLResponse:
        if folder is None:
            return HTMLResponse(_MISSING, status_code=503)
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=redirect_url,
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc_page() -> HTMLResponse:
        if folder is None:
            return HTMLResponse(_MISSING, status_code=503)
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    def asset(name: str) -> FileResponse:
        media = _ASSETS.get(name)
        if folder is None or media is None:  # a fixed list: no path is ever built from the request
            raise HTTPException(404, "no such docs asset")
        return FileResponse(folder / name, media_type=media, headers={"Cache-Control": "public, max-age=86400"})
