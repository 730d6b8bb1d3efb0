"""Throughput and overload of ``shelfwise serve`` over HTTP on 127.0.0.1 (issue #10 part 2).

Shelf: the first ``--items`` (50,000) real Home Depot products read from ../shared (never copied
here), e5-onnx item vectors from the embedding cache ``bench_search_real.py`` fills (the same
e5-onnx model is the *query* encoder at serve time: it dominates /search cost), and a synthetic
behaviour history (``--users`` shoppers each viewing a few neighbours of a Zipf-popular item and
buying one) so /recommend has a fitted recommender. Built once into ``bench/.cache/load_shelf``.

Each (configuration, client count) runs against a freshly started server (an empty query LRU) for
``--duration`` seconds: ``N`` closed-loop httpx async clients, no think time, mixing never-seen
real dev queries on ``GET /search`` (60 %), ``GET /recommend/item|user`` (30 %) and single-event
``POST /events`` (10 %). A client given 503/429 waits its ``Retry-After`` (at most 1 s) as a real
client would. Configurations: ``before`` = ``--workers 1 --max-inflight 0 --encode-threads 0`` (one
process, no shedding, encoding in request threads: the old behaviour); ``after`` = the defaults.
(``batch16`` in older results, e.g. load_batching*.json: ``--encode-batch 16``, query-encoder
batching, since removed: it made paced /search slower.)
Then, per configuration, two goal checks: ``/search`` alone at a paced ``--rate`` req/s from 64
connections (open loop, latency from the scheduled send time), and ``/recommend/item`` alone from
1 and from 8 clients. RSS / PSS are summed over the server's processes (PSS counts shared pages
once). The load generator shares the 2 cores with the server: figures are a floor.

``base`` = the defaults with the server code of ``--base-ref`` (a git revision, extracted under
bench/.cache): the same flags on older code, for before/after figures of one change in one run.

``--cpu-check``: server CPU-ms per never-seen ``/search`` (user + system time of every server
process over the requests; the idle rate measured first is reported beside it). All the
configurations' servers run at once and get the same queries in turn, so a busy box slows all
alike (A/B in one run): per round, ``--cpu-n`` requests one at a time, then ``--cpu-rate`` req/s
over 8 connections to every server at once; ``--rounds`` rounds of fresh queries. Beside them,
the bench process runs the same sequential queries through the shelf's own ``HybridSearcher.search``
(its thread's CPU time: ``in_process``), so the HTTP path's cost over the search itself is read in
the same run. Then ``--cpu-mixed-clients`` closed-loop clients on the mixed workload hit every
server at once (server CPU per request; ok/s there compares the servers' CPU shares).
``--paced-only``: only the paced /search goal check (150 req/s over 64 connections) per
configuration: the quick re-run of the goal.
Transport errors are counted by kind (``transport:ReadError``) and, in ``error_details``, by the
OS-level cause (e.g. ``ConnectionResetError(104, ...)``).

Run: nice python bench/bench_load.py [--duration 15] [--clients 1,8,64,200] [--configs before,after]
     nice python bench/bench_load.py --paced-only --configs after --out load_paced_check
     nice python bench/bench_load.py --cpu-check --configs base,after --base-ref HEAD~1 --out load_cpu
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from lean_http import LeanPool

from common import ROOT, SHARED, extract_src, print_table, write_json

SHELF = ROOT / "bench" / ".cache" / "load_shelf"
CONFIGS = {
    "before": ["--workers", "1", "--max-inflight", "0", "--encode-threads", "0"],
    "after": [],
    "base": [],  # the defaults, server code from --base-ref
    "ka5": ["--keep-alive", "5"],  # the defaults with uvicorn's own 5 s keep-alive (transport-error A/B)
    "nocodel": ["--queue-target", "0.5"],  # the defaults without controlled delay (every wait up to 0.5 s)
}
BASE_SRC: dict[str, Path] = {}  # configuration -> the src/ folder its server imports (default: this tree's)
MIX = (("search", 0.6), ("recommend", 0.3), ("events", 0.1))


def build_shelf(items: int, users: int, path: Path) -> None:
    from bench_search_real import CACHE, load_set
    from shelfwise.catalog import Catalog
    from shelfwise.events import EventLog
    from shelfwise.events.schema import Event, EventType
    from shelfwise.shelf import Shelf
    from shelfwise.snapshot import ShelfConfig
    from shelfwise.snapshot.build import fit_recommendations

    full, _ = load_set("hd")
    catalog = Catalog(full.products[:items])
    # every product through e5-onnx (cached), as the committed runs had it (50k would default to the student)
    cfg = ShelfConfig(encoder="e5-onnx", cache=CACHE, progress=False, embed="full")
    search = Shelf.build(catalog, None, cfg)
    rng = np.random.default_rng(0)
    popular = rng.zipf(1.3, size=users) % len(catalog)
    events: list[Event] = []
    vectors = search.searcher.dense.index
    for u, seed in enumerate(popular.tolist()):
        near = vectors.search(vectors.rows([seed])[0], 20).ids.tolist()
        seen = rng.choice(near, size=min(len(near), int(rng.integers(3, 9))), replace=False).tolist()
        t = 1.7e9 + u * 60.0
        for j, row in enumerate(seen):
            events.append(Event(f"u{u}", EventType.VIEW, t + j, catalog.ids[row], f"s{u}"))
        events.append(Event(f"u{u}", EventType.PURCHASE, t + 30, catalog.ids[seen[0]], f"s{u}"))
    fit_recommendations(search, EventLog.from_events(events, catalog), ShelfConfig(), print)
    search.save(path)
    print(f"built {path}: {len(catalog)} products, {len(events)} events, steps {search.timings}")


def load_queries() -> list[str]:
    """The real Home Depot dev queries, deduplicated, in a fixed shuffled order."""
    import pyarrow.parquet as pq

    table = pq.read_table(SHARED / "homedepot" / "queries_dev.parquet")
    qs = list(dict.fromkeys(str(q).strip() for q in table.column("query").to_pylist() if str(q).strip()))
    random.Random(0).shuffle(qs)
    return qs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    workers: int

    def memory(self) -> dict[str, float]:
        procs = [psutil.Process(self.proc.pid)]
        procs += procs[0].children(recursive=True)
        rss = pss = 0
        per: list[float] = []
        for p in procs:
            try:
                m = p.memory_full_info()
            except psutil.Error:
                continue
            rss, pss = rss + m.rss, pss + m.pss
            per.append(round(m.rss / 2**20, 1))
        return {"rss_mib": round(rss / 2**20, 1), "pss_mib": round(pss / 2**20, 1), "rss_per_process_mib": per}

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server's processes have used so far."""
        root = psutil.Process(self.proc.pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def start_server(config: str, db: Path) -> Server:
    port = free_port()
    exe = Path(sys.executable).parent / "shelfwise"
    cmd = ["nice", str(exe), "serve", "--shelf", str(SHELF), "--port", str(port), "--events-db", str(db)]
    cmd += ["--no-access-log", *CONFIGS[config]]
    env = dict(os.environ)
    if config in BASE_SRC:
        env["PYTHONPATH"] = str(BASE_SRC[config])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    url = f"http://127.0.0.1:{port}"
    flags = CONFIGS[config]
    default = min(2, len(os.sched_getaffinity(0)))  # serve's default (shelfwise.serve.capacity.default_workers)
    workers = int(flags[flags.index("--workers") + 1]) if "--workers" in flags else default
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    while len(seen) < workers and time.monotonic() < deadline:  # every worker loaded and answering
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {' '.join(cmd)}")
        try:
            seen.add(httpx.get(url + "/health", headers={"Connection": "close"}, timeout=5).json()["worker"])
        except (httpx.TransportError, KeyError, ValueError):
            time.sleep(0.3)
    return Server(proc, url, workers)


@dataclass
class Tally:
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    status: Counter[str] = field(default_factory=Counter)
    details: Counter[str] = field(default_factory=Counter)  # transport errors by their OS-level cause
    t0: float = 0.0
    t1: float = 0.0
    client_cpu_s: float = 0.0  # CPU the load generator's process spent (it shares the server's cores)

    def record(self, route: str, outcome: str, seconds: float) -> None:
        self.status[outcome] += 1
        if outcome == "ok":
            self.latency[route].append(seconds)

    def summary(self) -> dict[str, Any]:
        wall = max(self.t1 - self.t0, 1e-9)
        ok = sum(len(v) for v in self.latency.values())
        out: dict[str, Any] = {
            "ok_per_s": round(ok / wall, 1),
            "sent_per_s": round(sum(self.status.values()) / wall, 1),
            "errors": {k: v for k, v in self.status.items() if k != "ok"},
        }
        if self.details:
            out["error_details"] = dict(self.details)
        if self.client_cpu_s:
            out["client_cpu_ms_per_request"] = round(1000 * self.client_cpu_s / max(sum(self.status.values()), 1), 2)
        every = [x for v in self.latency.values() for x in v]
        for route, xs in [("all", every), *sorted(self.latency.items())]:
            if xs:
                a = np.asarray(xs) * 1000
                out[route] = {
                    "n": len(xs),
                    "p50_ms": round(float(np.percentile(a, 50)), 1),
                    "p99_ms": round(float(np.percentile(a, 99)), 1),
                }
        return out


class Workload:
    """Request makers over never-seen queries, catalog ids and known shoppers."""

    def __init__(self, queries: list[str], item_ids: list[str], users: int, seed: int) -> None:
        self.queries = queries
        self.next_query = 0
        self.items = item_ids
        self.users = users
        self.rng = random.Random(seed)
        self.event_no = 0

    def request(self, kind: str) -> tuple[str, str, str, dict[str, Any] | None]:
        """(route label, method, path, JSON body)."""
        if kind == "search":
            q = self.queries[self.next_query % len(self.queries)]
            self.next_query += 1
            return "search", "GET", "/search?" + httpx.QueryParams({"q": q, "k": 10}).__str__(), None
        if kind == "recommend":
            if self.rng.random() < 0.5:
                return "recommend/item", "GET", f"/recommend/item/{self.rng.choice(self.items)}?k=10", None
            return "recommend/user", "GET", f"/recommend/user/u{self.rng.randrange(self.users)}?k=10", None
        if kind == "recommend/item":
            return "recommend/item", "GET", f"/recommend/item/{self.rng.choice(self.items)}?k=10", None
        self.event_no += 1
        body = {"user_id": f"u{self.rng.randrange(self.users)}", "type": "view", "item_id": self.rng.choice(self.items)}
        return "events", "POST", "/events", body

    def pick(self) -> str:
        r, acc = self.rng.random(), 0.0
        for kind, share in MIX:
            acc += share
            if r < acc:
                return kind
        return MIX[-1][0]


CLIENTS = ("lean", "httpx", "httpx-ungated")


@contextlib.asynccontextmanager
async def connect(url: str, connections: int, client: str) -> AsyncIterator[httpx.AsyncClient | LeanPool]:
    """The load generator's connections: ``lean`` (:class:`lean_http.LeanPool`, the default: a few
    hundred microseconds of client CPU a request) or ``httpx`` (``AsyncClient``; ~4 ms a request on
    this machine, ``client_cpu_ms_per_request``), both ``connections`` keep-alive connections."""
    if client == "lean":
        pool = LeanPool(url, connections)
        try:
            yield pool
        finally:
            await pool.close()
        return
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as hx:
        yield hx


async def send(
    client: httpx.AsyncClient | LeanPool, w: Workload, kind: str, tally: Tally, t_sched: float | None = None
) -> float:
    """One request; returns the Retry-After to honour (0 when none)."""
    route, method, path, body = w.request(kind)
    t = time.perf_counter() if t_sched is None else t_sched
    try:
        if isinstance(client, LeanPool):
            reply = await client.request(method, path, body)
            status, retry = reply.status, reply.retry_after
        else:
            r = await client.request(method, path, json=body)
            status, retry = r.status_code, float(r.headers.get("retry-after", "1") or 1)
    except (httpx.TimeoutException, TimeoutError):
        tally.record(route, "timeout", 0.0)
        return 0.0
    except (httpx.TransportError, OSError, asyncio.IncompleteReadError) as e:
        tally.record(route, f"transport:{type(e).__name__}", 0.0)
        cause = e.__cause__ or e.__context__ or e
        tally.details[f"{type(e).__name__}: {cause!r}"[:200]] += 1
        return 0.0
    dt = time.perf_counter() - t
    if status in (429, 503):
        tally.record(route, f"http{status}", dt)
        return min(retry if retry is not None else 1.0, 1.0)
    tally.record(route, "ok" if status < 400 else f"http{status}", dt)
    return 0.0


async def closed_loop(
    url: str, clients: int, duration: float, w: Workload, kind: str | None, client: str = "lean"
) -> Tally:
    tally = Tally()
    cpu0 = time.process_time()
    async with connect(url, clients, client) as conn:
        end = time.perf_counter() + duration

        async def one() -> None:
            while time.perf_counter() < end:
                wait = await send(conn, w, kind or w.pick(), tally)
                if wait:
                    await asyncio.sleep(wait)

        tally.t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        tally.t1 = time.perf_counter()
    tally.client_cpu_s = time.process_time() - cpu0
    return tally


async def paced(url: str, connections: int, rate: float, duration: float, w: Workload, client: str = "lean") -> Tally:
    """Open loop: /search sent at ``rate`` req/s over at most ``connections`` connections; latency
    counts from the scheduled send time (a send delayed by a busy client counts as slow).

    A scheduled request waits for one of the ``connections`` before it enters the client (the lean
    pool's idle queue, or a semaphore in front of httpx). ``httpx-ungated`` is how this ran up to
    session 8: every scheduled request entered httpx's pool at once, and httpcore 1.0 re-scans all
    queued requests against every connection on each pool event
    (``AsyncConnectionPool._assign_requests_to_connections``), so a backlog of n requests cost the load
    generator O(n x connections) Python work per request: once the server fell behind, the client took
    the CPU the server needed on the shared cores (6.1-6.7 vs 4.1-4.5 client CPU-ms a request gated,
    back to back on a busy box: results/load_paced_client_ab_s9.json) and the run did not recover.
    Latency is from the schedule in every mode."""
    tally = Tally()
    gate = asyncio.Semaphore(connections if client == "httpx" else 1 << 30)  # lean: its idle queue gates

    cpu0 = time.process_time()
    async with connect(url, connections, "httpx" if client == "httpx-ungated" else client) as conn:

        async def one(at: float) -> float:
            async with gate:
                return await send(conn, w, "search", tally, t_sched=at)

        tasks: list[asyncio.Task[float]] = []
        tally.t0 = start = time.perf_counter()
        n = int(rate * duration)
        for i in range(n):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(at)))
        await asyncio.gather(*tasks)
        tally.t1 = max(time.perf_counter(), start + duration)
    tally.client_cpu_s = time.process_time() - cpu0
    return tally


