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
keeps answering throughout, and each worker loads the new shelf once. The workers share a run
folder (:class:`~shelfwise.serve.fleet.RunDir`): the shelf to load and what each serves, so
``POST /admin/reload`` answers once every worker serves the new shelf, or says which do not
(:func:`~shelfwise.serve.fleet.wait_for_fleet`).
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
from shelfwise.serve.fleet import RunDir, ShelfMark, wait_for_fleet
from shelfwise.serve.reload import CATCH_UP_S, Reloader, ReloadResult
from shelfwise.serve.setup import ServerSetup

log = logging.getLogger("shelfwise.serve")
WORKER_READY_S = 300  # a replacement worker may take this long to load a shelf before a restart gives up
RELOADED_BY = "reloaded-by"  # in the run folder: the pid of the worker that has already reloaded


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
    """A worker's reloader: after its own reload succeeds, it publishes the new shelf in the run
    folder (for the replacement workers) with its own status and pid (it serves the new shelf
    already: the supervisor keeps it), then ``notify``s the parent to replace every other worker.
    Each worker loads the shelf once."""

    def __init__(self, inner: Reloader, run_dir: RunDir, notify: Callable[[], None]) -> None:
        super().__init__(inner.state, inner.source, inner.prepare)
        self.run_dir = run_dir
        self.notify = notify

    def reload(self, path: Path | None = None, catch_up_s: float = CATCH_UP_S) -> ReloadResult:
        return self._reload(path, catch_up_s)[0]

    def reload_everywhere(self, path: Path | None = None, wait_s: float = 0.0) -> ReloadResult:
        """:meth:`reload`, then wait up to ``wait_s`` until every worker serves the new shelf; the
        answer's ``fleet`` says whether all do and lists each worker."""
        result, mark = self._reload(path, CATCH_UP_S)
        return result.model_copy(update={"fleet": wait_for_fleet(self.run_dir, mark, wait_s)})

    def _reload(self, path: Path | None, catch_up_s: float) -> tuple[ReloadResult, ShelfMark]:
        result = super().reload(path, catch_up_s)
        mark = self.run_dir.next_target(result.shelf, self.state.shelf.shelf_id)
        self.run_dir.report(os.getpid(), mark)
        (self.run_dir.root / RELOADED_BY).write_text(str(os.getpid()), encoding="utf-8")
        self.notify()
        return result, mark


class ShelfSupervisor(Multiprocess):
    """uvicorn's supervisor, except that a restart (SIGHUP) leaves out the worker named in the
    ``reloaded-by`` file in the ``run_dir`` folder: it reloaded itself and asked for the restart, so a
    replacement would load the same shelf a second time in that slot. SIGHUP sent to the parent
    by an operator (no such file) replaces every worker. The status file of each worker it stops
    is removed (a waiting reload ignores a stopped worker's anyway: the files would pile up)."""

    def __init__(self, config: Any, sockets: list[socket.socket], run_dir: RunDir) -> None:
        super().__init__(config, sockets=sockets)
        self.run_dir = run_dir

    def restart_all(self) -> None:
        marker = self.run_dir.root / RELOADED_BY
        try:
            done = int(marker.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            done = None
        with contextlib.suppress(OSError):
            marker.unlink()
        before = self.pids()
        kept = [p for p in self.processes if p.pid == done]
        self.processes = [p for p in self.processes if p.pid != done]
        try:
            super().restart_all()
        finally:
            self.processes = kept + self.processes
            self.forget(before)

    def keep_subprocess_alive(self) -> None:
        before = self.pids()
        super().keep_subprocess_alive()  # a dead or hung worker is replaced
        self.forget(before)

    def pids(self) -> set[int]:
        return {p.pid for p in self.processes if p.pid is not None}

    def forget(self, before: set[int]) -> None:
        """Remove the status of each worker of ``before`` that has been stopped since (replaced)."""
        for pid in before - self.pids():
            self.run_dir.forget(pid)


@dataclass(frozen=True)
class WorkerApp:
    """The app factory a worker process calls (picklable: the parsed start ``setup``).
    ``run_dir``: the run folder naming the shelf to load (published anew by each reload), where the
    worker reports the shelf it serves."""

    setup: ServerSetup
    run_dir: RunDir
    supervisor: int  # the parent's pid: a worker stops when it is gone and signals no other process
    watch_supervisor: bool = True  # False: an app built in this process (a test), not a spawned worker

    def __call__(self) -> Any:
        from shelfwise.serve.app import create_app
        from shelfwise.serve.reload import install_sighup
        from shelfwise.serve.runner import configure_logging

        target = self.run_dir.target()
        folder = Path(target.folder)
        setup = self.setup
        configure_logging(setup.config)
        recipe = setup.recipe()  # this worker's handle on the event log, for its start and its reloads
        app = create_app(recipe(folder), report=setup.report, config=setup.config, prepare=recipe)
        mark = ShelfMark(folder=target.folder, shelf_id=app.state.shelf.shelf_id, generation=target.generation)
        self.run_dir.report(os.getpid(), mark)  # before it serves: a reload waiting on the workers sees it
        notify = partial(signal_parent, self.supervisor)
        app.state.reloader = BroadcastReloader(app.state.reloader, self.run_dir, notify)
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
        run_dir = RunDir(Path(tmp))
        run_dir.start(setup.folder)
        uv = uvicorn.Config(
            WorkerApp(setup, run_dir, os.getpid()),
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
        supervisor = ShelfSupervisor(uv, [sock], run_dir)
        supervisor.run()
    return 1 if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
