"""Load shedding: a bounded number of requests in flight and a bounded, time-limited wait queue
per process; beyond them a request is answered 503 with ``Retry-After`` at once.

Pure ASGI on the event loop (no locks: slots are counted between awaits). A finished request hands
its slot straight to the oldest waiter (first come, first served). A request that waits longer
than ``queue_timeout_s`` leaves the queue with 503 too, so overload costs a client milliseconds to
``queue_timeout_s``, never tens of seconds. The wait allowed is controlled delay (Nichols & Jacobson,
2012, "Controlling Queue Delay"; as Facebook's RPC servers apply it, Maurer, 2015, "Fail at Scale"):
a queue that empties now and then absorbs a burst, so a newcomer may wait ``queue_timeout_s``; a
queue that has not been empty for ``queue_interval_s`` is standing (arrivals outpace the cores),
and a newcomer then waits at most ``queue_target_s``. Under sustained overload the admitted
requests keep a short wait and the server does not fall ever further behind its clients.
``/health`` and ``/metrics`` are never shed.
:meth:`ShedStats.render` adds the counts to ``/metrics``; ``reason="encoder_busy"`` (requests the
query-encoder executor refused) is read from the executor's own
:class:`~shelfwise.encode.executor.ExecutorStats`, the one count of that event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass

from shelfwise.encode.executor import EncodeExecutor
from shelfwise.serve.capacity import EXEMPT_PATHS, Capacity
from shelfwise.serve.metrics import scalar_lines
from shelfwise.serve.middleware import ASGIApp, Receive, Scope, Send

REASONS = ("queue_full", "queue_timeout", "encoder_busy")


@dataclass
class ShedStats:
    """Counts of one process: requests admitted, shed by this middleware per reason; current
    in-flight and queued (encoder refusals are counted by the executor)."""

    admitted: int = 0
    queue_full: int = 0
    queue_timeout: int = 0
    inflight: int = 0
    queued: int = 0

    def render(self, capacity: Capacity, executor: EncodeExecutor | None = None) -> str:
        """Prometheus exposition lines (appended to ``/metrics``)."""
        name = "shelfwise_shed_requests_total"
        out = [f"# HELP {name} Requests answered 503 (overload) by reason.", f"# TYPE {name} counter"]
        shed = {"queue_full": self.queue_full, "queue_timeout": self.queue_timeout}
        stats = executor.stats if executor is not None else None
        shed["encoder_busy"] = stats.rejected if stats is not None else 0
        out += [f'{name}{{reason="{r}"}} {shed[r]}' for r in REASONS]
        out += scalar_lines(
            ("shelfwise_admitted_requests_total", "counter", self.admitted, "Requests given an in-flight slot."),
            ("shelfwise_inflight_requests", "gauge", self.inflight, "Requests running now."),
            ("shelfwise_queued_requests", "gauge", self.queued, "Requests waiting for a slot now."),
            ("shelfwise_max_inflight", "gauge", capacity.max_inflight, "In-flight limit (0: no shedding)."),
            ("shelfwise_max_queue", "gauge", capacity.max_queue, "Wait queue limit."),
            ("shelfwise_encoder_pending", "gauge", executor.pending if executor else 0, "Encoder calls admitted."),
            ("shelfwise_encoder_calls_total", "counter", stats.completed if stats else 0, "Encoder calls run."),
        )
        return "\n".join(out) + "\n"


async def respond_overloaded(send: Send, detail: str, retry_after_s: int) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after_s).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SheddingMiddleware:
    """At most ``capacity.max_inflight`` requests inside ``app`` at once and ``capacity.max_queue``
    waiting (each at most ``capacity.queue_timeout_s``); 503 + ``Retry-After`` beyond."""

    def __init__(self, app: ASGIApp, capacity: Capacity, stats: ShedStats) -> None:
        self.app = app
        self.capacity = capacity
        self.stats = stats
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._standing_since = 0.0  # loop time the queue last went from empty to non-empty

    def _wait_allowed(self, now: float) -> float:
        """Seconds a request queued at ``now`` may wait: ``queue_target_s`` while the queue stands."""
        cap = self.capacity
        if self._waiters and now - self._standing_since >= cap.queue_interval_s:
            return min(cap.queue_target_s, cap.queue_timeout_s)
        return cap.queue_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.capacity.shedding or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if not await self._acquire(send):
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _acquire(self, send: Send) -> bool:
        st, cap = self.stats, self.capacity
        if st.inflight < cap.max_inflight and not self._waiters:
            st.inflight += 1
            st.admitted += 1
            return True
        if len(self._waiters) >= cap.max_queue:
            st.queue_full += 1
            await respond_overloaded(send, "server busy: request queue full, retry later", cap.retry_after_s)
            return False
        loop = asyncio.get_running_loop()
        now = loop.time()
        wait_s = self._wait_allowed(now)
        if not self._waiters:
            self._standing_since = now
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        st.queued += 1
        try:
            await asyncio.wait_for(asyncio.shield(fut), wait_s)
        except TimeoutError:
            pass
        except BaseException:  # the client went away (cancelled) while waiting
            if self._leave(fut):
                self._release()
            raise
        if self._leave(fut):
            st.admitted += 1
            return True
        st.queue_timeout += 1
        await respond_overloaded(send, f"server busy: no slot within {wait_s:g} s, retry later", cap.retry_after_s)
        return False

    def _leave(self, fut: asyncio.Future[None]) -> bool:
        """Take ``fut`` off the queue; True when it was handed a slot (which the caller now holds)."""
        self.stats.queued -= 1
        if fut.done():
            return True
        fut.cancel()
        with contextlib.suppress(ValueError):  # still queued: a handed-over future is done
            self._waiters.remove(fut)
        return False

    def _release(self) -> None:
        """Hand the slot to the oldest waiter still waiting, or give it back."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the slot passes on: in-flight count unchanged
                return
        self.stats.inflight -= 1
