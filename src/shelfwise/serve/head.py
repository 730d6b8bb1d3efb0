"""HEAD wherever GET works (RFC 9110, 9.3.2): load balancers and uptime checkers probe with HEAD.

FastAPI routes answer only the methods they declare, so HEAD met 405 on every GET route that did
not name it. :class:`HeadMiddleware`, the innermost middleware, hands a HEAD request to the app as
the GET it mirrors, once, and sends the GET's status and headers (``Content-Length`` and
``Content-Type`` included) with an empty body. The middlewares around it (Host allow-list, body
limit, load shedding, CORS, metrics and the access log) see the request as HEAD, under the route it
matched; a path with no GET answers as GET would (404, or 405 naming the methods it takes).
"""

from __future__ import annotations

from shelfwise.serve.middleware import ASGIApp, Message, Receive, Scope, Send

# what the router records in the request's scope; copied back so the access log and the metrics
# name the route a HEAD matched
_ROUTED_KEYS = ("route", "endpoint", "path_params")
# response messages that carry body bytes (the last two: ASGI extensions some servers offer)
_BODY_MESSAGES = ("http.response.body", "http.response.pathsend", "http.response.zerocopysend")


class HeadMiddleware:
    """Runs a HEAD request as its GET and drops the body the GET sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return
        # a copy: the server reads the method from its own scope to send no body after the headers
        as_get = {**scope, "method": "GET"}

        async def headers_only(message: Message) -> None:
            if message["type"] in _BODY_MESSAGES:
                message = {"type": "http.response.body", "body": b"", "more_body": message.get("more_body", False)}
            await send(message)

        try:
            await self.app(as_get, receive, headers_only)
        finally:
            for key in _ROUTED_KEYS:
                if key in as_get:
                    scope[key] = as_get[key]
