"""Recommendation latency at 50,000 items and fit time beside implicit's, in process (no HTTP).

A synthetic store (made-up data: the shared logs have at most ~10k items): 50,000 items with
Zipf popularity, 200,000 sessions of 1-12 clicks walking a sparse item graph (each item has a few
"next" items), 40,000 returning users; item vectors are random unit vectors (dim 64) standing in
for text embeddings. Timed: ``recommend(user)`` (the /recommend/user path), ``similar(item)``
(/recommend/item) and ``recommend_session(items)`` (/recommend/session), 1,000 calls each after
100 warm-up calls, one thread; the 1-minute load average is kept beside each route (the machine
may be shared). Fit: each component of the hybrid, fit-time weight tuning, and
implicit ALS alone on the same user-item matrix (same factors and iterations, one thread).

Run: nice -n 10 python bench/bench_sessions_latency.py [--items 50000] [--out sessions_latency]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.catalog import Catalog, Product
from shelfwise.events import EventLog, EventType
from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions

from common import percentiles, print_table, time_calls, write_json


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--users", type=int, default=40_000)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--out", default="sessions_latency", help="results name under bench/results")
    args = ap.parse_args()
    load0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    git = ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    print("uptime:", load0)
    catalog, log = synthetic_store(args.items, args.sessions, args.users)
    data = Interactions.from_log(log, catalog)
    rng = np.random.default_rng(1)
    vec = rng.normal(size=(args.items, 64)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    cfg = HybridConfig(als=ALSConfig(num_threads=1))
    print(f"{len(catalog)} items, {len(data)} events, {args.sessions} sessions, {args.users} users")
    h, fits = fit_report(data, vec, cfg)
    print_table("fit seconds (one thread)", ["what", "seconds"], [[k, round(v, 3)] for k, v in fits.items()])
    print(f"tuning: {h.tuning.status}: {h.tuning.reason}")
    users = [f"u{int(u)}" for u in rng.integers(0, args.users, args.calls + 100)]
    items = rng.integers(0, args.items, args.calls + 100).tolist()
    sessions = [rng.choice(log.item, int(rng.integers(1, 6))).tolist() for _ in range(args.calls + 100)]
    routes: dict[str, Any] = {
        "/recommend/user": (lambda u: h.recommend(u, 20), users),
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
