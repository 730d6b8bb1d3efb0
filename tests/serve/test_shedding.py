"""Load shedding: beyond the in-flight limit and the bounded wait queue a request is answered 503
with Retry-After at once (or after queue_timeout_s), never after a long wait; /health and /metrics
are not shed; the counts show in /metrics. Capacity defaults, env vars and flags."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import numpy as np
import pytest
from _servekit import LOCAL

from shelfwise.catalog import Catalog
from shelfwise.cli.main import build_parser
from shelfwise.encode.executor import BoundedEncoder, EncodeExecutor
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.serve.capacity import DEFAULT_KEEP_ALIVE_S, Capacity, default_workers
from shelfwise.serve.config import ServeConfig
from shelfwise.serve.runner import capacity_from_args
from shelfwise.shelf import Shelf


def _app(tiny_catalog: Catalog, tiny_searcher: HybridSearcher, cap: Capacity) -> Any:
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher)
    app = create_app(shelf, warmup=False, config=ServeConfig(capacity=cap))
    release = asyncio.Event()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await release.wait()
        return {"ok": "yes"}

    app.state.release = release
    return app


async def _until(cond: Any, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        await asyncio.sleep(0.005)


def test_beyond_inflight_and_queue_is_503_with_retry_after(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    app = _app(tiny_catalog, tiny_searcher, Capacity(max_inflight=1, max_queue=1, queue_timeout_s=5.0))

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as c:
            first = asyncio.create_task(c.get("/slow"))  # holds the only slot
            await _until(lambda: app.state.shed.inflight == 1)
            second = asyncio.create_task(c.get("/slow"))  # waits in the queue
            await _until(lambda: app.state.shed.queued == 1)
            t0 = time.perf_counter()
            third = await c.get("/search", params={"q": "shirt"})  # queue full: refused now
            assert time.perf_counter() - t0 < 0.5
            assert third.status_code == 503 and third.headers["retry-after"] == "1"
            assert "busy" in third.json()["detail"]
            assert (await c.get("/health")).status_code == 200  # monitoring is never shed
            app.state.release.set()
            assert [(await t).status_code for t in (first, second)] == [200, 200]
            metrics = (await c.get("/metrics")).text
            assert 'shelfwise_shed_requests_total{reason="queue_full"} 1' in metrics
            assert "shelfwise_inflight_requests 0" in metrics and "shelfwise_queued_requests 0" in metrics
            assert 'route="<unmatched>",status="503"' in metrics

    asyncio.run(run())


def test_a_request_waiting_past_queue_timeout_is_503(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    app = _app(tiny_catalog, tiny_searcher, Capacity(max_inflight=1, max_queue=4, queue_timeout_s=0.1))

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as c:
            first = asyncio.create_task(c.get("/slow"))
            await _until(lambda: app.state.shed.inflight == 1)
            t0 = time.perf_counter()
            waited = await c.get("/search", params={"q": "shirt"})
            assert waited.status_code == 503 and 0.09 <= time.perf_counter() - t0 < 2.0
            assert waited.headers["retry-after"] == "1"
            app.state.release.set()
            assert (await first).status_code == 200
            ok = await c.get("/search", params={"q": "shirt"})  # the slot came back
            assert ok.status_code == 200
            assert app.state.shed.queue_timeout == 1 and app.state.shed.inflight == 0

    asyncio.run(run())


def test_a_standing_queue_lets_newcomers_wait_only_the_target(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    # queue_timeout 5 s, target 0.05 s, interval 0.1 s: the first waiter finds an empty queue and may
    # wait long; once the queue has stood 0.1 s, a newcomer gets 503 after ~0.05 s, not 5 s
    cap = Capacity(max_inflight=1, max_queue=8, queue_timeout_s=5.0, queue_target_s=0.05, queue_interval_s=0.1)
    app = _app(tiny_catalog, tiny_searcher, cap)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as c:
            first = asyncio.create_task(c.get("/slow"))  # holds the only slot
            await _until(lambda: app.state.shed.inflight == 1)
            second = asyncio.create_task(c.get("/slow"))  # an empty queue: may wait up to 5 s
            await _until(lambda: app.state.shed.queued == 1)
            await asyncio.sleep(0.15)  # the queue has now stood past the interval
            t0 = time.perf_counter()
            shed = await c.get("/search", params={"q": "shirt"})
            assert shed.status_code == 503 and "no slot within 0.05 s" in shed.json()["detail"]
            assert 0.04 <= time.perf_counter() - t0 < 2.0
            assert not second.done()  # the earlier waiter keeps its place
            app.state.release.set()
            assert [(await t).status_code for t in (first, second)] == [200, 200]
            ok = await c.get("/search", params={"q": "shirt"})  # the queue emptied: normal service again
            assert ok.status_code == 200

    asyncio.run(run())


def test_no_shedding_when_max_inflight_is_zero(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    app = _app(tiny_catalog, tiny_searcher, Capacity(max_inflight=0, max_queue=0, encode_threads=0))

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as c:
            slow = [asyncio.create_task(c.get("/slow")) for _ in range(20)]
            await asyncio.sleep(0.05)
            assert (await c.get("/search", params={"q": "shirt"})).status_code == 200
            app.state.release.set()
            assert {(await t).status_code for t in slow} == {200}
            assert app.state.encode_executor is None  # encoder runs in request threads, as before

    asyncio.run(run())


class _HeldEncoder:
    """Holds the executor's only thread until ``gate`` is set."""

    name, dim = "held", 4

    def __init__(self) -> None:
        self.gate, self.running = threading.Event(), threading.Event()

    def encode(self, texts: Any, batch_size: int = 64, progress: bool = False) -> Any:
        self.running.set()
        self.gate.wait(10)
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def test_a_busy_query_encoder_answers_503_counted_once(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    app = _app(tiny_catalog, tiny_searcher, Capacity(encode_threads=1, encode_queue=0))
    dense = app.state.shelf.searcher.dense
    assert isinstance(dense.query_encoder, BoundedEncoder)
    ex: EncodeExecutor = app.state.encode_executor
    held = _HeldEncoder()
    busy = threading.Thread(target=ex.encode, args=(held, ["holds the only thread"]))
    busy.start()
    assert held.running.wait(5) and ex.pending == 1

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as c:
            r = await c.get("/search", params={"q": "a never seen query"})
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            lines = (await c.get("/metrics")).text.splitlines()
            busy_lines = [ln for ln in lines if ln.startswith('shelfwise_shed_requests_total{reason="encoder_busy"}')]
            assert busy_lines == ['shelfwise_shed_requests_total{reason="encoder_busy"} 1']  # one refusal, one count

    try:
        asyncio.run(run())
    finally:
        held.gate.set()
        busy.join(5)
        dense.query_encoder = dense.query_encoder.inner  # the searcher fixture is shared
    assert (ex.stats.rejected_full, ex.stats.rejected) == (1, 1)


def test_capacity_defaults_env_and_flags() -> None:
    two = Capacity.for_machine(cores=2, workers=2)
    assert (two.workers, two.encode_threads, two.max_inflight, two.max_queue) == (2, 1, 4, 32)
    assert Capacity.for_machine(cores=2, workers=1).encode_threads == 2
    assert default_workers(1) == 1 and default_workers(2) == 2 and default_workers(16) == 2
    env = {"SHELFWISE_MAX_QUEUE": "7", "SHELFWISE_QUEUE_TIMEOUT_S": "0.25", "SHELFWISE_WORKERS": "3"}
    args = build_parser().parse_args(["serve", "--index", "idx", "--max-inflight", "9"])
    cap = capacity_from_args(args, env)
    assert (cap.workers, cap.max_inflight, cap.max_queue, cap.queue_timeout_s) == (3, 9, 7, 0.25)
    old = build_parser().parse_args(["serve", "--index", "idx", "--workers", "1", "--max-inflight", "0"])
    off = capacity_from_args(old, {"SHELFWISE_ENCODE_THREADS": "0"})
    assert (off.workers, off.shedding, off.encode_threads) == (1, False, 0)
    with pytest.raises(ValueError, match="workers"):
        capacity_from_args(build_parser().parse_args(["serve", "--index", "i", "--workers", "0"]), {})
    with pytest.raises(ValueError, match="not a number"):
        Capacity().with_env({"SHELFWISE_MAX_QUEUE": "lots"})
    codel = build_parser().parse_args(["serve", "--index", "i", "--queue-target", "0.02", "--queue-interval", "0.3"])
    got = capacity_from_args(codel, {"SHELFWISE_QUEUE_TARGET_S": "0.01"})
    assert (got.queue_target_s, got.queue_interval_s) == (0.02, 0.3)  # flags over env
    assert capacity_from_args(args, {"SHELFWISE_QUEUE_INTERVAL_S": "0.2"}).queue_interval_s == 0.2
    with pytest.raises(ValueError, match="queue_target_s must be > 0"):
        Capacity(queue_target_s=0)


def test_capacity_env_is_parsed_once_with_named_errors() -> None:
    args = build_parser().parse_args(["serve", "--index", "idx"])
    three = capacity_from_args(args, {"SHELFWISE_WORKERS": "3"})
    assert three == Capacity.for_machine(workers=3)  # the env's worker count sets the per-worker defaults
    with pytest.raises(ValueError, match="SHELFWISE_WORKERS='many' is not a number"):
        capacity_from_args(args, {"SHELFWISE_WORKERS": "many"})
    with pytest.raises(ValueError, match="--workers must be >= 1, got 0"):
        capacity_from_args(args, {"SHELFWISE_WORKERS": "0"})


def test_keep_alive_outlasts_client_idle_timeouts_and_reaches_uvicorn() -> None:
    """uvicorn's own 5 s equals httpx's idle expiry: a client reusing a connection as the server
    closes it gets a reset (the 200-client transport error). The default is longer, settable."""
    import uvicorn

    from shelfwise.serve.config import ServeConfig
    from shelfwise.serve.runner import uvicorn_options

    args = build_parser().parse_args(["serve", "--index", "idx"])
    default = capacity_from_args(args, {})
    assert default.keep_alive_s == DEFAULT_KEEP_ALIVE_S and DEFAULT_KEEP_ALIVE_S > 15  # httpx 5 s, aiohttp 15 s
    assert capacity_from_args(args, {"SHELFWISE_KEEP_ALIVE_S": "30"}).keep_alive_s == 30
    flagged = build_parser().parse_args(["serve", "--index", "idx", "--keep-alive", "20"])
    cap = capacity_from_args(flagged, {"SHELFWISE_KEEP_ALIVE_S": "30"})
    assert cap.keep_alive_s == 20  # the flag wins
    opts = uvicorn_options(ServeConfig(capacity=cap))
    assert opts["timeout_keep_alive"] == 20 and opts["host"] == "127.0.0.1"
    assert uvicorn.Config(lambda: None, **opts).timeout_keep_alive == 20


@pytest.mark.parametrize("field", ["workers", "retry_after_s", "keep_alive_s"])
def test_capacity_names_the_field_below_one(field: str) -> None:
    with pytest.raises(ValueError, match=rf"Capacity\.{field} must be >= 1, got 0"):
        Capacity(**{field: 0})  # type: ignore[arg-type]
