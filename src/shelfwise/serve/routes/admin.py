"""POST /admin/reload: swap in a saved shelf while serving (see :mod:`shelfwise.serve.reload`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request

from shelfwise.serve.deps import require_write
from shelfwise.serve.reload import Reloader, ReloadError, ReloadResult

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reload", response_model=ReloadResult, dependencies=[Depends(require_write)])
def reload(
    request: Request,
    body: Annotated[
        Any, Body(description='optional: {"shelf": "<folder>"} (default: the folder the server was started with)')
    ] = None,
) -> ReloadResult:
    """Load the shelf folder the server was started with (``serve --shelf DIR``), or ``shelf`` in
    the body, and swap it in atomically; requests in flight finish on the previous shelf. 409 when
    no folder is known or a reload is running, 422 when the folder does not load (the server keeps
    serving the previous shelf). Needs the admin/write key (SIGHUP does the same)."""
    reloader: Reloader = request.app.state.reloader
    if body is not None and (not isinstance(body, dict) or set(body) - {"shelf"}):
        raise HTTPException(422, 'the body is optional; when given: {"shelf": "<folder>"}')
    folder = body.get("shelf") if isinstance(body, dict) else None
    if folder is not None and (not isinstance(folder, str) or not folder.strip()):
        raise HTTPException(422, '"shelf" must be a folder path')
    path = Path(folder) if folder else None
    try:
        return reloader.reload(path)
    except ReloadError as e:
        raise HTTPException(e.status, str(e)) from e
