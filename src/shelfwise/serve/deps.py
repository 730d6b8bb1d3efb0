"""FastAPI dependencies mapping :mod:`shelfwise.serve.guard` verdicts to HTTP errors."""

from __future__ import annotations

import re

from fastapi import HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shelfwise.serve.config import ServeConfig
from shelfwise.serve.guard import check_write, presented_key, safe_name, text_problem
from shelfwise.serve.params import invalid

_PATH_CONVERTER = re.compile(r":\w+}")  # {item_id:path}


def serve_config(request: Request) -> ServeConfig:
    config: ServeConfig = request.app.state.serve_config
    return config


async def require_write(request: Request) -> None:
    """Dependency of every write/admin route: 401 without a valid key when keys are configured,
    403 when writes are closed (beyond loopback, no key configured). ``async``: no I/O, so FastAPI
    runs it on the event loop instead of a thread-pool hop."""
    key = presented_key(request.headers.get("authorization"), request.headers.get("x-api-key"))
    verdict = check_write(serve_config(request), key)
    if verdict.status == 401:
        raise HTTPException(401, verdict.message, headers={"WWW-Authenticate": "Bearer"})
    if not verdict.allowed:
        raise HTTPException(verdict.status, verdict.message)


async def check_text_params(request: Request) -> None:
    """App-wide dependency: every path and query parameter within its byte limit (``q``/``query``:
    ``max_query_bytes``, any other: ``max_id_bytes``), else 422 naming the parameter. ``async``
    (microseconds of work, no I/O) so that FastAPI runs it on the event loop rather than paying a
    hop to its thread pool on every request."""
    limits = serve_config(request).limits
    params = [("path", k, v) for k, v in request.path_params.items() if isinstance(v, str)]
    params += [("query", k, v) for k, v in request.query_params.multi_items()]
    for where, name, value in params:
        problem = text_problem(name, limits.max_id_bytes) and "parameter name is not valid text or too long"
        problem = problem or text_problem(value, limits.for_field(name))
        if problem is not None:
            field = safe_name(name)
            raise invalid(field, problem, where)


def _query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameter names a route reads, its dependencies' included (a few microseconds:
    walked per request rather than cached, as routes are not hashable)."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def reject_unknown_params(request: Request) -> None:
    """App-wide dependency: a query parameter that the matched API route does not read is a 422
    naming it and what the route takes (``/search?color=red`` answered unfiltered results, as if
    filtered; ``/recommend/session?items=X`` popular items). Not checked: pages outside the API
    schema (the storefront ``/``, whose links carry its own state) and routes that read no query
    parameter (``/health``, ``/metrics``, ``/items/{id}``: nothing there to misread, and a probe's
    cache buster must not fail a health check)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    known = _query_names(route.dependant)
    unknown = [name for name in request.query_params if name not in known]
    if known and unknown:
        field = safe_name(unknown[0])
        path = _PATH_CONVERTER.sub("}", route.path)  # /recommend/item/{item_id}, as documented
        raise invalid(field, f"unknown parameter; {path} takes {', '.join(sorted(known))}")
