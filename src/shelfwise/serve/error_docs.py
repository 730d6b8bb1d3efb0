"""The error statuses routes answer, as OpenAPI ``responses`` (FastAPI documents only 200 and 422
by itself): a client generated from ``/openapi.json`` then knows the 404 / 401 / 503 it must handle."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shelfwise.serve import examples as ex
from shelfwise.serve.examples import exemplified
from shelfwise.serve.respond import ERROR_CODE


class ErrorOut(BaseModel):
    """An error answered by the server itself (not a parameter check: those are FastAPI's 422 list)."""

    model_config = ConfigDict(json_schema_extra=exemplified(ex.ERROR))

    detail: str = Field(description="what went wrong and what to do, in words for people: act on the status code")


Responses = dict[int | str, dict[str, Any]]  # FastAPI's own type for ``responses=``


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


UNKNOWN_ITEM: Responses = {404: _doc("unknown item id")}
BUSY = "server busy (load shedding): retry after the `Retry-After` header's seconds"
OVERLOAD: Responses = {503: _doc(BUSY)}
NEEDS_RECOMMENDER: Responses = {
    503: _doc(f"no recommender on this server (header `{ERROR_CODE}: no-recommender`), or {BUSY}")
}
NEEDS_EVENT_LOG: Responses = {
    503: _doc(f"no event log on this server (header `{ERROR_CODE}: no-event-log`; serve --events-db), or {BUSY}")
}
WRITE: Responses = {
    401: _doc("API key missing or invalid: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"),
    403: _doc("writes are closed: the server listens beyond loopback and no API key is configured"),
}
