"""Answering a route with one thread hop and one serialization.

A plain ``def`` route with a ``response_model`` costs FastAPI three hops from the event loop to its
thread pool per request (each sync dependency, the endpoint, then the validation of the returned
model) and validates the response twice (the model is dumped to a dict and validated again before
it is written). :func:`answer` runs the route's work and the JSON encoding of its (already
validated) model in one pool thread and hands uvicorn the bytes; the route keeps its
``response_model`` for the OpenAPI schema. Measured in ``bench/bench_load.py --cpu-check``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

P = ParamSpec("P")
JSON = "application/json"
# A 503 for a part the server was not started with names it here, for clients (the storefront)
# to act on without reading the instruction in ``detail``, which is written for the operator.
ERROR_CODE = "X-Shelfwise-Error"
NO_RECOMMENDER = {ERROR_CODE: "no-recommender"}
NO_EVENT_LOG = {ERROR_CODE: "no-event-log"}


async def answer(work: Callable[P, BaseModel], *args: P.args, **kwargs: P.kwargs) -> Response:
    """``work(*args, **kwargs)`` in the thread pool, its model written as a JSON response (200);
    an exception it raises (``HTTPException``, ``Overloaded``) propagates to the app's handlers."""

    def run() -> bytes:
        return work(*args, **kwargs).model_dump_json().encode("utf-8")

    return Response(await run_in_threadpool(run), media_type=JSON)
