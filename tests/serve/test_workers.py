"""``shelfwise serve --workers 2``: two processes on one port, each with its own event consumer
over the shared SQLite log; an event posted to either is applied by both within a second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servekit import free_port
from fastapi import FastAPI

from shelfwise.catalog import Catalog
from shelfwise.events import EventLog
from shelfwise.events.schema import Event
from shelfwise.serve.fleet import RunDir, ShelfMark
from shelfwise.shelf import Shelf
from shelfwise.snapshot import ShelfConfig


@contextmanager
def _two_workers(folder: Path, *options: str) -> Iterator[tuple[str, set[int]]]:
    """``shelfwise serve --shelf folder --workers 2 options...`` on a port of the tests' range, once
    both workers answer: its base URL and the workers' pids; stopped at the end."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).parent / "shelfwise"), "serve", "--shelf", str(folder), "--port", str(port)]
    cmd += ["--workers", "2", "--no-access-log", *options]
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
        yield base, workers
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _health(base: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=5.0) as c:  # a new connection: either worker may accept it
        body: dict[str, Any] = c.get("/health", headers={"Connection": "close"}).json()
        return body


@pytest.mark.slow
def test_events_posted_to_one_worker_reach_every_worker(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    folder = tmp_path / "shelf"
    cfg = ShelfConfig(encoder="hashing", progress=False)
    Shelf.build(tiny_catalog, EventLog.from_events(tiny_events, tiny_catalog), cfg).save(folder)
    with _two_workers(folder, "--events-db", str(tmp_path / "ev.sqlite")) as (base, _):
        for n in range(3):  # each post lands on whichever worker accepts its connection
            with httpx.Client(base_url=base, timeout=5.0) as c:
                r = c.post("/events", json={"user_id": f"u-new-{n}", "type": "purchase", "item_id": "p1"})
                assert r.status_code == 200, r.text
                seq = r.json()["last_seq"]
            t0, seen = time.monotonic(), dict[int, int]()
            while time.monotonic() - t0 < 1.0 and (len(seen) < 2 or min(seen.values()) < seq):
                h = _health(base)
                seen[h["worker"]] = max(seen.get(h["worker"], 0), h["events_applied"])
            assert len(seen) == 2 and min(seen.values()) >= seq, f"after 1 s: {seen}, want seq {seq}"


@pytest.mark.slow
def test_a_reload_answers_once_both_workers_serve_the_new_shelf(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    """serve --workers 2: after POST /admin/reload to another shelf, every request (each on a new
    connection, so either worker may take it) sees the new shelf; before, the other worker kept
    the old one for the seconds its replacement took to load."""
    from shelfwise.catalog import Product

    cfg = ShelfConfig(encoder="hashing", progress=False)
    Shelf.build(tiny_catalog, EventLog.from_events(tiny_events, tiny_catalog), cfg).save(tmp_path / "a")
    bigger = Catalog([*tiny_catalog.products, Product(id="p99", title="Green raincoat", category=("Coats",))])
    new_id = Shelf.build(bigger, EventLog.from_events(tiny_events, bigger), cfg).save(tmp_path / "b").digest
    with _two_workers(tmp_path / "a") as (base, _):
        with httpx.Client(base_url=base, timeout=120.0) as c:
            r = c.post("/admin/reload", json={"shelf": str(tmp_path / "b")})
        assert r.status_code == 200, r.text
        fleet = r.json()["fleet"]
        assert fleet["complete"] and len(fleet["workers"]) == 2, fleet
        assert all(w["swapped"] and w["shelf_id"] == new_id for w in fleet["workers"])
        answered = set()
        for _ in range(20):
            h = _health(base)  # a new connection each time: the kernel picks the worker
            assert (h["shelf_id"], h["items"]) == (new_id, len(bigger)), h
            answered.add(h["worker"])
        assert answered <= {w["pid"] for w in fleet["workers"]}


def _worker_app(tmp_path: Path, catalog: Catalog, events: list[Event], notify: Callable[[RunDir], None]) -> WorkerKit:
    """An app as a worker builds it (its reloader a BroadcastReloader over a run folder where this
    process counts as a worker, like any pid a test reports), built in this process."""
    from shelfwise.serve import create_app
    from shelfwise.serve.setup import ShelfRecipe, ShelfSettings
    from shelfwise.serve.workers import BroadcastReloader

    folder = tmp_path / "shelf"
    cfg = ShelfConfig(encoder="hashing", progress=False)
    Shelf.build(catalog, EventLog.from_events(events, catalog), cfg).save(folder)
    recipe = ShelfRecipe(ShelfSettings())
    loads: list[Path] = []

    def counted(path: Path) -> Shelf:
        loads.append(path)
        return recipe(path)

    app = create_app(recipe(folder), warmup=False, prepare=counted)
    run_dir = RunDir(tmp_path / "run", alive=lambda pid: True)
    run_dir.start(folder)
    run_dir.report(os.getpid(), ShelfMark(folder=str(folder), shelf_id=app.state.shelf.shelf_id))
    app.state.reloader = BroadcastReloader(app.state.reloader, run_dir, notify=lambda: notify(run_dir))
    return WorkerKit(app, run_dir, folder, loads)


@dataclass
class WorkerKit:
    app: FastAPI
    run_dir: RunDir
    folder: Path
    loads: list[Path]


def test_a_worker_reload_loads_the_shelf_once_and_asks_for_the_others(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    from fastapi.testclient import TestClient

    from shelfwise.serve.workers import RELOADED_BY

    asked: list[int] = []
    kit = _worker_app(tmp_path, tiny_catalog, tiny_events, lambda run_dir: asked.append(1))
    first = kit.app.state.shelf
    r = TestClient(kit.app, base_url="http://localhost").post("/admin/reload")
    assert r.status_code == 200, r.text
    assert kit.loads == [kit.folder] and kit.app.state.shelf is not first  # loaded once, in this worker
    target = kit.run_dir.target()  # what the replacement workers load
    assert target == ShelfMark(folder=str(kit.folder), shelf_id=kit.app.state.shelf.shelf_id, generation=1)
    assert kit.run_dir.serving() == {os.getpid(): target}  # ... what this one serves
    assert (kit.run_dir.root / RELOADED_BY).read_text(encoding="utf-8") == str(os.getpid())  # ... and who is done
    assert asked == [1]
    fleet = r.json()["fleet"]
    assert fleet["complete"] and fleet["workers"] == [
        {"pid": os.getpid(), "shelf_id": target.shelf_id, "generation": 1, "swapped": True}
    ]


def test_a_reload_answers_202_naming_the_worker_still_on_the_old_shelf(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    """Another worker that keeps its shelf (its replacement failed to load, or is still loading)."""
    from fastapi.testclient import TestClient

    kit = _worker_app(tmp_path, tiny_catalog, tiny_events, lambda run_dir: None)
    old_id = kit.app.state.shelf.shelf_id
    kit.run_dir.report(999_999, ShelfMark(folder=str(kit.folder), shelf_id=old_id))
    r = TestClient(kit.app, base_url="http://localhost").post("/admin/reload", params={"wait_s": 0})
    assert r.status_code == 202, r.text
    fleet = r.json()["fleet"]
    assert not fleet["complete"] and fleet["wait_s"] == 0
    assert {w["pid"]: w["swapped"] for w in fleet["workers"]} == {os.getpid(): True, 999_999: False}
    assert r.json()["items"] == len(tiny_catalog)  # this worker did reload


def test_a_reload_answers_200_once_the_supervisor_has_replaced_the_others(
    tmp_path: Path, tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    from fastapi.testclient import TestClient

    def supervisor(run_dir: RunDir) -> None:  # the replacement of worker 999,999 loads the published shelf
        run_dir.report(999_998, run_dir.target())
        (run_dir.status_dir / "999999.json").unlink()

    kit = _worker_app(tmp_path, tiny_catalog, tiny_events, supervisor)
    kit.run_dir.report(999_999, ShelfMark(folder=str(kit.folder), shelf_id=kit.app.state.shelf.shelf_id))
    r = TestClient(kit.app, base_url="http://localhost").post("/admin/reload", params={"wait_s": 5})
    assert r.status_code == 200, r.text
    assert {w["pid"]: w["swapped"] for w in r.json()["fleet"]["workers"]} == {os.getpid(): True, 999_998: True}


class _Proc:
    def __init__(self, pid: int) -> None:
        self.pid: int | None = pid


def test_the_supervisor_restarts_every_worker_but_the_one_that_reloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from uvicorn.supervisors import Multiprocess

    from shelfwise.serve.workers import RELOADED_BY, ShelfSupervisor

    restarted: list[list[int]] = []

    def replace_all(self: Multiprocess) -> None:  # each worker replaced by one with its pid + 10
        restarted.append([p.pid for p in self.processes if p.pid is not None])
        self.processes = [_Proc(p.pid + 10) for p in self.processes if p.pid is not None]  # type: ignore[misc]

    monkeypatch.setattr(Multiprocess, "restart_all", replace_all)
    sup = ShelfSupervisor.__new__(ShelfSupervisor)  # no __init__: it would take over this process's signals
    sup.run_dir = RunDir(tmp_path)
    sup.processes = [_Proc(11), _Proc(12), _Proc(13)]  # type: ignore[list-item]
    for pid in (11, 12, 13, 99):  # 99: a replacement still loading, not yet among the processes
        sup.run_dir.report(pid, ShelfMark(folder="/s", shelf_id="a"))
    (tmp_path / RELOADED_BY).write_text("12", encoding="utf-8")
    sup.restart_all()  # a worker's reload: the others are replaced
    assert restarted == [[11, 13]] and {p.pid for p in sup.processes} == {12, 21, 23}
    assert not (tmp_path / RELOADED_BY).exists()
    assert sorted(f.stem for f in sup.run_dir.status_dir.iterdir()) == ["12", "99"]  # the stopped ones' removed
    sup.restart_all()  # SIGHUP to the parent: every worker
    assert sorted(restarted[-1]) == [12, 21, 23]


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
