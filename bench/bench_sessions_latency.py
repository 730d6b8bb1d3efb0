"""Recommendation latency at 50,000 items and fit time beside implicit's, in process (no HTTP).

A synthetic store (made-up data: the shared logs have at most ~10k items): 50,000 items with
Zipf popularity, 200,000 sessions of 1-12 clicks walking a sparse item graph (each item has a few
"next" items), 40,000 returning users; item vectors are random unit vectors (dim 64) standing in
for text embeddings. Timed: ``recommend(user)`` (the /recommend/user path), ``similar(item)``
(/recommend/item) and ``recommend_session(items)`` (/recommend/session), and /recommend/user with
exploration slots (the served default share, 4 of 20, each scored by its own fusion: a second
scoring pass beside the list's), 1,000 calls each after
100 warm-up calls, one thread; the 1-minute load average is kept beside each route (the machine
may be shared). Fit: each component of the hybrid, fit-time weight tuning, and
implicit ALS alone on the same user-item matrix (same factors and iterations, one thread).

Run: nice -n 10 python bench/bench_sessions_latency.py [--items 50000] [--out sessions_latency]

``--long-context``: /recommend/session for long, repetitive sessions (``--clicks`` clicks each, drawn
from the log's events: popular items clicked many times), this tree's code against ``--base`` (a git
revision; its ``src/`` extracted under bench/.cache) in the same run. The hybrid is fitted once here
and saved; one process per code loads it and times blocks of ``--block`` calls on request, the
two alternating (which goes first swaps every block) so that both see the same load; weights as
fitted (tuned) and the untuned defaults (every component, co-occurrence among them, scores).
Run: nice -n 10 python bench/bench_sessions_latency.py --long-context [--base HEAD~1] [--clicks 5000]
[--out sessions_latency_long]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.bandit import SlotExplorer
from shelfwise.catalog import Catalog, Product
from shelfwise.events import EventLog, EventType
from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.explore import own_scores, recommend_with_exploration

from common import ROOT, extract_src, percentiles, print_table, time_calls, write_json


def synthetic_store(n_items: int, n_sessions: int, n_users: int, seed: int = 0) -> tuple[Catalog, EventLog]:
    rng = np.random.default_rng(seed)
    cats = [f"dept {i % 20}" for i in range(n_items)]
    catalog = Catalog([Product(id=f"i{i}", title=f"product {i}", category=(cats[i],)) for i in range(n_items)])
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    pop /= pop.sum()
    nxt = rng.choice(n_items, size=(n_items, 4), p=pop)
    lengths = rng.integers(1, 13, n_sessions)
    total = int(lengths.sum())
    draws = rng.choice(n_items, size=total + n_sessions, p=pop).tolist()  # popularity draws, used in order
    follow = (rng.random(total) < 0.7).tolist()
    pick = rng.integers(0, 4, total).tolist()
    owner = rng.integers(0, n_users, n_sessions).tolist()
    users, items, times, sess = [], [], [], []
    t, j, d = 0.0, 0, 0
    for s, n in enumerate(lengths.tolist()):
        it = draws[d]
        d += 1
        for _ in range(n):
            users.append(owner[s])
            items.append(it)
            times.append(t)
            sess.append(s)
            t += 30.0
            if follow[j]:
                it = int(nxt[it, pick[j]])
            else:
                it, d = draws[d], d + 1
            j += 1
        t += 3600.0
    n = len(items)
    log = EventLog(
        user=np.asarray(users, dtype=np.int64),
        item=np.asarray(items, dtype=np.int64),
        type=np.full(n, int(EventType.VIEW), dtype=np.int8),
        timestamp=np.asarray(times, dtype=np.float64),
        session=np.asarray(sess, dtype=np.int64),
        queries=("",) * n,
        users=tuple(f"u{i}" for i in range(n_users)),
    )
    return catalog, log


def fit_report(data: Interactions, vec: np.ndarray, cfg: HybridConfig) -> tuple[HybridRecommender, dict[str, float]]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    out: dict[str, float] = {}
    h = HybridRecommender(vec, cfg)
    t0 = time.perf_counter()
    h.fit(data)
    out["hybrid fit, total (tuning included)"] = time.perf_counter() - t0
    fresh = HybridRecommender(vec, cfg)  # unfitted components, timed one by one
    for name, comp in fresh.components.items():
        if name == "sasrec":
            continue
        t0 = time.perf_counter()
        comp.fit(data)
        out[f"component: {name}"] = time.perf_counter() - t0
    ui = data.user_item().astype(np.float32)
    best = []
    for _ in range(2):
        with threadpool_limits(1, "blas"):
            m = AlternatingLeastSquares(factors=cfg.als.factors, iterations=cfg.als.iterations, num_threads=1)
            t0 = time.perf_counter()
            m.fit(ui, show_progress=False)
            best.append(time.perf_counter() - t0)
    out["implicit ALS alone"] = min(best)
    behaviour = sum(v for k, v in out.items() if k.startswith("component:") and "content" not in k)
    out["behaviour components (no text kNN)"] = behaviour
    out["ratio behaviour / implicit"] = behaviour / out["implicit ALS alone"]
    out["ratio hybrid total without text kNN / implicit"] = (
        out["hybrid fit, total (tuning included)"] - out["component: content"]
    ) / out["implicit ALS alone"]
    return h, out


def item_vectors(n_items: int) -> np.ndarray:
    """Random unit vectors (dim 64), standing in for text embeddings."""
    rng = np.random.default_rng(1)
    vec = rng.normal(size=(n_items, 64)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    return vec


def long_sessions(log: EventLog, n: int, clicks: int) -> list[list[int]]:
    """``n`` sessions of ``clicks`` clicks each, drawn from the log's events: Zipf-popular items,
    the head ones clicked many times in one session."""
    rng = np.random.default_rng(2)
    return [rng.choice(log.item, clicks).tolist() for _ in range(n)]


def long_worker(model: str, args: argparse.Namespace) -> None:
    """Load the hybrid saved in ``model`` with this process's shelfwise (PYTHONPATH) and answer
    stdin lines ``variant start stop`` with one JSON line: the seconds of each
    ``recommend_session`` call on sessions ``start:stop`` (k=20, seen items excluded); with a
    fourth word ``lists``, their listed item rows instead."""
    catalog, log = synthetic_store(args.items, args.sessions, args.users)
    h = HybridRecommender.load(model, catalog, item_vectors(args.items))
    configs = {"tuned": h.config, "untuned": h.config.untuned()}
    sessions = long_sessions(log, args.calls + 100, args.clicks)
    print("ready", flush=True)
    for line in sys.stdin:
        variant, a, b, *lists = line.split()
        h.config = configs[variant]
        todo = sessions[int(a) : int(b)]
        if lists:
            print(json.dumps([h.recommend_session(s, 20).ids.tolist() for s in todo]), flush=True)
        else:
            print(json.dumps(time_calls(lambda s: h.recommend_session(s, 20), todo)), flush=True)


class Worker:
    """A :func:`long_worker` process importing shelfwise from ``src``."""

    def __init__(self, src: Path, model: str, argv: list[str]) -> None:
        env = dict(os.environ, PYTHONPATH=str(src))
        cmd = [sys.executable, __file__, "--long-worker", model, *argv]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"worker on {src} did not start")

    def ask(self, line: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def times(self, variant: str, a: int, b: int) -> list[float]:
        return [float(x) for x in self.ask(f"{variant} {a} {b}")]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(60)


def long_context(args: argparse.Namespace) -> None:
    """``--long-context``: this tree against ``--base`` on long repetitive sessions (module docstring)."""
    load0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", load0)
    rev = ["git", "-C", str(ROOT), "rev-parse", "--short"]
    commit = subprocess.run([*rev, "HEAD"], capture_output=True, text=True).stdout.strip()
    base = subprocess.run([*rev, args.base], capture_output=True, text=True, check=True).stdout.strip()
    dirty = bool(
        subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True).stdout
    )
    catalog, log = synthetic_store(args.items, args.sessions, args.users)
    sessions = long_sessions(log, args.calls + 100, args.clicks)
    distinct = [len(set(s)) for s in sessions]
    h = HybridRecommender(item_vectors(args.items), HybridConfig(als=ALSConfig(num_threads=1)))
    h.fit(Interactions.from_log(log, catalog))
    argv = [f"--{k}={getattr(args, k)}" for k in ("items", "sessions", "users", "calls", "clicks")]
    codes = {
        f"base {base}": extract_src(args.base),
        f"this tree {commit}" + (" + changes" if dirty else ""): ROOT / "src",
    }
    lat: dict[str, dict[str, dict[str, float]]] = {}
    same: dict[str, int] = {}  # sessions (of the 100 warm-up ones) both codes list alike
    with tempfile.TemporaryDirectory() as tmp:
        h.save(tmp)
        workers = {label: Worker(src, tmp, argv) for label, src in codes.items()}
        try:
            for variant in ("tuned", "untuned"):
                lists = [w.ask(f"{variant} 0 100 lists") for w in workers.values()]  # warm-up
                same[variant] = sum(a == b for a, b in zip(*lists, strict=True))
                got: dict[str, list[float]] = {label: [] for label in workers}
                before = os.getloadavg()[0]
                for j, a in enumerate(range(100, args.calls + 100, args.block)):
                    order = list(workers) if j % 2 == 0 else list(workers)[::-1]
                    for label in order:
                        got[label] += workers[label].times(variant, a, min(a + args.block, args.calls + 100))
                after = os.getloadavg()[0]
                lat[variant] = {label: percentiles(t) for label, t in got.items()}
                for v in lat[variant].values():
                    v["load_1min_before"], v["load_1min_after"] = before, after
        finally:
            for w in workers.values():
                w.close()
    rows = [
        [v, label, *(round(p[k], 2) for k in ("p50_ms", "p90_ms", "p99_ms"))]
        for v, d in lat.items()
        for label, p in d.items()
    ]
    print_table(
        f"/recommend/session, {args.clicks} clicks ({np.mean(distinct):.0f} distinct items on average), "
        f"{args.items} items, k=20, in process, one thread, old and new alternating",
        ["weights", "code", "p50 ms", "p90 ms", "p99 ms"],
        rows,
    )
    print(f"sessions listed alike by both codes (of 100): {same}")
    load1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", load1)
    write_json(
        args.out if args.out != "sessions_latency" else "sessions_latency_long",
        {
            "what": "/recommend/session latency for long repetitive sessions, base vs this tree, alternating blocks",
            "items": args.items,
            "sessions": args.sessions,
            "users": args.users,
            "data": "synthetic (made-up) store",
            "clicks_per_session": args.clicks,
            "distinct_items_per_session": {
                "mean": float(np.mean(distinct)),
                "min": min(distinct),
                "max": max(distinct),
            },
            "calls": args.calls,
            "block": args.block,
            "tuning": h.tuning.as_dict(),
            "latency": lat,
            "same_lists_of_100": same,
            "uptime_start": load0,
            "uptime_end": load1,
            "argv": sys.argv[1:],
            "cpus": os.cpu_count(),
            "commit": commit,
            "src_has_uncommitted_changes": dirty,
            "base": base,
            "load_note": (
                "shared machine: other jobs ran beside this one; base and this tree alternate in blocks, "
                "so both see the same load, but absolute figures are one thread under that load"
            ),
        },
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--users", type=int, default=40_000)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--out", default="sessions_latency", help="results name under bench/results")
    ap.add_argument("--long-context", action="store_true", help="long repetitive sessions, --base vs this tree")
    ap.add_argument("--base", default="HEAD~1", help="--long-context: the git revision compared against")
    ap.add_argument("--clicks", type=int, default=5000, help="--long-context: clicks per session")
    ap.add_argument("--block", type=int, default=50, help="--long-context: calls per alternating block")
    ap.add_argument("--long-worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.long_worker:
        return long_worker(args.long_worker, args)
    if args.long_context:
        return long_context(args)
    load0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    git = ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    print("uptime:", load0)
    catalog, log = synthetic_store(args.items, args.sessions, args.users)
    data = Interactions.from_log(log, catalog)
    rng = np.random.default_rng(1)
    vec = rng.normal(size=(args.items, 64)).astype(np.float32)  # item_vectors(); rng draws on from here
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    cfg = HybridConfig(als=ALSConfig(num_threads=1))
    print(f"{len(catalog)} items, {len(data)} events, {args.sessions} sessions, {args.users} users")
    h, fits = fit_report(data, vec, cfg)
    print_table("fit seconds (one thread)", ["what", "seconds"], [[k, round(v, 3)] for k, v in fits.items()])
    print(f"tuning: {h.tuning.status}: {h.tuning.reason}")
    users = [f"u{int(u)}" for u in rng.integers(0, args.users, args.calls + 100)]
    explorer = SlotExplorer(catalog)  # the served default: 20% of slots (4 of 20), each scored by its own fusion
    tail = np.arange(args.items - 4, args.items, dtype=np.int64)  # 4 explored rows (which ones costs nothing)
    items = rng.integers(0, args.items, args.calls + 100).tolist()
    sessions = [rng.choice(log.item, int(rng.integers(1, 6))).tolist() for _ in range(args.calls + 100)]
    routes: dict[str, Any] = {
        "/recommend/user": (lambda u: h.recommend(u, 20), users),
        "/recommend/user explore": (lambda u: recommend_with_exploration(h, explorer, u, 20, now=0.0), users),
        "  of which own_scores": (lambda u: own_scores(h, u, tail, exclude_seen=True), users),  # as the route asks
        "/recommend/item": (lambda i: h.similar(int(i), 20), items),
        "/recommend/session": (lambda s: h.recommend_session(s, 20), sessions),
    }
    lat: dict[str, dict[str, float]] = {}
    for route, (fn, inputs) in routes.items():
        time_calls(fn, inputs[:100])
        before = os.getloadavg()[0]
        lat[route] = percentiles(time_calls(fn, inputs[100:]))
        lat[route]["load_1min_before"], lat[route]["load_1min_after"] = before, os.getloadavg()[0]
    print_table(
        f"latency at {args.items} items, k=20, in process, one thread",
        ["route", "p50 ms", "p90 ms", "p99 ms"],
        [[r, round(v["p50_ms"], 2), round(v["p90_ms"], 2), round(v["p99_ms"], 2)] for r, v in lat.items()],
    )
    load1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", load1)
    write_json(
        args.out,
        {
            "items": args.items,
            "events": len(data),
            "sessions": args.sessions,
            "users": args.users,
            "data": "synthetic (made-up) store",
            "fit_seconds": fits,
            "tuning": h.tuning.as_dict(),
            "latency": lat,
            "uptime_start": load0,
            "uptime_end": load1,
            "argv": sys.argv[1:],
            "cpus": os.cpu_count(),
            "commit": commit,
            "load_note": (
                "shared machine: other jobs ran beside this one, so the load averages above (and per route) "
                "count them; latencies are one thread under that load, not a quiet machine's"
            ),
        },
    )


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # one thread, as a serving worker
        main()
