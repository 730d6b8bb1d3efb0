"""EventStore: ordering, offsets, multi-thread appends, and no lost acknowledged event under kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shelfwise.events import Event, EventStore, EventType

WORKER = Path(__file__).with_name("_append_worker.py")


def _ev(i: int) -> Event:
    return Event(user_id=f"u{i}", item_id="p1", type=EventType.VIEW, timestamp=float(i))


def test_append_read_offsets(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    assert store.append([]) == 0
    assert store.append([_ev(0), _ev(1)]) == 2
    assert store.append([_ev(2)]) == 3
    got = store.read(since=1)
    assert [s for s, _ in got] == [2, 3] and got[0][1].user_id == "u1"
    assert [s for s, _ in store.read(0, limit=1)] == [1]
    assert store.offset("c") == 0
    store.save_offset("c", 2)
    store.save_offset("c", 3)
    store.close()
    again = EventStore(tmp_path / "log.sqlite")
    assert again.offset("c") == 3 and again.count() == 3 and again.last_seq() == 3


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_read_only_store_reads_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = EventStore(path)
    store.append([_ev(0), _ev(1)])
    store.save_offset("live", 1)
    store.close()
    before = _files(tmp_path)
    assert list(before) == ["log.sqlite"]  # the last writer's close folded its WAL in
    ro = EventStore(path, read_only=True)  # no WAL beside it: read as it is, nothing created
    assert [s for s, _ in ro.read(1)] == [2] and ro.offset("live") == 1 and ro.last_seq() == 2
    with pytest.raises(sqlite3.OperationalError):
        ro.save_offset("live", 2)
    with pytest.raises(sqlite3.OperationalError):
        ro.append([_ev(2)])
    ro.close()
    assert _files(tmp_path) == before
    writer = EventStore(path)  # a running server: its appends sit in the WAL, read too
    writer.append([_ev(2)])
    ro = EventStore(path, read_only=True)
    assert ro.last_seq() == 3 and [e.user_id for _, e in ro.read(2)] == ["u2"]
    ro.close()
    writer.close()
    with pytest.raises(FileNotFoundError, match="no such file"):
        EventStore(tmp_path / "none.sqlite", read_only=True)
    assert not (tmp_path / "none.sqlite").exists()


def test_concurrent_appends_get_contiguous_sequence(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "log.sqlite")
    lasts: list[int] = []

    def work(base: int) -> None:
        for j in range(20):
            lasts.append(store.append([_ev(base + j * 2), _ev(base + j * 2 + 1)]))

    threads = [threading.Thread(target=work, args=(b * 1000,)) for b in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 160 and sorted(lasts) == list(range(2, 161, 2))
    assert [s for s, _ in store.read()] == list(range(1, 161))


def test_kill9_loses_no_acknowledged_event(tmp_path: Path) -> None:
    """A subprocess appends and prints an ACK after each commit; SIGKILL it mid-stream; every
    event it acknowledged must be in the log afterwards."""
    path = tmp_path / "log.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(WORKER), str(path), "3"], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    acked: list[tuple[int, int, int]] = []
    deadline = time.monotonic() + 30
    while len(acked) < 150 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ACK"):
            _, last, lo, hi = line.split()
            acked.append((int(last), int(lo), int(hi)))
    os.kill(proc.pid, signal.SIGKILL)
    for line in proc.stdout:  # ACKs printed before the kill are acknowledged too
        if line.startswith("ACK"):
            _, last, lo, hi = line.split()
            acked.append((int(last), int(lo), int(hi)))
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 150
    store = EventStore(path)
    users = {e.user_id for _, e in store.read()}
    missing = [f"u{i}" for _, lo, hi in acked for i in range(lo, hi + 1) if f"u{i}" not in users]
    assert missing == []
    assert store.last_seq() >= acked[-1][0]
    # seq numbers acknowledged match the stored rows
    by_seq = {s: e.user_id for s, e in store.read()}
    assert all(by_seq[last] == f"u{hi}" for last, _, hi in acked)
