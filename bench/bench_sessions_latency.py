"""Recommendation latency at 50,000 items and fit time beside implicit's, in process (no HTTP).

A synthetic store (made-up data: the shared logs have at most ~10k items): 50,000 items with
Zipf popularity, 200,000 sessions of 1-12 clicks walking a sparse item graph (each item has a few
"next" items), 40,000 returning users; item vectors are random unit vectors (dim 64) standing in
for text embeddings. Timed: ``recommend(user)`` (the /recommend/user path), ``similar(item)``
(/recommend/item) and ``recommend_session(items)`` (/recommend/session), and /recommend/user with
exploration slots (the served default share, 4 of 20, each scored by its own fused score: read from
the list's own scoring pass since session 18, a second pass before), 1,000 calls each after
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

``--explore``: /recommend/user with exploration slots (4 of 20, the served default; Thompson
sampling seeded alike in both processes, so both list the same items), this tree against ``--base``
the same way (one worker process per code, alternating blocks of ``--block`` calls, the tuned
weights), two variants: ``clock`` (shoppers as the clock finds them: the made-up log is old, so
between sessions) and ``live`` (``live=True``: the in-session weights, which fuse more components);
the ratios of p50 and mean latency carry 95% bootstrap intervals (calls resampled in pairs).
Run: nice -n 10 python bench/bench_sessions_latency.py --explore --base REV [--out sessions_latency_s18_explore]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.bandit import SlotExplorer
from shelfwise.catalog import Catalog, Product
from shelfwise.events import EventLog, EventType
from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.explore import recommend_with_exploration

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


def explore_users(args: argparse.Namespace) -> list[str]:
    """The shopper ids ``--explore`` asks for (returning users, drawn with a fixed seed)."""
    rng = np.random.default_rng(3)
    return [f"u{int(u)}" for u in rng.integers(0, args.users, args.calls + 100)]


def long_worker(model: str, args: argparse.Namespace) -> None:
    """Load the hybrid saved in ``model`` with this process's shelfwise (PYTHONPATH) and answer
    stdin lines ``variant start stop`` with one JSON line: the seconds of each call on inputs
    ``start:stop`` (``recommend_session`` of a long session, k=20, seen items excluded; with
    ``--explore``, /recommend/user with exploration slots of a shopper id, k=20, the served default
    share); with a fourth word ``lists``, their listed item rows (and, ``--explore``, scores) instead."""
    catalog, log = synthetic_store(args.items, args.sessions, args.users)
    h = HybridRecommender.load(model, catalog, item_vectors(args.items))
    configs = {"tuned": h.config, "untuned": h.config.untuned()}
    live: dict[str, bool | None] = {"clock": None, "live": True}  # --explore's variants: who says "in session"
    variant = "tuned"
    if args.explore:
        explorer = SlotExplorer(catalog)  # the served default: 20% of slots (4 of 20); a seeded policy
        inputs: list[Any] = explore_users(args)

        def call(u: Any) -> Any:
            return recommend_with_exploration(h, explorer, u, 20, now=0.0, live=live[variant])

        def listed(r: Any) -> Any:
            return [r.ids.tolist(), np.round(r.scores, 6).tolist()]
    else:
        inputs = long_sessions(log, args.calls + 100, args.clicks)

        def call(s: Any) -> Any:
            return h.recommend_session(s, 20)

        def listed(r: Any) -> Any:
            return r.ids.tolist()

    print("ready", flush=True)
    for line in sys.stdin:
        variant, a, b, *lists = line.split()
        h.config = configs.get(variant, h.config)
        todo = inputs[int(a) : int(b)]
        if lists:
            print(json.dumps([listed(call(x)) for x in todo]), flush=True)
        else:
            print(json.dumps(time_calls(call, todo)), flush=True)


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


def paired_ratio_ci(new: Sequence[float], old: Sequence[float], n: int = 2000, seed: int = 0) -> dict[str, float]:
    """``new`` / ``old`` p50 and mean latency ratios with 95% bootstrap intervals, the calls resampled
    in pairs (call i of both codes asked the same input, in alternating blocks)."""
    a, b = np.asarray(new), np.asarray(old)
    idx = np.random.default_rng(seed).integers(0, len(a), (n, len(a)))
    p50 = np.median(a[idx], axis=1) / np.median(b[idx], axis=1)
    mean = a[idx].mean(axis=1) / b[idx].mean(axis=1)
    out = {"p50_ratio": float(np.median(a) / np.median(b)), "mean_ratio": float(a.mean() / b.mean())}
    for name, boot in (("p50_ratio", p50), ("mean_ratio", mean)):
        out[f"{name}_ci95_lo"], out[f"{name}_ci95_hi"] = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
    return out


def long_context(args: argparse.Namespace) -> None:
    """``--long-context`` / ``--explore``: this tree against ``--base`` (module docstring)."""
    load0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", load0)
    rev = ["git", "-C", str(ROOT), "rev-parse", "--short"]
    commit = subprocess.run([*rev, "HEAD"], capture_output=True, text=True).stdout.strip()
    base = subprocess.run([*rev, args.base], capture_output=True, text=True, check=True).stdout.strip()
    dirty = bool(
        subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True).stdout
    )
    catalog, log = synthetic_store(args.items, args.sessions, args.users)
    h = HybridRecommender(item_vectors(args.items), HybridConfig(als=ALSConfig(num_threads=1)))
    h.fit(Interactions.from_log(log, catalog))
    print(f"tuning: {h.tuning.status}: {h.tuning.reason}")
    argv = [f"--{k}={getattr(args, k)}" for k in ("items", "sessions", "users", "calls", "clicks")]
    argv += ["--explore"] if args.explore else []
    codes = {
        f"base {base}": extract_src(args.base),
        f"this tree {commit}" + (" + changes" if dirty else ""): ROOT / "src",
    }
    # --explore, the tuned weights: shoppers as the clock finds them (the log is old: between sessions,
    # whose tuned new-items fusion here is popularity alone) and said to be in session (live=true)
    variants = ("clock", "live") if args.explore else ("tuned", "untuned")
    lat: dict[str, dict[str, dict[str, float]]] = {}
    ratios: dict[str, dict[str, float]] = {}
    same: dict[str, int] = {}  # inputs (of the 100 warm-up ones) both codes list alike
    with tempfile.TemporaryDirectory() as tmp:
        h.save(tmp)
        workers = {label: Worker(src, tmp, argv) for label, src in codes.items()}
        try:
            for variant in variants:
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
                old, new = got.values()
                ratios[variant] = paired_ratio_ci(new, old)
        finally:
            for w in workers.values():
                w.close()
    rows = [
        [v, label, *(round(p[k], 2) for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms"))]
        for v, d in lat.items()
        for label, p in d.items()
    ]
    if args.explore:
        what = f"/recommend/user with exploration slots (4 of 20), {args.items} items"
    else:
        distinct = [len(set(s)) for s in long_sessions(log, args.calls + 100, args.clicks)]
        what = f"/recommend/session, {args.clicks} clicks ({np.mean(distinct):.0f} distinct items on average)"
        what += f", {args.items} items"
    print_table(
        f"{what}, k=20, in process, one thread, old and new alternating",
        ["weights", "code", "p50 ms", "p90 ms", "p99 ms", "mean ms"],
        rows,
    )
    for v, r in ratios.items():
        said = [
            f"{m} {r[f'{m}_ratio']:.3f} [{r[f'{m}_ratio_ci95_lo']:.3f}, {r[f'{m}_ratio_ci95_hi']:.3f}]"
            for m in ("p50", "mean")
        ]
        print(f"{v}: this tree / base, " + ", ".join(said))
    print(f"inputs listed alike by both codes (of 100): {same}")
    load1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", load1)
    payload: dict[str, Any] = {
        "what": f"{what}: base vs this tree, alternating blocks",
        "items": args.items,
        "sessions": args.sessions,
        "users": args.users,
        "data": "synthetic (made-up) store",
    }
    if not args.explore:
        payload["clicks_per_session"] = args.clicks
        payload["distinct_items_per_session"] = {
            "mean": float(np.mean(distinct)),
            "min": min(distinct),
            "max": max(distinct),
        }
    default = "sessions_explore" if args.explore else "sessions_latency_long"
    write_json(
        args.out if args.out != "sessions_latency" else default,
        {
            **payload,
            "calls": args.calls,
            "block": args.block,
            "tuning": h.tuning.as_dict(),
            "latency": lat,
            "ratio_this_tree_over_base": ratios,
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
    ap.add_argument("--explore", action="store_true", help="/recommend/user with exploration, --base vs this tree")
    ap.add_argument("--base", default="HEAD~1", help="--long-context: the git revision compared against")
    ap.add_argument("--clicks", type=int, default=5000, help="--long-context: clicks per session")
    ap.add_argument("--block", type=int, default=50, help="--long-context: calls per alternating block")
    ap.add_argument("--long-worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.long_worker:
        return long_worker(args.long_worker, args)
    if args.long_context or args.explore:
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
    items = rng.integers(0, args.items, args.calls + 100).tolist()
    sessions = [rng.choice(log.item, int(rng.integers(1, 6))).tolist() for _ in range(args.calls + 100)]
    routes: dict[str, Any] = {
        "/recommend/user": (lambda u: h.recommend(u, 20), users),
        "/recommend/user explore": (lambda u: recommend_with_exploration(h, explorer, u, 20, now=0.0), users),
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
