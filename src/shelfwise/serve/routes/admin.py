"""POST /admin/reload: swap in a saved shelf while serving (see :mod:`shelfwise.serve.reload`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response

from shelfwise.serve.deps import require_write
from shelfwise.serve.error_docs import WRITE, ErrorOut
from shelfwise.serve.fleet import DEFAULT_WAIT_S, MAX_WAIT_S
from shelfwise.serve.reload import Reloader, ReloadError, ReloadResult

router = APIRouter(prefix="/admin", tags=["admin"])
VALIDATION = "#/components/schemas/HTTPValidationError"
ERROR = "#/components/schemas/ErrorOut"


def _bad(loc: list[str], msg: str) -> dict[str, object]:
    """One entry of a 422 in FastAPI's own shape (``loc``, ``msg``, ``type``), as query checks answer."""
    return {"loc": loc, "msg": f"{loc[-1]}: {msg}", "type": "value_error"}


@router.post(
    "/reload",
    response_model=ReloadResult,
    response_model_exclude_none=True,  # one process: no "fleet", the answer as before
    dependencies=[Depends(require_write)],
    responses={
        202: {"description": "serve --workers N: reloaded here, but not every worker had swapped in wait_s"},
        409: {"model": ErrorOut, "description": "no shelf folder known (give one) or a reload already running"},
        422: {
            "description": "a bad parameter or body field: FastAPI's list naming it (`loc`); a shelf folder that "
            "does not load: `detail` a string saying why (the server keeps serving the previous shelf)",
            "content": {"application/json": {"schema": {"anyOf": [{"$ref": VALIDATION}, {"$ref": ERROR}]}}},
        },
        **WRITE,
    },
)
def reload(
    request: Request,
    response: Response,
    body: Annotated[
        Any, Body(description='optional: {"shelf": "<folder>"} (default: the folder the server was started with)')
    ] = None,
    wait_s: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_S,
            description="serve --workers N: seconds to wait for every worker to serve the new shelf (0: answer "
            "once this one has)",
        ),
    ] = DEFAULT_WAIT_S,
) -> ReloadResult:
    """Load the shelf folder the server was started with (``serve --shelf DIR``), or ``shelf`` in
    the body, and swap it in atomically; requests in flight finish on the previous shelf. 409 when
    no folder is known or a reload is running, 422 when the folder does not load (the server keeps
    serving the previous shelf). Needs the admin/write key (SIGHUP does the same). With
    ``serve --workers N`` the answer waits until every worker serves the new shelf (200, ``fleet``
    lists them); 202 when some had not within ``wait_s`` (they are still being replaced, or one
    failed to load: ``fleet.workers`` says which)."""
    reloader: Reloader = request.app.state.reloader
    if body is not None and not isinstance(body, dict):
        raise HTTPException(422, [_bad(["body"], 'the body is optional; when given: {"shelf": "<folder>"}')])
    if isinstance(body, dict) and set(body) - {"shelf"}:
        extra = sorted(set(body) - {"shelf"})[0]
        raise HTTPException(422, [_bad(["body", extra], 'unknown field; the body is {"shelf": "<folder>"}')])
    folder = body.get("shelf") if isinstance(body, dict) else None
    if folder is not None and (not isinstance(folder, str) or not folder.strip()):
        raise HTTPException(422, [_bad(["body", "shelf"], "must be a folder path")])
    path = Path(folder) if folder else None
    try:
        result = reloader.reload_everywhere(path, wait_s)
    except ReloadError as e:
        raise HTTPException(e.status, str(e)) from e
    if result.fleet is not None and not result.fleet.complete:
        response.status_code = 202
    return result
