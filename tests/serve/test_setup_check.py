"""The start check before --workers processes load a shelf: errors named, no recommender fit."""

import contextlib
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve.setup import ServerSetup, ShelfSettings, _try_load, check_loads
from shelfwise.shelf import Shelf


def test_check_reads_the_history_without_fitting_it(
    tmp_path: Path, tiny_catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    searcher = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=256), encoder_spec="hashing")
    Shelf(catalog=tiny_catalog, searcher=searcher).save(tmp_path / "shelf")
    good = tmp_path / "events.csv"
    good.write_text("user_id,item_id,type,timestamp\nu1,p1,view,1704103200\nu1,p2,cart,1704103300\n", encoding="utf-8")
    assert _try_load(tmp_path / "shelf", ShelfSettings(events=good)) is None
    assert "fitting recommenders" not in capsys.readouterr().out  # each worker fits; the check only reads
    bad = tmp_path / "bad.csv"
    bad.write_text("user,sku,action,ts\nu1,p1,view,1704103200\n", encoding="utf-8")
    problem = _try_load(tmp_path / "shelf", ShelfSettings(events=bad))
    assert problem is not None and problem.startswith(f"{bad}: no column 'user_id'")


def test_the_load_check_holds_no_named_semaphore(
    tmp_path: Path, tiny_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check ran in a ProcessPoolExecutor, whose queues register five named semaphores with
    multiprocessing's resource tracker: a server stopped (SIGTERM) during the check left them, and its
    pool process, behind ("resource_tracker: There appear to be 5 leaked semaphore objects")."""
    from multiprocessing import resource_tracker

    registered: list[tuple[str, str]] = []
    plain = resource_tracker.register
    monkeypatch.setattr(
        resource_tracker, "register", lambda name, rtype: (registered.append((name, rtype)), plain(name, rtype))[1]
    )
    searcher = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=256), encoder_spec="hashing")
    Shelf(catalog=tiny_catalog, searcher=searcher).save(tmp_path / "shelf")
    check_loads(ServerSetup(tmp_path / "shelf"))  # loads: no error
    with pytest.raises(ValueError, match="nowhere"):
        check_loads(ServerSetup(tmp_path / "nowhere"))
    assert [r for r in registered if r[1] == "semaphore"] == []


@pytest.mark.slow
def test_serve_stopped_during_the_load_check_leaves_nothing_behind(tmp_path: Path, tiny_catalog: Catalog) -> None:
    """``shelfwise serve --workers 2`` sent SIGTERM while its load check runs: it exits, the check's
    process and the resource tracker with it, and nothing on stderr speaks of leaked semaphores."""
    import os
    import signal
    import subprocess
    import sys
    import time

    searcher = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=256), encoder_spec="hashing")
    Shelf(catalog=tiny_catalog, searcher=searcher).save(tmp_path / "shelf")
    err = tmp_path / "stderr.txt"
    cmd = [sys.executable, "-m", "shelfwise", "serve", "--shelf", str(tmp_path / "shelf"), "--port", "8129"]
    with err.open("w") as sink:
        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=sink, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the check's process: the first spawned child
            kids = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            if any("spawn_main" in Path(f"/proc/{k}/cmdline").read_text(errors="replace") for k in kids):
                break
            time.sleep(0.02)
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        time.sleep(2)
        left = subprocess.run(["pgrep", "-s", str(server.pid)], capture_output=True, text=True).stdout.split()
        assert left == [], "processes left behind"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # what a terminal or service manager does with the rest
        time.sleep(1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
    assert "leaked semaphore" not in err.read_text()
