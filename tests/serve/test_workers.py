"""``shelfwise serve --workers 2``: two processes on one port, each with its own event consumer
over the shared SQLite log; an event posted to either is applied by both within a second."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shelfwise.catalog import Catalog
from shelfwise.events import EventLog
from shelfwise.events.schema import Event
from shelfwise.shelf import Shelf
from shelfwise.snapshot import ShelfConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(base: str) -> dict[str, int]:
    with httpx.Client(base_url=base, timeout=5.0) as c:  # a new connection: either worker may accept it
        body: dict[str, int] = c.get("/health", headers={"Connection": "close"}).json()
        return body


@pytest.mark.slow
def test_events_posted_to_one_worker_reach_every_worker(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    folder = tmp_path / "shelf"
    cfg = ShelfConfig(encoder="hashing", progress=False)
    Shelf.build(tiny_catalog, EventLog.from_events(tiny_events, tiny_catalog), cfg).save(folder)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).parent / "shelfwise"), "serve", "--shelf", str(folder), "--port", str(port)]
    cmd += ["--workers", "2", "--events-db", str(tmp_path / "ev.sqlite"), "--no-access-log"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline:  # both workers up and answering
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                workers.add(_health(base)["worker"])
            except httpx.TransportError:
                time.sleep(0.2)
        assert len(workers) == 2 and os.getpid() not in workers
        for n in range(3):  # each post lands on whichever worker accepts its connection
            with httpx.Client(base_url=base, timeout=5.0) as c:
                r = c.post("/events", json={"user_id": f"u-new-{n}", "type": "purchase", "item_id": "p1"})
                assert r.status_code == 200, r.text
                seq = r.json()["last_seq"]
            t0, seen = time.monotonic(), {}
            while time.monotonic() - t0 < 1.0 and (len(seen) < 2 or min(seen.values()) < seq):
                h = _health(base)
                seen[h["worker"]] = max(seen.get(h["worker"], 0), h["events_applied"])
            assert len(seen) == 2 and min(seen.values()) >= seq, f"after 1 s: {seen}, want seq {seq}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_a_worker_reload_loads_the_shelf_once_and_asks_for_the_others(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    from fastapi.testclient import TestClient

    from shelfwise.serve import create_app
    from shelfwise.serve.setup import ShelfRecipe, ShelfSettings
    from shelfwise.serve.workers import RELOADED_BY, BroadcastReloader

    folder = tmp_path / "shelf"
    cfg = ShelfConfig(encoder="hashing", progress=False)
    Shelf.build(tiny_catalog, EventLog.from_events(tiny_events, tiny_catalog), cfg).save(folder)
    recipe = ShelfRecipe(ShelfSettings())
    loads: list[Path] = []

    def counted(path: Path) -> Shelf:
        loads.append(path)
        return recipe(path)

    app = create_app(recipe(folder), warmup=False, prepare=counted)
    current = tmp_path / "shelf-folder"
    asked: list[int] = []
    app.state.reloader = BroadcastReloader(app.state.reloader, current, notify=lambda: asked.append(1))
    first = app.state.shelf
    r = TestClient(app, base_url="http://localhost").post("/admin/reload")
    assert r.status_code == 200, r.text
    assert loads == [folder] and app.state.shelf is not first  # loaded once, in this worker
    assert current.read_text(encoding="utf-8") == str(folder)  # what the replacement workers load
    assert (tmp_path / RELOADED_BY).read_text(encoding="utf-8") == str(os.getpid())  # ... and who is done
    assert asked == [1]


class _Proc:
    def __init__(self, pid: int) -> None:
        self.pid = pid


def test_the_supervisor_restarts_every_worker_but_the_one_that_reloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from uvicorn.supervisors import Multiprocess

    from shelfwise.serve.workers import RELOADED_BY, ShelfSupervisor

    restarted: list[list[int]] = []
    monkeypatch.setattr(Multiprocess, "restart_all", lambda self: restarted.append([p.pid for p in self.processes]))
    sup = ShelfSupervisor.__new__(ShelfSupervisor)  # no __init__: it would take over this process's signals
    sup.current = tmp_path / "shelf-folder"
    sup.processes = [_Proc(11), _Proc(12), _Proc(13)]  # type: ignore[list-item]
    (tmp_path / RELOADED_BY).write_text("12", encoding="utf-8")
    sup.restart_all()  # a worker's reload: the others are replaced
    assert restarted == [[11, 13]] and {p.pid for p in sup.processes} == {11, 12, 13}
    assert not (tmp_path / RELOADED_BY).exists()
    sup.restart_all()  # SIGHUP to the parent: every worker
    assert sorted(restarted[-1]) == [11, 12, 13]


_ORPHAN = """
import os, sys, time, signal
from shelfwise.serve.workers import exit_with_supervisor
if os.fork() == 0:  # the worker: watches the middle process, its supervisor
    exit_with_supervisor(os.getppid(), poll_s=0.05)
    print(os.getpid(), flush=True)
    time.sleep(30)
    sys.exit(3)  # never reached when the watch works
else:
    time.sleep(30)
"""


def test_a_worker_stops_when_its_supervisor_is_killed_hard() -> None:
    """kill -9 of the supervisor left both workers serving the old shelf and holding the port."""
    middle = subprocess.Popen([sys.executable, "-c", _ORPHAN], stdout=subprocess.PIPE, text=True)
    assert middle.stdout is not None
    worker = int(middle.stdout.readline())
    os.kill(middle.pid, signal.SIGKILL)
    middle.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if _exited(worker):
            break
        time.sleep(0.05)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the orphaned worker kept running")


def test_an_orphan_never_signals_its_new_parent() -> None:
    """A reload in an orphaned worker would have sent SIGHUP to PID 1."""
    from shelfwise.serve.workers import signal_parent

    signal_parent(os.getppid() + 1_000_000)  # not this process's parent: nothing is sent, nothing raised


def _exited(pid: int) -> bool:
    """Gone, or a zombie (exited; where PID 1 does not reap, a zombie stays listed)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
