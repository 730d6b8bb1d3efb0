"""Several serving processes on one port (``shelfwise serve --workers N``).

The parent binds the socket and supervises ``N`` worker processes (uvicorn's ``Multiprocess``:
spawned, pinged, replaced when one dies). Each worker loads the saved shelf itself; the vector
index files are memory-mapped read-only (:meth:`shelfwise.index.vector.VectorIndex.load`), so
the workers share one copy of the vectors (and the HNSW graph) in the page cache, while each
keeps its own encoder session, catalog and live state. Every worker runs its own event consumer
over the shared event log (SQLite WAL or NATS), so an event posted to any worker reaches the
live state of all of them within the consumer's poll interval (50 ms).

Reload: ``POST /admin/reload`` (or SIGHUP to a worker) reloads the worker that got it, then asks
the parent to replace every worker (SIGHUP to the parent does only that): replacements load the
reloaded folder and start serving before the worker they replace is stopped, so the port keeps
answering throughout.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from shelfwise.encode.executor import limit_native_threads
from shelfwise.serve.config import ServeConfig
from shelfwise.serve.reload import CATCH_UP_S, Reloader, ReloadResult
from shelfwise.shelf import Shelf

log = logging.getLogger("shelfwise.serve")
WORKER_READY_S = 300  # a replacement worker may take this long to load a shelf before a restart gives up


class Served(NamedTuple):
    """What one worker serves: the shelf, the settings, the report page, and how a reload loads."""

    shelf: Shelf
    config: ServeConfig
    report: Path | None
    prepare: Callable[[Path], Shelf]


Setup = Callable[[argparse.Namespace, Path], Served]


class BroadcastReloader(Reloader):
    """A worker's reloader: after its own reload succeeds, it records the folder for the
    replacement workers and signals the parent to replace every worker."""

    def __init__(self, inner: Reloader, current: Path) -> None:
        super().__init__(inner.state, inner.source, inner.prepare)
        self.current = current

    def reload(self, path: Path | None = None, catch_up_s: float = CATCH_UP_S) -> ReloadResult:
        result = super().reload(path, catch_up_s)
        self.current.write_text(result.shelf, encoding="utf-8")
        os.kill(os.getppid(), signal.SIGHUP)  # the supervisor replaces the other workers
        return result


@dataclass(frozen=True)
class WorkerApp:
    """The app factory a worker process calls (picklable: a module-level ``setup`` and the parsed
    command line). ``current``: file naming the shelf folder to load (written on reload)."""

    setup: Setup
    args: argparse.Namespace
    current: Path

    def __call__(self) -> Any:
        from shelfwise.serve.app import create_app
        from shelfwise.serve.reload import install_sighup
        from shelfwise.serve.runner import configure_logging

        folder = Path(self.current.read_text(encoding="utf-8").strip())
        served = self.setup(self.args, folder)
        configure_logging(served.config)
        app = create_app(served.shelf, report=served.report, config=served.config, prepare=served.prepare)
        app.state.reloader = BroadcastReloader(app.state.reloader, self.current)
        install_sighup(app.state.reloader)
        log.info("worker %d serving %s", os.getpid(), folder)
        return app


def tcp_listener(host: str, port: int) -> socket.socket:
    """The shared listening socket, created with ``proto=IPPROTO_TCP``: asyncio sets ``TCP_NODELAY``
    only on connections accepted from such a socket, and uvicorn's own ``bind_socket`` (proto 0)
    leaves Nagle on, which with the client's delayed ACK adds ~40 ms to every keep-alive response."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run_workers(setup: Setup, args: argparse.Namespace, folder: Path, config: ServeConfig, port: int) -> int:
    """Bind ``config.bind_host:port`` and serve with ``config.capacity.workers`` processes until
    stopped; 0, or 1 when a worker failed to start (its error is on stderr)."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    cap = config.capacity
    limit_native_threads(max(1, cap.encode_threads))  # inherited by the workers before numpy loads
    with tempfile.TemporaryDirectory(prefix="shelfwise-serve-") as tmp:
        current = Path(tmp) / "shelf-folder"
        current.write_text(str(folder.resolve()), encoding="utf-8")
        uv = uvicorn.Config(
            WorkerApp(setup, args, current),
            factory=True,
            host=config.bind_host,
            port=port,
            workers=cap.workers,
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_worker_healthcheck=WORKER_READY_S,
        )
        sock = tcp_listener(config.bind_host, port)
        print(
            f"serving on http://{config.bind_host}:{port} with {cap.workers} worker processes "
            f"(API docs: /docs, metrics per worker: /metrics)",
            flush=True,
        )
        supervisor = Multiprocess(uv, sockets=[sock])
        supervisor.run()
    return 1 if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
