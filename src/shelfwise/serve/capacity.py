"""How much work one serving process takes on: worker processes, in-flight requests, the wait
queue, and the query-encoder executor. Defaults suit the machine's cores; every value can be set by
a ``shelfwise serve`` flag or a ``SHELFWISE_*`` environment variable (flags win).

Per process: at most ``max_inflight`` requests run at once and at most ``max_queue`` wait for a
slot, each for at most ``queue_timeout_s``, or ``queue_target_s`` once the queue has stood (not been
empty) for ``queue_interval_s`` (controlled delay, :mod:`shelfwise.serve.shedding`); anything beyond
is answered 503 with ``Retry-After`` straight away. ``max_inflight = 0`` turns shedding off (every
request runs at once, as before this existed). Query embeddings run on ``encode_threads`` threads
with ``encode_queue`` calls waiting (:mod:`shelfwise.encode.executor`); ``encode_threads = 0``
encodes in the request thread, as before. ``keep_alive_s``: how long an idle keep-alive connection
is kept open (uvicorn's ``timeout_keep_alive``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

ENV_PREFIX = "SHELFWISE_"
# Idle keep-alive connections stay open this long (uvicorn's own default is 5 s). A server that closes
# an idle connection at the moment its client reuses it resets the request in flight (the client
# sees a connection reset: httpx ReadError), and common clients keep idle connections for 5 s (httpx,
# aiohttp 15 s) up to minutes (browsers, Go's 90 s, requests: unlimited); nginx keeps them 75 s.
DEFAULT_KEEP_ALIVE_S = 75
# monitoring keeps answering while requests are shed; a reload (seconds of loading) takes no serving slot
EXEMPT_PATHS = ("/health", "/metrics", "/admin/reload")


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_workers(cores: int | None = None) -> int:
    """Worker processes by default: one per core, at most 2 (each holds its own encoder and catalog)."""
    return max(1, min(cores or cpu_cores(), 2))


@dataclass(frozen=True)
class Capacity:
    """Per-process limits (see the module doc). ``workers``: serving processes sharing the port;
    ``retry_after_s``: the ``Retry-After`` a shed request is given; ``keep_alive_s``: seconds an idle
    keep-alive connection is kept open."""

    workers: int = 1
    max_inflight: int = 4
    max_queue: int = 32
    queue_timeout_s: float = 0.5
    queue_target_s: float = 0.05
    queue_interval_s: float = 0.1
    encode_threads: int = 1
    encode_queue: int = 8
    encode_wait_s: float = 0.5
    retry_after_s: int = 1
    keep_alive_s: int = DEFAULT_KEEP_ALIVE_S

    def __post_init__(self) -> None:
        for name in (
            "workers",
            "max_inflight",
            "max_queue",
            "encode_threads",
            "encode_queue",
            "retry_after_s",
            "keep_alive_s",
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"Capacity.{name} must be an integer >= 0, got {v!r}")
        for name in ("workers", "retry_after_s", "keep_alive_s"):
            if getattr(self, name) < 1:
                raise ValueError(f"Capacity.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("queue_timeout_s", "queue_target_s", "queue_interval_s", "encode_wait_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Capacity.{name} must be > 0, got {getattr(self, name)!r}")

    @property
    def shedding(self) -> bool:
        return self.max_inflight > 0

    @classmethod
    def for_machine(cls, cores: int | None = None, workers: int | None = None) -> Capacity:
        """Defaults for ``cores`` (default: this machine's) shared by ``workers`` processes: encoder
        threads are the cores each process gets, in-flight requests twice that (room for requests
        waiting on the event log's disk), the queue 8 per in-flight slot."""
        c = cores or cpu_cores()
        w = workers or default_workers(c)
        threads = max(1, c // w)
        return cls(workers=w, max_inflight=2 * threads + 2, max_queue=16 * threads + 16, encode_threads=threads)

    def with_env(self, env: Mapping[str, str] | None = None) -> Capacity:
        """These values overridden by ``SHELFWISE_WORKERS``, ``SHELFWISE_MAX_INFLIGHT``, ... (any field)."""
        return replace(self, **env_overrides(env))


def env_overrides(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The :class:`Capacity` fields set by ``SHELFWISE_<FIELD>`` variables in ``env`` (default: the
    process environment), parsed; blank values are not set, a non-number is a ValueError naming it."""
    environ = os.environ if env is None else env
    changed: dict[str, Any] = {}
    for f in fields(Capacity):
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is None or not raw.strip():
            continue
        try:
            changed[f.name] = float(raw) if f.type in ("float", float) else int(raw)
        except ValueError as e:
            raise ValueError(f"{ENV_PREFIX}{f.name.upper()}={raw!r} is not a number") from e
    return changed