def _loop_part(
    url: str,
    clients: int,
    duration: float,
    queries: list[str],
    ids: list[str],
    users: int,
    seed: int,
    client: str = "lean",
) -> Tally:
    w = Workload(queries, ids, users, seed)
    return asyncio.run(closed_loop(url, clients, duration, w, None, client))


def mixed(
    url: str, clients: int, duration: float, queries: list[str], ids: list[str], users: int, client: str = "lean"
) -> Tally:
    """``clients`` closed-loop clients, split over processes of at most 50 (one Python process with
    hundreds of httpx connections is itself the bottleneck); each process gets its own queries."""
    from concurrent.futures import ProcessPoolExecutor

    procs = max(1, min(4, -(-clients // 50)))
    if procs == 1:
        return _loop_part(url, clients, duration, queries, ids, users, clients, client)
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    chunk = len(queries) // procs
    with ProcessPoolExecutor(procs) as pool:
        parts = list(
            pool.map(
                _loop_part,
                [url] * procs,
                shares,
                [duration] * procs,
                [queries[i * chunk : (i + 1) * chunk] for i in range(procs)],
                [ids] * procs,
                [users] * procs,
                range(procs),
                [client] * procs,
            )
        )
    out = Tally(
        t0=min(p.t0 for p in parts), t1=max(p.t1 for p in parts), client_cpu_s=sum(p.client_cpu_s for p in parts)
    )
    for part in parts:
        out.status.update(part.status)
        out.details.update(part.details)
        for route, xs in part.latency.items():
            out.latency[route].extend(xs)
    return out


def cpu_per(server: Server, cpu0: float, tally: Tally) -> float:
    return round((server.cpu_s() - cpu0) * 1000 / max(sum(tally.status.values()), 1), 2)


def run_config(config: str, args: argparse.Namespace, queries: list[str], ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"flags": " ".join(CONFIGS[config]) or "(defaults)"}
    for clients in [int(c) for c in args.clients.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            server = start_server(config, Path(tmp) / "ev.sqlite")
            try:
                idle, cpu0 = server.memory(), server.cpu_s()
                tally = mixed(server.url, clients, args.duration, queries, ids, args.users, args.client)
                res = {
                    **tally.summary(),
                    "load_1m": round(os.getloadavg()[0], 2),
                    "memory_idle": idle,
                    "memory": server.memory(),
                    "workers": server.workers,
                }
                res["server_cpu_ms_per_request"] = cpu_per(server, cpu0, tally)
            finally:
                server.stop()
        out[f"mixed_{clients}"] = res
        print(
            f"{config:6s} {clients:3d} clients: {res['ok_per_s']} ok/s, all p50 {res.get('all', {}).get('p50_ms')} "
            f"p99 {res.get('all', {}).get('p99_ms')} ms, errors {res['errors']}, load {res['load_1m']}",
            flush=True,
        )
    if args.skip_goals:
        return out
    out.update(goal_checks(config, args, queries, ids, recommend=True))
    return out


def goal_checks(
    config: str, args: argparse.Namespace, queries: list[str], ids: list[str], recommend: bool
) -> dict[str, Any]:
    """On one fresh server: /search alone paced at ``args.rate`` over 64 connections, then (with
    ``recommend``) /recommend/item alone from 1 and 8 clients."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(config, Path(tmp) / "ev.sqlite")
        try:
            w = Workload(queries, ids, args.users, seed=1)
            load0, cpu0 = round(os.getloadavg()[0], 2), server.cpu_s()
            t = asyncio.run(paced(server.url, 64, args.rate, args.duration, w, args.client))
            out["search_paced_64"] = {
                **t.summary(),
                "rate": args.rate,
                "client": args.client,
                "load_1m_start": load0,
                "load_1m": round(os.getloadavg()[0], 2),
                "server_cpu_ms_per_request": cpu_per(server, cpu0, t),
            }
            for clients in (1, 8) if recommend else ():
                cpu0 = server.cpu_s()
                t = asyncio.run(closed_loop(server.url, clients, args.duration / 2, w, "recommend/item", args.client))
                out[f"recommend_item_{clients}"] = {
                    **t.summary(),
                    "load_1m": round(os.getloadavg()[0], 2),
                    "server_cpu_ms_per_request": cpu_per(server, cpu0, t),
                }
        finally:
            server.stop()
    print(f"{config}: paced /search {out['search_paced_64']}", flush=True)
    return out


def cpu_check(configs: list[str], args: argparse.Namespace, queries: list[str], ids: list[str]) -> dict[str, Any]:
    """Server CPU-ms per never-seen /search, every configuration's server up at once and given the
    same queries in turn (the order rotated per query), so that the box's other load falls on all of
    them alike: per round, ``args.cpu_n`` requests one at a time (one keep-alive client per server),
    then ``args.cpu_rate`` req/s over 8 connections to every server at the same time. Each round
    uses queries no server has seen; the idle CPU rate is measured first."""
    n = args.cpu_n
    paced_n = int(args.cpu_rate * args.duration)
    mixed_n = 700 if args.cpu_mixed_clients else 0  # never-seen queries for the mixed part (cycled if short)
    per_round = n + paced_n + mixed_n
    if per_round * args.rounds > len(queries):
        raise SystemExit(f"--cpu-check needs {per_round * args.rounds} queries, there are {len(queries)}")
    out: dict[str, Any] = {c: {"rounds": []} for c in configs}
    out["in_process"] = {"rounds": []}
    searcher = in_process_searcher()
    with tempfile.TemporaryDirectory() as tmp:
        servers: dict[str, Server] = {}
        try:
            for c in configs:
                servers[c] = start_server(c, Path(tmp) / f"{c}.sqlite")
            clients = {c: httpx.Client(base_url=s.url, timeout=30.0) for c, s in servers.items()}
            for c in configs:  # warm-up queries no round uses
                for q in ("warm up", "drill bits", "paint"):
                    clients[c].get("/search", params={"q": q, "k": 10})
            cpu0, t0 = {c: s.cpu_s() for c, s in servers.items()}, time.perf_counter()
            time.sleep(3.0)
            for c, s in servers.items():
                out[c]["idle_cpu_ms_per_s"] = round((s.cpu_s() - cpu0[c]) * 1000 / (time.perf_counter() - t0), 2)
            for r in range(args.rounds):
                mine = queries[r * per_round : (r + 1) * per_round]
                cpu0 = {c: s.cpu_s() for c, s in servers.items()}
                wall = dict.fromkeys(configs, 0.0)
                load0 = os.getloadavg()[0]
                here = 0.0
                for i, q in enumerate(mine[:n]):
                    t = time.thread_time()  # the same query in this process: HybridSearcher.search alone
                    searcher.search(q, 10)
                    here += time.thread_time() - t
                    for c in configs[i % len(configs) :] + configs[: i % len(configs)]:
                        t = time.perf_counter()
                        resp = clients[c].get("/search", params={"q": q, "k": 10})
                        wall[c] += time.perf_counter() - t
                        if resp.status_code != 200:
                            raise RuntimeError(f"{c}: /search answered {resp.status_code}: {resp.text[:200]}")
                seq = {c: (s.cpu_s() - cpu0[c]) * 1000 / n for c, s in servers.items()}
                load1 = os.getloadavg()[0]
                out["in_process"]["rounds"].append(
                    {"search_cpu_ms": round(here * 1000 / n, 2), "load_1m": round((load0 + load1) / 2, 2)}
                )
                cpu0 = {c: s.cpu_s() for c, s in servers.items()}

                async def all_paced(batch: list[str]) -> list[Tally]:
                    return await asyncio.gather(
                        *(
                            paced(
                                servers[c].url, 8, args.cpu_rate, args.duration, Workload(batch, [], 1, 1), args.client
                            )
                            for c in configs
                        )
                    )

                tallies = asyncio.run(all_paced(mine[n : n + paced_n]))
                paced_cpu = {c: cpu_per(servers[c], cpu0[c], t) for c, t in zip(configs, tallies, strict=True)}
                mixed_rows = (
                    mixed_at_once(servers, args, mine[n + paced_n :], ids, seed=r) if args.cpu_mixed_clients else {}
                )
                for c, tally in zip(configs, tallies, strict=True):
                    summ = tally.summary()
                    row = {
                        "sequential_cpu_ms": round(seq[c], 2),
                        "sequential_wall_ms": round(wall[c] * 1000 / n, 2),
                        "paced_cpu_ms": paced_cpu[c],
                        "paced_ok_per_s": summ["ok_per_s"],
                        "paced_p50_ms": summ.get("search", {}).get("p50_ms"),
                        "paced_p99_ms": summ.get("search", {}).get("p99_ms"),
                        "paced_errors": summ["errors"],
                        "load_1m_sequential": round((load0 + load1) / 2, 2),
                        "load_1m_paced": round(os.getloadavg()[0], 2),
                        **mixed_rows.get(c, {}),
                    }
                    out[c]["rounds"].append(row)
                    print(f"{c:8s} round {r + 1}: {row}", flush=True)
            for c in clients.values():
                c.close()
        finally:
            for srv in servers.values():
                srv.stop()
    inproc = [x["search_cpu_ms"] for x in out["in_process"]["rounds"]]
    out["in_process"]["median_search_cpu_ms"] = round(float(np.median(inproc)), 2)
    for c in configs:
        rounds = out[c]["rounds"]
        out[c]["median_sequential_cpu_ms"] = round(float(np.median([x["sequential_cpu_ms"] for x in rounds])), 2)
        out[c]["median_paced_cpu_ms"] = round(float(np.median([x["paced_cpu_ms"] for x in rounds])), 2)
        if args.cpu_mixed_clients:
            out[c]["median_mixed_cpu_ms"] = round(float(np.median([x["mixed_cpu_ms"] for x in rounds])), 2)
    return out


def mixed_at_once(
    servers: dict[str, Server], args: argparse.Namespace, queries: list[str], ids: list[str], seed: int
) -> dict[str, dict[str, Any]]:
    """``args.cpu_mixed_clients`` closed-loop clients on the mixed workload against every server at
    the same time (one thread each): server CPU per request under the same background load. The
    servers compete for the same cores, so ok/s and latency here compare CPU shares, not designs."""
    cpu0 = {c: s.cpu_s() for c, s in servers.items()}
    tallies: dict[str, Tally] = {}

    def run(c: str) -> None:
        tallies[c] = _loop_part(
            servers[c].url, args.cpu_mixed_clients, args.duration, queries, ids, args.users, seed, args.client
        )

    threads = [threading.Thread(target=run, args=(c,)) for c in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out: dict[str, dict[str, Any]] = {}
    for c, tally in tallies.items():
        summ = tally.summary()
        out[c] = {
            "mixed_cpu_ms": cpu_per(servers[c], cpu0[c], tally),
            "mixed_ok_per_s": summ["ok_per_s"],
            "mixed_errors": summ["errors"],
            "mixed_p99_ms": summ.get("all", {}).get("p99_ms"),
        }
    return out


def in_process_searcher() -> Any:
    """The bench shelf's searcher in this process, as a worker loads it (native pools at 1 thread)."""
    from shelfwise.encode.executor import limit_native_threads
    from shelfwise.serve.setup import ShelfSettings, load_folder

    limit_native_threads(1)
    searcher = load_folder(SHELF, ShelfSettings(), lambda _: None).searcher
    searcher.warmup()
    return searcher


def cpu_table(results: dict[str, Any]) -> None:
    rows = []
    for config, res in results["cpu_check"].items():
        if config == "in_process":
            rows += [[config, i + 1, r["search_cpu_ms"]] + [""] * 10 for i, r in enumerate(res["rounds"])]
            rows.append([config, "median", res["median_search_cpu_ms"]] + [""] * 10)
            continue
        for i, r in enumerate(res["rounds"]):
            rows.append(
                [
                    config,
                    i + 1,
                    r["sequential_cpu_ms"],
                    r["sequential_wall_ms"],
                    r["paced_cpu_ms"],
                    r["paced_ok_per_s"],
                    r["paced_p50_ms"],
                    r["paced_p99_ms"],
                    res["idle_cpu_ms_per_s"],
                    r["load_1m_sequential"],
                    r["load_1m_paced"],
                    r.get("mixed_cpu_ms", "-"),
                    r.get("mixed_ok_per_s", "-"),
                ]
            )
        median = [config, "median", res["median_sequential_cpu_ms"], "", res["median_paced_cpu_ms"]] + [""] * 6
        rows.append([*median, res.get("median_mixed_cpu_ms", "-"), ""])
    print_table(
        f"server CPU-ms per never-seen /search, {results['items']} products, all servers up at once "
        f"(sequential: the same query to each in turn; paced: {results['cpu_rate']} req/s over 8 connections to "
        f"each at once, {results['duration_s']} s)",
        [
            "config",
            "round",
            "seq CPU ms",
            "seq wall ms",
            "paced CPU ms",
            "paced ok/s",
            "p50 ms",
            "p99 ms",
            "idle CPU ms/s",
            "load seq",
            "load paced",
            "mixed CPU ms/req",
            "mixed ok/s",
        ],
        rows,
    )


def table(results: dict[str, Any]) -> None:
    rows = []
    for config, res in results["configs"].items():
        for key, r in res.items():
            if not isinstance(r, dict) or "ok_per_s" not in r:
                continue
            errs = r["errors"]
            shed = sum(v for k, v in errs.items() if k in ("http503", "http429"))
            mem = r.get("memory", {})
            rows.append(
                [
                    config,
                    key,
                    r["ok_per_s"],
                    r.get("search", {}).get("p50_ms", "-"),
                    r.get("search", {}).get("p99_ms", "-"),
                    r.get("recommend/item", {}).get("p99_ms", "-"),
                    r.get("events", {}).get("p99_ms", "-"),
                    shed,
                    sum(errs.values()) - shed,
                    r.get("server_cpu_ms_per_request", "-"),
                    mem.get("rss_mib", "-"),
                    mem.get("pss_mib", "-"),
                    r["load_1m"],
                ]
            )
    print_table(
        f"load test, {results['items']} products, query encoder {results['query_encoder']}, "
        f"{results['duration_s']} s per row",
        [
            "config",
            "run",
            "ok/s",
            "search p50",
            "search p99",
            "rec/item p99",
            "events p99",
            "503/429",
            "other err",
            "CPU ms/req",
            "RSS MiB",
            "PSS MiB",
            "load",
        ],
        rows,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--users", type=int, default=5_000)
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--clients", default="1,8,64,200")
    ap.add_argument("--configs", default="before,after")
    ap.add_argument("--rate", type=float, default=150.0, help="paced /search rate (req/s) for the 64-connection goal")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--after-flags", default="", help="extra serve flags for the 'after' configuration")
    ap.add_argument("--out", default="load", help="results file name under bench/results/")
    ap.add_argument("--skip-goals", action="store_true", help="only the mixed runs")
    ap.add_argument("--paced-only", action="store_true", help="only the paced /search goal check per configuration")
    ap.add_argument(
        "--client",
        default="lean",
        choices=CLIENTS,
        help="load generator: lean (asyncio streams), httpx, or httpx-ungated (the paced client before session 9)",
    )
    ap.add_argument("--cpu-check", action="store_true", help="only server CPU per never-seen /search (A/B)")
    ap.add_argument("--cpu-n", type=int, default=300, help="sequential requests per server and round (CPU check)")
    ap.add_argument("--cpu-rate", type=float, default=40.0, help="paced req/s per server (8 connections, CPU check)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the CPU check (fresh queries each)")
    ap.add_argument(
        "--cpu-mixed-clients", type=int, default=16, help="CPU check: mixed-workload clients per server (0: none)"
    )
    ap.add_argument("--base-ref", default="", help="git revision whose server code configuration 'base' runs")
    args = ap.parse_args()
    CONFIGS["after"] = args.after_flags.split()
    configs = args.configs.split(",")
    if "base" in configs:
        if not args.base_ref:
            ap.error("configuration 'base' needs --base-ref")
        BASE_SRC["base"] = extract_src(args.base_ref)
    if args.rebuild or not (SHELF / "shelf.json").exists():
        build_shelf(args.items, args.users, SHELF)
    from shelfwise.catalog import Catalog

    ids = Catalog.load(SHELF / "catalog" / "catalog.parquet").ids
    queries = load_queries()
    results: dict[str, Any] = {
        "items": len(ids),
        "query_encoder": "e5-onnx (int8, 1 intra-op thread)",
        "duration_s": args.duration,
        "queries": len(queries),
        "cores": os.cpu_count(),
        "client": args.client,  # the load generator of every row (httpx before session 9)
        "load_start": os.getloadavg(),
        "configs": {},
    }
    if args.base_ref:
        results["base_ref"] = args.base_ref
    if args.cpu_check:
        results.update(cpu_rate=args.cpu_rate, cpu_check=cpu_check(configs, args, queries, list(ids)))
        results["load_end"] = os.getloadavg()
        cpu_table(results)
        write_json(args.out, results)
        return
    for n, config in enumerate(configs):
        # a configuration named again (A/B rounds: --configs after,nocodel,after,nocodel) keeps every round
        key = config if config not in configs[:n] else f"{config} #{configs[:n].count(config) + 1}"
        if args.paced_only:
            results["configs"][key] = goal_checks(config, args, queries, list(ids), recommend=False)
        else:
            results["configs"][key] = run_config(config, args, queries, list(ids))
    results["load_end"] = os.getloadavg()
    table(results)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
