"""Server start-up from a saved shelf vs refitting from events, and a reload under load.

Catalog: the first 50,000 real Home Depot product titles (read from ../shared/data/homedepot,
never copied). Behaviour: 100,000 synthetic events over them (Zipf item popularity, 20,000
shoppers in sessions of view/click/cart/purchase; seeded), because the Home Depot data has no
behaviour log: 50,000 form the history file, 50,000 the live event log (SQLite). Encoder:
``hashing`` (256-d, no language model) so the build takes a minute; the start-up path does not
depend on the encoder beyond loading it.

Start-up, each a real ``shelfwise serve`` process, timed from spawn to the first 200 on /search
and to the live consumer having applied the whole log (``/health`` lag 0), with its RSS then:

* before: ``serve --shelf <search-only> --events history --events-db log``: the recommender is
  refitted from the 50k-event history and the 50k-event log is replayed from 0 (the only way
  before shelves were saved whole);
* after: ``serve --shelf <snapshot> --events-db log``: everything loaded, the live state
  restored at its offset, only the events logged after the snapshot replayed (1k, and 10k).

Reload under load: clients hammer /search (and one posts events) while ``POST /admin/reload``
and SIGHUP swap shelves; every non-200 or transport error counts as failed.

    python bench/bench_shelf_startup.py [--items 50000] [--events 100000] [--keep DIR] [--before-repeats 0]
        [--out NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.catalog import Catalog, ProductFields, load_catalog
from shelfwise.events import Event, EventLog, EventStore, EventType
from shelfwise.shelf import Shelf, enable_live
from shelfwise.snapshot import ShelfConfig

from common import SHARED, print_table, write_json

HD = SHARED / "homedepot"
KEY = "bench-shelf-admin-key-0123456789"
TYPES = (EventType.VIEW, EventType.CLICK, EventType.CART, EventType.PURCHASE)
QUERIES = ("cordless drill", "paint roller", "led light bulb", "garden hose", "toilet seat", "wood screws")


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def catalog(n: int) -> Catalog:
    cat = load_catalog(HD / "products.parquet", ProductFields.from_json(HD / "catalog_fields.json")).catalog
    return Catalog(cat.products[:n])


def synthetic_events(cat: Catalog, n: int, seed: int = 0) -> list[Event]:
    """``n`` events: Zipf(1.1) item popularity, 20k shoppers, sessions of 1-8 events, one per 30 s."""
    rng = np.random.default_rng(seed)
    ranks = rng.permutation(len(cat))
    weights = 1.0 / np.arange(1, len(cat) + 1) ** 1.1
    weights /= weights.sum()
    out: list[Event] = []
    t, s = 1_700_000_000.0, 0
    while len(out) < n:
        user = f"u{int(rng.integers(20_000))}"
        s += 1
        for row in ranks[rng.choice(len(cat), size=int(rng.integers(1, 9)), p=weights)]:
            etype = TYPES[int(rng.choice(4, p=[0.6, 0.25, 0.1, 0.05]))]
            item = cat.products[int(row)].id
            out.append(Event(user_id=user, type=etype, timestamp=t, item_id=item, session_id=f"s{s}"))
            t += 30.0
    return out[:n]


def write_history(events: list[Event], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, list[Any]] = {
        "user_id": [e.user_id for e in events],
        "item_id": [e.item_id for e in events],
        "type": [e.type.name.lower() for e in events],
        "timestamp": [e.timestamp for e in events],
        "session_id": [e.session_id for e in events],
    }
    pq.write_table(pa.table(cols), path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) ``pid`` has used: the work of a start-up, whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB."""
    got = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            got[line.split(":")[0]] = int(line.split()[1]) / 1024
    return got.get("VmRSS", 0.0), got.get("VmHWM", 0.0)


