"""ASGI middleware around every request: Host allow-list (400), body size limit (413), metrics and
a structured JSON access log line.

Pure ASGI (no per-request framework objects) so it costs microseconds. The body is read up to
``Limits.max_body_bytes`` before the app sees it, whatever the client declared: a lying or absent
``Content-Length`` (chunked upload) is caught while reading, and nothing past the limit is kept.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shelfwise.serve.config import ServeConfig
from shelfwise.serve.guard import host_allowed, host_of, safe_name
from shelfwise.serve.metrics import UNMATCHED, Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("shelfwise.access")
_MAX_LOGGED_PATH = 512


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k.lower() == name:
            return bytes(v).decode("latin-1")
    return None


async def _respond(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool, list[Message]]:
    """(body, within the limit, non-body messages such as a disconnect)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] != "http.request":
            return b"".join(chunks), True, [msg]
        chunk = bytes(msg.get("body", b""))
        size += len(chunk)
        if size > limit:
            return b"", False, []
        chunks.append(chunk)
        if not msg.get("more_body", False):
            return b"".join(chunks), True, []


_CONVERTER = re.compile(r":\w+}")  # "{item_id:path}" -> "{item_id}"


def _replay(body: bytes, pending: list[Message], receive: Receive) -> Receive:
    first: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *pending]

    async def replay() -> Message:
        return first.pop(0) if first else await receive()

    return replay


def route_label(scope: Scope) -> str:
    """The matched route's path template (without converters: ``/items/{item_id}``, as OpenAPI
    names it), or one shared label for unmatched paths."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return _CONVERTER.sub("}", path) if isinstance(path, str) else UNMATCHED


class GuardMiddleware:
    """Refuses requests for Host names outside ``config.host_names()`` (400) and bodies over
    ``config.limits.max_body_bytes`` (413); records every request in ``metrics`` and, when
    ``config.access_log``, logs it on ``shelfwise.access`` as one JSON object (method, route, path,
    status, ms, client)."""

    def __init__(self, app: ASGIApp, config: ServeConfig, metrics: Metrics) -> None:
        self.app = app
        self.config = config
        self.metrics = metrics
        self.hosts = config.host_names()
        self.max_body = config.limits.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500  # unless a response starts (an unhandled error answers 500)

        async def send_tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._guarded(scope, receive, send_tracked)
        finally:
            elapsed = time.perf_counter() - t0
            route = route_label(scope)
            method = str(scope.get("method", ""))
            self.metrics.observe(method, route, status, elapsed)
            if self.config.access_log and access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                line = {
                    "ts": round(time.time(), 3),
                    "method": method,
                    "route": route,
                    "path": str(scope.get("path", ""))[:_MAX_LOGGED_PATH],
                    "status": status,
                    "ms": round(elapsed * 1000, 3),
                    "client": str(client[0]) if client else "",
                }
                access_log.info(json.dumps(line))

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = _header(scope, b"host")
        if not host_allowed(host, self.hosts):
            shown = repr(safe_name(host_of(host))) if host else "missing"
            await _respond(send, 400, f"Host header {shown} not allowed (see --allowed-hosts)")
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > self.max_body):
            if declared.strip().isdigit():
                await _respond(send, 413, f"request body over {self.max_body} bytes")
            else:
                await _respond(send, 400, "invalid Content-Length")
            return
        body, ok, pending = await _read_body(receive, self.max_body)
        if not ok:
            await _respond(send, 413, f"request body over {self.max_body} bytes")
            return
        await self.app(scope, _replay(body, pending, receive), send)
