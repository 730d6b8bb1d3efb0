"""Several serving processes on one port (``shelfwise serve --workers N``).

The parent binds the socket and supervises ``N`` worker processes (uvicorn's ``Multiprocess``:
spawned, pinged, replaced when one dies). Each worker loads the saved shelf itself; the vector
index files are memory-mapped read-only (:meth:`shelfwise.index.vector.VectorIndex.load`), so
the workers share one copy of the vectors (and the HNSW graph) in the page cache, while each
keeps its own encoder session, catalog and live state. Every worker runs its own event consumer
over the shared event log (SQLite WAL or NATS), so an event posted to any worker reaches the
live state of all of them within the consumer's poll interval (50 ms).

A worker whose supervisor dies (even by SIGKILL) stops within a second (:func:`exit_with_supervisor`),
so a restarted server can bind the port again.

Reload: ``POST /admin/reload`` (or SIGHUP to a worker) reloads the worker that got it, then asks
the parent to replace every other worker (SIGHUP to the parent replaces all of them): replacements
load the reloaded folder and start serving before the worker they replace is stopped, so the port
keeps answering throughout, and each worker loads the new shelf once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from uvicorn.supervisors import Multiprocess

from shelfwise.encode.executor import limit_native_threads
from shelfwise.serve.reload import CATCH_UP_S, Reloader, ReloadResult
from shelfwise.serve.setup import ServerSetup

log = logging.getLogger("shelfwise.serve")
WORKER_READY_S = 300  # a replacement worker may take this long to load a shelf before a restart gives up
RELOADED_BY = "reloaded-by"  # beside the folder file: the pid of the worker that has already reloaded


PARENT_POLL_S = 1.0  # how often a worker checks that its supervisor is still alive


def signal_parent(supervisor: int) -> None:
    """SIGHUP to the ``supervisor`` (it replaces the other workers), only while it is this worker's
    parent: an orphan's parent is PID 1 (or a subreaper), which must never get it."""
    if os.getppid() != supervisor:
        log.warning("worker %d: supervisor %d is gone; the other workers were not reloaded", os.getpid(), supervisor)
        return
    os.kill(supervisor, signal.SIGHUP)


def exit_with_supervisor(supervisor: int, poll_s: float = PARENT_POLL_S) -> threading.Thread:
    """Stop this worker (SIGTERM to itself: uvicorn's graceful shutdown) once ``supervisor`` is no
    longer its parent. A supervisor killed hard (SIGKILL, OOM) cannot stop its workers: they would
    keep the port and serve the old shelf, and a restart could not bind (gunicorn's workers watch
    their parent the same way)."""

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(poll_s)
        log.warning("worker %d: supervisor %d is gone; stopping", os.getpid(), supervisor)
        os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=watch, name="shelfwise-parent-watch", daemon=True)
    t.start()
    return t


class BroadcastReloader(Reloader):
    """A worker's reloader: after its own reload succeeds, it records the folder for the
    replacement workers and its pid (it serves the new shelf already: the supervisor keeps it),
    then ``notify``s the parent to replace every other worker. Each worker loads the shelf once."""

    def __init__(self, inner: Reloader, current: Path, notify: Callable[[], None]) -> None:
        super().__init__(inner.state, inner.source, inner.prepare)
        self.current = current
        self.notify = notify

    def reload(self, path: Path | None = None, catch_up_s: float = CATCH_UP_S) -> ReloadResult:
        result = super().reload(path, catch_up_s)
        self.current.write_text(result.shelf, encoding="utf-8")
        self.current.with_name(RELOADED_BY).write_text(str(os.getpid()), encoding="utf-8")
        self.notify()
        return result


class ShelfSupervisor(Multiprocess):
    """uvicorn's supervisor, except that a restart (SIGHUP) leaves out the worker named in the
    ``reloaded-by`` file beside ``current``: it reloaded itself and asked for the restart, so a
    replacement would load the same shelf a second time in that slot. SIGHUP sent to the parent
    by an operator (no such file) replaces every worker."""

    def __init__(self, config: Any, sockets: list[socket.socket], current: Path) -> None:
        super().__init__(config, sockets=sockets)
        self.current = current

    def restart_all(self) -> None:
        marker = self.current.with_name(RELOADED_BY)
        try:
            done = int(marker.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            done = None
        with contextlib.suppress(OSError):
            marker.unlink()
        kept = [p for p in self.processes if p.pid == done]
        self.processes = [p for p in self.processes if p.pid != done]
        try:
            super().restart_all()
        finally:
            self.processes = kept + self.processes


@dataclass(frozen=True)
class WorkerApp:
    """The app factory a worker process calls (picklable: the parsed start ``setup``).
    ``current``: file naming the shelf folder to load (written on reload)."""

    setup: ServerSetup
    current: Path
    supervisor: int  # the parent's pid: a worker stops when it is gone and signals no other process
    watch_supervisor: bool = True  # False: an app built in this process (a test), not a spawned worker

    def __call__(self) -> Any:
        from shelfwise.serve.app import create_app
        from shelfwise.serve.reload import install_sighup
        from shelfwise.serve.runner import configure_logging

        folder = Path(self.current.read_text(encoding="utf-8").strip())
        setup = self.setup
        configure_logging(setup.config)
        recipe = setup.recipe()  # this worker's handle on the event log, for its start and its reloads
        app = create_app(recipe(folder), report=setup.report, config=setup.config, prepare=recipe)
        notify = partial(signal_parent, self.supervisor)
        app.state.reloader = BroadcastReloader(app.state.reloader, self.current, notify)
        install_sighup(app.state.reloader)
        if self.watch_supervisor:
            exit_with_supervisor(self.supervisor)
        app.state.worker_label = str(os.getpid())  # /metrics: each worker's series apart
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


def run_workers(setup: ServerSetup, port: int) -> int:
    """Bind ``setup.config.bind_host:port`` and serve ``setup.folder`` with ``setup.config.capacity.workers``
    processes until stopped; 0, or 1 when a worker failed to start (its error is on stderr)."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from shelfwise.serve.runner import uvicorn_options

    config = setup.config
    cap = config.capacity
    limit_native_threads(max(1, cap.encode_threads))  # inherited by the workers before numpy loads
    with tempfile.TemporaryDirectory(prefix="shelfwise-serve-") as tmp:
        current = Path(tmp) / "shelf-folder"
        current.write_text(str(setup.folder.resolve()), encoding="utf-8")
        uv = uvicorn.Config(
            WorkerApp(setup, current, os.getpid()),
            factory=True,
            port=port,
            workers=cap.workers,
            timeout_worker_healthcheck=WORKER_READY_S,
            **uvicorn_options(config),
        )
        sock = tcp_listener(config.bind_host, port)
        print(
            f"serving on http://{config.bind_host}:{port} with {cap.workers} worker processes "
            f"(API docs: /docs, metrics per worker: /metrics)",
            flush=True,
        )
        supervisor = ShelfSupervisor(uv, [sock], current)
        supervisor.run()
    return 1 if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