class Server:
    """A ``shelfwise serve`` child process."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).parent / "shelfwise"
        # one serving process: start-up, RSS and the reload are measured for one (--workers is separate)
        env = {**os.environ, "SHELFWISE_API_KEY": KEY, "TOKENIZERS_PARALLELISM": "false", "SHELFWISE_WORKERS": "1"}
        self.t0 = time.perf_counter()
        self.log = log.open("w")
        cmd = [str(exe), "serve", *args, "--port", str(self.port), "--no-access-log"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def wait_search(self, timeout: float = 600) -> float:
        while time.perf_counter() - self.t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/search", params={"q": "drill"}, timeout=2).status_code == 200:
                    return time.perf_counter() - self.t0
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise TimeoutError("no healthy /search")

    def wait_caught_up(self, last_seq: int, timeout: float = 600) -> float:
        while time.perf_counter() - self.t0 < timeout:
            h = httpx.get(f"{self.url}/health", timeout=5).json()
            if h["events_applied"] >= last_seq and h["consumer_lag"] == 0:
                return time.perf_counter() - self.t0
            time.sleep(0.05)
        raise TimeoutError("consumer did not catch up")

    def stop(self) -> None:
        """Stop the server and anything it started (its own process group)."""
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def start_up(name: str, args: list[str], last_seq: int, work: Path, timeout: float) -> dict[str, Any]:
    """Spawn to first healthy /search and to the log caught up, RSS then; a start-up still not
    serving after ``timeout`` s is recorded as such (first_search_s null)."""
    before = load()
    srv = Server(args, work / f"startup-{name.split(':')[0]}-{len(list(work.glob('startup-*')))}.log")
    out: dict[str, Any] = {
        "setup": name,
        "first_search_s": None,
        "caught_up_s": None,
        "rss_mib": None,
        "peak_rss_mib": None,
        "load_1m_before": before,
    }
    try:
        out["first_search_s"] = round(srv.wait_search(timeout), 2)
        out["cpu_to_first_search_s"] = round(cpu_s(srv.proc.pid), 2)
        out["caught_up_s"] = round(srv.wait_caught_up(last_seq, timeout), 2)
        rss, hwm = rss_mb(srv.proc.pid)
        out.update(rss_mib=round(rss), peak_rss_mib=round(hwm))
    except TimeoutError:
        out["timed_out_after_s"] = timeout
    finally:
        srv.stop()
    return {**out, "load_1m_after": load()}


def build(work: Path, n_items: int, n_events: int) -> dict[str, Any]:
    """Search-only shelf, history file, event log, and two snapshots (log offsets 40k and 49k of 50k)."""
    info: dict[str, Any] = {}
    t0 = time.perf_counter()
    cat = catalog(n_items)
    events = synthetic_events(cat, n_events)
    half = n_events // 2
    history, live = events[:half], events[half:]
    write_history(history, work / "history.parquet")
    info["data_s"] = time.perf_counter() - t0
    cfg = ShelfConfig(encoder="hashing", progress=False)
    t0 = time.perf_counter()
    search = Shelf.build(cat, None, cfg)
    search.save(work / "search_only")
    info["build_search_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    shelf = Shelf.build(cat, EventLog.from_events(history, cat), cfg)
    info["build_full_s"] = time.perf_counter() - t0
    store = EventStore(work / "events.sqlite")
    cons = enable_live(shelf, store, start=False).consumer
    marks = {"snap_10k": half - half // 5, "snap_1k": half - half // 50}  # 40k and 49k of a 50k log
    done = 0
    for name, upto in marks.items():
        store.append(live[done:upto])
        done = upto
        t0 = time.perf_counter()
        applied = cons.drain()
        info[f"{name}_drain_s"] = time.perf_counter() - t0
        info[f"{name}_drain_events"] = applied
        t0 = time.perf_counter()
        shelf.save(work / name)
        info[f"{name}_save_s"] = time.perf_counter() - t0
    store.append(live[done:])
    info["log_last_seq"] = store.last_seq()
    info["shelf_mib"] = round(sum(f.stat().st_size for f in (work / "snap_1k").rglob("*") if f.is_file()) / 2**20)
    store.close()
    return info


def in_process(work: Path) -> dict[str, Any]:
    """Load a snapshot in-process (parts and live state) and time what each costs."""
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    shelf = Shelf.load(work / "snap_1k")
    out["load_shelf_s"] = time.perf_counter() - t0
    from shelfwise.snapshot import LoadOptions

    t0 = time.perf_counter()
    Shelf.load(work / "snap_1k", LoadOptions(checksums=False))
    out["load_shelf_no_checksums_s"] = time.perf_counter() - t0
    store = EventStore(work / "events.sqlite")
    t0 = time.perf_counter()
    live = enable_live(shelf, store, start=False)
    out["restore_live_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out["replayed_after_snapshot"] = live.consumer.drain()
    out["replay_after_snapshot_s"] = time.perf_counter() - t0
    fresh = Shelf.load(work / "snap_1k")
    fresh.saved_live = None  # rebuild the live state by replaying the whole log instead
    live2 = enable_live(fresh, store, start=False)
    t0 = time.perf_counter()
    out["replayed_full_log"] = live2.consumer.drain()
    out["replay_full_log_s"] = time.perf_counter() - t0
    store.close()
    return out


def reload_under_load(work: Path, seconds: float, clients: int) -> dict[str, Any]:
    """Clients search (and one posts events) while the shelf is reloaded 3x by HTTP and 2x by SIGHUP."""
    srv = Server(["--shelf", str(work / "snap_1k"), "--events-db", str(work / "events.sqlite")], work / "reload.log")
    stats = {"ok": 0, "failed": 0, "events_posted": 0, "event_failures": 0}
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def search() -> None:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            i = 0
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    r = c.get("/search", params={"q": QUERIES[i % len(QUERIES)], "k": 10})
                    good = r.status_code == 200 and bool(r.json()["items"])
                    why = f"status {r.status_code}"
                except httpx.HTTPError as e:
                    good, why = False, repr(e)
                with lock:
                    stats["ok" if good else "failed"] += 1
                    lat.append(time.perf_counter() - t)
                    if not good and len(errors) < 10:
                        errors.append(why)
                i += 1

    def post() -> None:
        with httpx.Client(base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {KEY}"}) as c:
            item = c.get("/search", params={"q": "drill"}).json()["items"][0]["id"]
            i = 0
            while not stop.is_set():
                body = {"user_id": f"r{i % 50}", "type": "click", "item_id": item, "event_id": f"reload-{i}"}
                try:
                    good = c.post("/events", json=body).status_code == 200
                except httpx.HTTPError:
                    good = False
                with lock:
                    stats["events_posted" if good else "event_failures"] += 1
                i += 1
                time.sleep(0.02)

    reloads: list[dict[str, Any]] = []
    try:
        srv.wait_search()
        threads = [threading.Thread(target=search) for _ in range(clients)] + [threading.Thread(target=post)]
        for t in threads:
            t.start()
        time.sleep(seconds / 6)
        auth = {"Authorization": f"Bearer {KEY}"}
        for target in ("snap_10k", "snap_1k", "snap_10k"):
            r = httpx.post(f"{srv.url}/admin/reload", json={"shelf": str(work / target)}, headers=auth, timeout=300)
            reloads.append({"via": "POST", "status": r.status_code, **(r.json() if r.status_code == 200 else {})})
            time.sleep(seconds / 6)
        for _ in range(2):
            before = httpx.get(f"{srv.url}/health").json()["items"]
            srv.proc.send_signal(signal.SIGHUP)
            time.sleep(seconds / 6)
            reloads.append({"via": "SIGHUP", "items": before})
        stop.set()
        for t in threads:
            t.join()
        rss, hwm = rss_mb(srv.proc.pid)
        time.sleep(1.0)
        health = httpx.get(f"{srv.url}/health").json()
        events_total = EventStore(work / "events.sqlite").last_seq()
    finally:
        stop.set()
        srv.stop()
    logged = Path(srv.log.name).read_text().count("reloaded the shelf from")
    a = np.asarray(lat) * 1000
    return {
        **stats,
        "clients": clients,
        "seconds": seconds,
        "reloads": reloads,
        "reloads_logged": logged,
        "errors": errors,
        "search_p50_ms": float(np.percentile(a, 50)),
        "search_p99_ms": float(np.percentile(a, 99)),
        "search_max_ms": float(a.max()),
        "rss_mib": round(rss),
        "peak_rss_mib": round(hwm),
        "events_in_log": events_total,
        "events_applied_after": health["events_applied"],
        "load_1m_after": load(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--reload-seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2, help="start-ups of each snapshot setup")
    ap.add_argument("--before-repeats", type=int, default=1, help="start-ups that refit (slow)")
    ap.add_argument("--before-timeout", type=float, default=600.0, help="give up on a refitting start-up after this")
    ap.add_argument("--note", action="append", default=[], help="a line for the results file (e.g. an earlier run)")
    ap.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temporary one)")
    ap.add_argument("--out", default="shelf_startup", help="results name under bench/results")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="shelf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder {work}; load {load()}")
    built = work / "build.json"
    if built.exists():  # a kept work folder: reuse its shelves and log
        info = json.loads(built.read_text())
    else:
        info = build(work, args.items, args.events)
        built.write_text(json.dumps(info))
    print({k: round(v, 2) if isinstance(v, float) else v for k, v in info.items()})
    last = int(info["log_last_seq"])
    db = str(work / "events.sqlite")
    runs = []
    for i in range(args.repeats):
        if i < args.before_repeats:  # refitting is slow: once is enough to compare
            before = ["--shelf", str(work / "search_only"), "--events", str(work / "history.parquet")]
            runs.append(
                start_up("before: refit + full replay", [*before, "--events-db", db], last, work, args.before_timeout)
            )
        for snap, label in (("snap_1k", "1k"), ("snap_10k", "10k")):
            after = ["--shelf", str(work / snap), "--events-db", db]
            runs.append(start_up(f"after: snapshot + {label} replay", after, last, work, 600))
    header = [
        "setup",
        "first_search_s",
        "cpu_to_first_search_s",
        "caught_up_s",
        "rss_mib",
        "peak_rss_mib",
        "load_1m_before",
    ]
    print_table(
        f"serve start-up, {args.items} items, {args.events} events (hashing encoder)",
        header,
        [[r.get(h) for h in header] for r in runs],
    )
    inproc = in_process(work)
    print_table("in-process (s)", ["step", "value"], [[k, v] for k, v in inproc.items()])
    rel = reload_under_load(work, args.reload_seconds, args.clients)
    print_table(
        "reload under load", ["metric", "value"], [[k, v] for k, v in rel.items() if k not in ("reloads", "errors")]
    )
    for r in rel["reloads"]:
        print("  ", r)
    write_json(
        args.out,
        {
            "items": args.items,
            "events": args.events,
            "encoder": "hashing",
            "data": "first N Home Depot titles (real) + synthetic events (Zipf items, 20k users, seeded)",
            "machine": {"cpus": os.cpu_count()},
            "build": info,
            "startup": runs,
            "in_process": inproc,
            "reload_under_load": rel,
            "notes": args.note,
        },
    )
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
