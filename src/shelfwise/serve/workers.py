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
import pickle
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

from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import SIGNALS, Process

from shelfwise.encode.executor import limit_native_threads
from shelfwise.serve.fleet import RunDir, ShelfMark, wait_for_fleet
from shelfwise.serve.reload import CATCH_UP_S, Reloader, ReloadResult
from shelfwise.serve.setup import ServerSetup
from shelfwise.serve.stopping import (
    default_sigterm,
    exit_on_sigterm,
    sigint_blocked,
    sigint_pending,
    signals_restored,
    take_pending_sigint,
    unblock_sigint,
)

log = logging.getLogger("shelfwise.serve")
WORKER_READY_S = 300  # a replacement worker may take this long to load a shelf before a restart gives up
RELOADED_BY = "reloaded-by"  # in the run folder: the pid of the worker that has already reloaded


PARENT_POLL_S = 1.0  # how often a worker checks that its supervisor is still alive
PING_SLICE_S = 0.1  # a health check's wait for a worker's answer: a stop signal or the worker's death ends it
STOPS = frozenset({"INT", "TERM", "BREAK"})  # signals that stop the supervisor (uvicorn's names)


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
    is removed (a waiting reload ignores a stopped worker's anyway: the files would pile up).

    Stopping while the workers start (:mod:`shelfwise.serve.stopping`): SIGINT stays blocked in this
    process while it supervises, so that each worker starts with it blocked (no KeyboardInterrupt
    traceback from a worker still importing); a pending one is taken every loop as uvicorn's handler
    would have queued it. A health check waits for its answer in :data:`PING_SLICE_S` slices and
    gives up once a stop signal waits or the worker is gone: uvicorn's waited up to
    ``timeout_worker_healthcheck`` (300 s) on a worker that a Ctrl-C had ended before it answered,
    as this process kept the worker's end of the pipe open (no EOF), and the server hung. That end
    is closed here once a worker has started."""

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
            self.release_pipes()
            self.forget(before)

    def run(self) -> None:
        with sigint_blocked():
            super().run()

    def init_processes(self) -> None:
        super().init_processes()
        self.release_pipes()

    def handle_signals(self) -> None:
        if take_pending_sigint():
            self.signal_queue.append(signal.SIGINT)
        super().handle_signals()
        self.release_pipes()  # SIGHUP and SIGTTIN start workers

    def stopping(self) -> bool:
        """A stop asked for: flagged, queued by uvicorn's handler (SIGTERM) or pending (SIGINT)."""
        queued = any(SIGNALS.get(s) in STOPS for s in self.signal_queue)
        return self.should_exit.is_set() or queued or sigint_pending()

    def answers(self, process: Process, timeout: float) -> bool | None:
        """Whether ``process`` answers a ping within ``timeout`` s (False: gone or silent); None when a
        stop came first (see the class)."""
        conn = process.parent_conn
        deadline = time.monotonic() + timeout
        try:
            conn.send(b"ping")
            while not conn.poll(PING_SLICE_S):
                if self.stopping():
                    return None
                if not process.process.is_alive() or time.monotonic() >= deadline:
                    return False
            conn.recv()
        except (OSError, EOFError, pickle.UnpicklingError):
            return False
        return True

    def keep_subprocess_alive(self) -> None:
        """uvicorn's: a dead or hung worker is replaced (a worker that failed to start stops the
        server); with :meth:`answers` as the health check, and the status of each replaced one removed."""
        before = self.pids()
        for idx, process in enumerate(self.processes):
            if self.stopping() or self.answers(process, self.config.timeout_worker_healthcheck) is not False:
                continue
            process.kill()  # hung, or gone
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # the app, the shelf or the socket is broken: stop
                log.error("worker %s failed to start, stopping the server", process.pid)
                self.should_exit.set()
                break
            if self.stopping():
                break
            log.info("worker %s died; starting another", process.pid)
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[idx] = replacement
        self.release_pipes()
        self.forget(before)

    def release_pipes(self) -> None:
        """Close this process's copy of each started worker's end of its health-check pipe: a worker
        that is gone then reads as EOF at once."""
        for p in self.processes:
            child_conn = getattr(p, "child_conn", None)
            if child_conn is not None and getattr(p, "pid", None) is not None:
                child_conn.close()

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
        # a stop signal while this worker imports the app and loads the shelf ends it at once (uvicorn's
        # handler would let the load finish first); then SIGINT, blocked since the spawn, is taken again
        # (see shelfwise.serve.stopping)
        target = self.run_dir.target()
        with default_sigterm() if self.watch_supervisor else contextlib.nullcontext():
            app = self._load(Path(target.folder))
        if self.watch_supervisor:
            unblock_sigint()
        return self._serving(app, target)

    def _load(self, folder: Path) -> Any:
        from shelfwise.serve.app import create_app
        from shelfwise.serve.runner import configure_logging

        configure_logging(self.setup.config)
        recipe = self.setup.recipe()  # this worker's handle on the event log, for its start and its reloads
        return create_app(recipe(folder), report=self.setup.report, config=self.setup.config, prepare=recipe)

    def _serving(self, app: Any, target: ShelfMark) -> Any:
        from shelfwise.serve.reload import install_sighup

        mark = ShelfMark(folder=target.folder, shelf_id=app.state.shelf.shelf_id, generation=target.generation)
        self.run_dir.report(os.getpid(), mark)  # before it serves: a reload waiting on the workers sees it
        notify = partial(signal_parent, self.supervisor)
        app.state.reloader = BroadcastReloader(app.state.reloader, self.run_dir, notify)
        install_sighup(app.state.reloader)
        if self.watch_supervisor:
            exit_with_supervisor(self.supervisor)
        app.state.worker_label = str(os.getpid())  # /metrics: each worker's series apart
        log.info("worker %d serving %s", os.getpid(), target.folder)
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
    processes until stopped; 0, or 1 when a worker failed to start (its error is on stderr). The
    signal handlers it sets are the caller's again once it returns."""
    with signals_restored():  # exit_on_sigterm's and the supervisor's handlers: until it returns
        return _run_workers(setup, port)


def _run_workers(setup: ServerSetup, port: int) -> int:
    import uvicorn

    from shelfwise.serve.runner import uvicorn_options

    exit_on_sigterm()  # until the supervisor's handlers: the run folder is removed on the way out
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
