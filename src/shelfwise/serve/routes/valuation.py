"""GET /valuation/summary: the summary of the last written data-valuation report.

Reads the report folder from ``shelf.valuation_report`` (a path, set by whoever
builds the shelf, e.g. to the ``--out`` folder of ``shelfwise value``); parses nothing else.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request

from shelfwise.serve.error_docs import ErrorOut
from shelfwise.shelf import Shelf
from shelfwise.valuation.summary import ValuationSummary, load_valuation

router = APIRouter(prefix="/valuation", tags=["valuation"])


@router.get(
    "/summary",
    response_model=ValuationSummary,
    response_model_exclude_none=True,
    responses={404: {"model": ErrorOut, "description": "no valuation report on this server (serve --valuation DIR)"}},
)
def summary(request: Request) -> ValuationSummary:
    shelf: Shelf = request.app.state.shelf
    where = shelf.valuation_report
    if where is None:
        raise HTTPException(
            404,
            "no valuation report on this server: write one with `shelfwise value labels|events ... --out DIR` "
            "and serve it with `shelfwise serve --valuation DIR`",
        )
    try:
        return load_valuation(Path(where))
    except (FileNotFoundError, ValueError) as exc:  # no summary there, or not one (naming the file)
        raise HTTPException(404, str(exc)) from exc
