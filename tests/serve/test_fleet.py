"""Waiting until every ``serve --workers N`` process serves a reload's shelf (shelfwise.serve.fleet),
with status files written as workers write them and a fake clock: no process, no real waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from shelfwise.serve.fleet import RunDir, ShelfMark, is_sibling, wait_for_fleet

OLD = ShelfMark(folder="/shelves/a", shelf_id="aaaa", generation=0)


class FakeClock:
    """A clock that moves only when the waiter sleeps; ``on_sleep`` runs at each sleep."""

    def __init__(self, on_sleep: Callable[[float], None] = lambda now: None) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s
        self.on_sleep(self.now)


def _run(tmp_path: Path, live: set[int]) -> RunDir:
    run = RunDir(tmp_path / "run", alive=lambda pid: pid in live)
    run.start(Path(OLD.folder))
    return run


def test_a_reload_publishes_the_next_generation_and_each_worker_reports(tmp_path: Path) -> None:
    run = _run(tmp_path, {1, 2})
    assert run.target().generation == 0
    new = run.next_target("/shelves/b", "bbbb")
    assert new == ShelfMark(folder="/shelves/b", shelf_id="bbbb", generation=1) == run.target()
    assert run.next_target("/shelves/b", "bbbb").generation == 2  # each reload one on
    run.report(1, new)
    run.report(2, OLD)
    assert run.serving() == {1: new, 2: OLD}
    assert sorted(p.name for p in run.status_dir.iterdir()) == ["1.json", "2.json"]  # no temporary file left


def test_it_answers_at_once_when_every_worker_serves_the_new_shelf(tmp_path: Path) -> None:
    run = _run(tmp_path, {1, 2})
    new = run.next_target("/shelves/b", "bbbb")
    for pid in (1, 2):
        run.report(pid, new)
    clock = FakeClock()
    got = wait_for_fleet(run, new, 30.0, clock=clock, sleep=clock.sleep)
    assert got.complete and got.waited_s == 0 and clock.slept == []
    assert [(w.pid, w.shelf_id, w.generation, w.swapped) for w in got.workers] == [
        (1, "bbbb", 1, True),
        (2, "bbbb", 1, True),
    ]


def test_a_worker_that_never_swaps_ends_the_wait_at_wait_s_and_is_named(tmp_path: Path) -> None:
    run = _run(tmp_path, {1, 2})
    new = run.next_target("/shelves/b", "bbbb")
    run.report(1, new)
    run.report(2, OLD)  # never replaced
    clock = FakeClock()
    got = wait_for_fleet(run, new, 5.0, poll_s=0.5, clock=clock, sleep=clock.sleep)
    assert not got.complete and got.waited_s == 5.0 and got.wait_s == 5.0
    assert len(clock.slept) == 10
    assert {w.pid: w.swapped for w in got.workers} == {1: True, 2: False}
    assert got.workers[1].shelf_id == "aaaa" and got.workers[1].generation == 0


def test_wait_s_zero_looks_once(tmp_path: Path) -> None:
    run = _run(tmp_path, {1, 2})
    new = run.next_target("/shelves/b", "bbbb")
    run.report(1, new)
    run.report(2, OLD)
    clock = FakeClock()
    got = wait_for_fleet(run, new, 0.0, clock=clock, sleep=clock.sleep)
    assert not got.complete and clock.slept == [] and len(got.workers) == 2


def test_it_answers_once_the_replacement_reports_and_the_old_worker_is_gone(tmp_path: Path) -> None:
    live = {1, 2}
    run = _run(tmp_path, live)
    new = run.next_target("/shelves/b", "bbbb")
    run.report(1, new)
    run.report(2, OLD)

    def supervisor(now: float) -> None:  # 2 s in: worker 3 has loaded the new shelf; then 2 stops
        if now >= 102.0 and 3 not in live:
            live.add(3)
            run.report(3, run.target())
        elif now >= 103.0:
            live.discard(2)  # its status file stays behind: a stopped process no longer counts

    clock = FakeClock(supervisor)
    got = wait_for_fleet(run, new, 30.0, poll_s=0.5, clock=clock, sleep=clock.sleep)
    assert got.complete and got.waited_s == 3.0
    assert [w.pid for w in got.workers] == [1, 3] and (run.status_dir / "2.json").exists()


def test_the_same_generation_of_another_save_is_not_the_new_shelf(tmp_path: Path) -> None:
    """A folder republished between two workers' loads: the later one serves another save."""
    run = _run(tmp_path, {1, 2})
    new = run.next_target("/shelves/b", "bbbb")
    run.report(1, new)
    run.report(2, ShelfMark(folder="/shelves/b", shelf_id="cccc", generation=1))
    clock = FakeClock()
    got = wait_for_fleet(run, new, 1.0, clock=clock, sleep=clock.sleep)
    assert not got.complete and {w.pid: w.swapped for w in got.workers} == {1: True, 2: False}
    later = ShelfMark(folder="/shelves/b", shelf_id="bbbb", generation=2)  # a later reload of the same save
    assert later.serves(new) and not OLD.serves(new)


def test_a_corrupt_or_foreign_status_file_is_skipped(tmp_path: Path) -> None:
    run = _run(tmp_path, {1, 7})
    new = run.next_target("/shelves/b", "bbbb")
    run.report(1, new)
    (run.status_dir / "7.json").write_text("{not json", encoding="utf-8")
    (run.status_dir / "notes.json").write_text("{}", encoding="utf-8")
    assert run.serving() == {1: new}


def test_is_sibling_counts_the_processes_of_this_ones_parent() -> None:
    assert is_sibling(os.getpid())  # this process is a child of its own parent
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not is_sibling(child.pid)  # a child of this process: not a fellow worker
    finally:
        child.kill()
        child.wait(5)
    assert not is_sibling(child.pid)  # gone


def test_concurrent_reloads_get_distinct_generations_threads(tmp_path: Path) -> None:
    """Two workers taking POST /admin/reload at once both read generation G and wrote G + 1 (and,
    threads of one process, shared one temporary file name: FileNotFoundError)."""
    run = _run(tmp_path, {1})
    got: list[int] = []
    errors: list[BaseException] = []

    def reloads() -> None:
        for _ in range(40):
            try:
                got.append(run.next_target("/shelves/b", "bbbb").generation)
            except BaseException as e:  # reported below
                errors.append(e)

    threads = [threading.Thread(target=reloads) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(got) == list(range(1, 241)) and run.target().generation == 240
    assert sorted(p.name for p in run.root.iterdir()) == ["target.json", "target.lock", "workers"]  # no temp file


_RELOADER = """
import sys
from pathlib import Path
from shelfwise.serve.fleet import RunDir
run = RunDir(Path(sys.argv[1]))
print(" ".join(str(run.next_target("/shelves/b", "bbbb").generation) for _ in range(30)))
"""


def test_concurrent_reloads_get_distinct_generations_processes(tmp_path: Path) -> None:
    run = _run(tmp_path, set())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _RELOADER, str(run.root)], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    got = sorted(int(g) for out in outs for g in out.split())
    assert got == list(range(1, 91)) and run.target().generation == 90
