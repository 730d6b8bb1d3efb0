"""Hot-path latency of this tree against ``--base`` (a git revision), ABBA in fresh processes.

For each of ``--rounds`` rounds, two fresh worker processes are started, one importing ``shelfwise``
from ``--base``'s ``src/`` (extracted under bench/.cache) and one from this tree; each builds the same
shelf and answers blocks of ``--block`` calls on request, the two alternating (the base first in even
blocks, this tree first in odd ones: ABBA), so both see the same load. Call i of both codes asks the
same input; the ratios this tree / base of p50, p99 and mean latency carry 95% bootstrap intervals
(calls resampled in pairs, every round pooled).

``search``: the 54,667 real Home Depot products (../shared, evaluation-only; item embeddings from the
cache ``bench_search_real.py`` fills), e5-onnx, the real dev queries. Modes, in this order:
``http never-seen`` (``GET /search?q=..&k=10`` through the FastAPI app in process, starlette's
TestClient, the query-embedding cache emptied first: every query once), ``http repeated`` (same
again, embeddings cached), ``http storefront`` (repeated, with ``distinct``, ``facets``, ``highlight``
and ``variants`` as the storefront asks), ``answer repeated`` (``answer_search`` in process, no
HTTP), then with a seeded 10% of products SIMULATED sold out (the judged catalog has no stock): ``http
repeated, 10% sold out`` and ``http storefront, 10% sold out``.

``recommend``: the made-up 50,000-item store of ``bench_sessions_latency.py`` (hybrid fitted once
here, saved, loaded by each worker), ``GET /recommend/user/{id}?k=20`` through the app in process with
exploration slots (the served default, 4 of 20); on codes that have it, the impression logger the
server runs with an event log (a random sample within 10% of a core, into a temporary file).

Run: nice -n 10 python bench/bench_latency_abba.py --base 72e2740 [--parts search,recommend]
[--rounds 2] [--queries 1000] [--calls 1000] [--block 50] [--out latency_s19_abba]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, extract_src, percentiles, print_table, time_calls, write_json

SEARCH_MODES = (
    "http never-seen",
    "http repeated",
    "http storefront",
    "answer repeated",
    "http repeated, 10% sold out",
    "http storefront, 10% sold out",
)
STOREFRONT = {"distinct": "true", "facets": "true", "highlight": "true", "variants": "true"}
SOLD_OUT_SHARE, SOLD_OUT_SEED = 0.10, 7


def search_worker(args: argparse.Namespace) -> tuple[dict[str, Callable[[Any], Any]], list[Any]]:
    """The search shelf with this process's shelfwise; per mode, the call timed on one query."""
    from starlette.testclient import TestClient

    from bench_search_real import CACHE, load_set
    from shelfwise.catalog import Filters
    from shelfwise.encode import load_encoder
    from shelfwise.index import detect_language
    from shelfwise.retrieve import HybridSearcher
    from shelfwise.retrieve.answer import answer_search
    from shelfwise.serve import create_app
    from shelfwise.shelf import Shelf

    catalog, judgments = load_set("hd")
    queries = [judgments.queries[q] for q in judgments.judged()][: args.queries]
    s = HybridSearcher.build(catalog, load_encoder("e5-onnx", CACHE), language=detect_language(catalog.texts()))
    client = TestClient(create_app(Shelf(catalog, s)), base_url="http://localhost")

    def http(extra: dict[str, str]) -> Callable[[Any], Any]:
        def call(q: str) -> Any:
            r = client.get("/search", params={"q": q, "k": "10", **extra})
            r.raise_for_status()
            return r

        return call

    for q in ("warm up", "drill", "paint"):
        http(STOREFRONT)(q)
    s.dense._cache.clear()
    calls: dict[str, Callable[[Any], Any]] = {
        "http never-seen": http({}),
        "http repeated": http({}),
        "http storefront": http(STOREFRONT),
        "answer repeated": lambda q: answer_search(s, q, 10, Filters()),
        "http repeated, 10% sold out": http({}),
        "http storefront, 10% sold out": http(STOREFRONT),
    }

    def sell_out() -> None:  # a seeded share of products sold out, alike in both codes (SIMULATED)
        out = np.random.default_rng(SOLD_OUT_SEED).random(len(catalog)) < SOLD_OUT_SHARE
        for r in np.flatnonzero(out).tolist():
            catalog.products[r] = dataclasses.replace(catalog.products[r], in_stock=False)
        catalog.in_stock = ~out
        catalog.all_in_stock = False

    sold = {"done": False}

    def before(mode: str) -> None:
        if "sold out" in mode and not sold["done"]:
            sell_out()
            sold["done"] = True

    calls_with_setup = {m: _with_setup(before, m, fn) for m, fn in calls.items()}
    return calls_with_setup, queries


def _with_setup(before: Callable[[str], None], mode: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call(x: Any) -> Any:
        before(mode)
        return fn(x)

    return call


def recommend_worker(args: argparse.Namespace, model: str) -> tuple[dict[str, Callable[[Any], Any]], list[Any]]:
    """The 50k-item recommend shelf with this process's shelfwise; /recommend/user with exploration."""
    from starlette.testclient import TestClient

    from bench_sessions_latency import item_vectors, synthetic_store
    from shelfwise.bandit import SlotExplorer
    from shelfwise.encode import load_encoder
    from shelfwise.recommend import HybridRecommender
    from shelfwise.retrieve import HybridSearcher
    from shelfwise.serve import create_app
    from shelfwise.shelf import Shelf

    catalog, _ = synthetic_store(args.items, args.sessions, args.users)
    h = HybridRecommender.load(model, catalog, item_vectors(args.items))
    searcher = HybridSearcher.build(catalog, load_encoder("hashing"))
    shelf = Shelf(catalog, searcher, recommender=h, bandit=SlotExplorer(catalog))
    try:  # the impression logger (session 19), on codes that have it (unless --no-impression-log)
        if args.no_impression_log:
            raise ImportError("off")
        from shelfwise.bandit.impression_log import ImpressionLogger
        from shelfwise.bandit.impression_sampler import CostSampler
        from shelfwise.events.impressions import ImpressionStore

        folder = tempfile.mkdtemp(prefix="abba-impr-")
        shelf.impressions = ImpressionLogger(ImpressionStore(Path(folder) / "impressions.db"), sampler=CostSampler(0.1))
    except ImportError:
        pass
    client = TestClient(create_app(shelf, warmup=False), base_url="http://localhost")

    def call(u: str) -> Any:
        r = client.get(f"/recommend/user/{u}", params={"k": "20"})
        r.raise_for_status()
        return r

    rng = np.random.default_rng(3)
    users = [f"u{int(u)}" for u in rng.integers(0, args.users, args.calls + 100)]
    for u in users[:100]:
        call(u)
    return {"http /recommend/user explore": call}, users[100:]


def worker(args: argparse.Namespace) -> None:
    """Answer stdin lines ``mode start stop`` with one JSON line: each call's seconds."""
    import tempfile as _t

    model = args.model or _t.mkdtemp()
    calls, inputs = search_worker(args) if args.worker == "search" else recommend_worker(args, model)
    print("ready", flush=True)
    for line in sys.stdin:
        mode, a, b = line.rsplit(" ", 2)
        fn = calls[mode]
        print(json.dumps(time_calls(fn, inputs[int(a) : int(b)])), flush=True)


class Worker:
    """A :func:`worker` process importing shelfwise from ``src``."""

    def __init__(self, src: Path, argv: list[str]) -> None:
        env = dict(os.environ, PYTHONPATH=str(src))
        cmd = [sys.executable, __file__, *argv]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"worker {self.proc.args} did not start")

    def times(self, mode: str, a: int, b: int) -> list[float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{mode} {a} {b}\n")
        self.proc.stdin.flush()
        return [float(x) for x in json.loads(self.proc.stdout.readline())]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(120)


def ratio_ci(new: Sequence[float], old: Sequence[float], n: int = 2000, seed: int = 0) -> dict[str, float]:
    """this tree / base of p50, p99 and mean latency, 95% bootstrap intervals (calls resampled in pairs)."""
    a, b = np.asarray(new), np.asarray(old)
    idx = np.random.default_rng(seed).integers(0, len(a), (n, len(a)))
    stats: dict[str, Callable[..., Any]] = {
        "p50": lambda x, **k: np.median(x, **k),
        "p99": lambda x, **k: np.percentile(x, 99, **k),
        "mean": lambda x, **k: np.mean(x, **k),
    }
    out: dict[str, float] = {}
    for name, f in stats.items():
        out[f"{name}_ratio"] = float(f(a) / f(b))
        boot = f(a[idx], axis=1) / f(b[idx], axis=1)
        out[f"{name}_ratio_ci95_lo"], out[f"{name}_ratio_ci95_hi"] = (
            float(v) for v in np.percentile(boot, [2.5, 97.5])
        )
    return out


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_part(part: str, args: argparse.Namespace, codes: dict[str, Path], model: str) -> dict[str, Any]:
    """``--rounds`` rounds of two fresh workers (base, this tree), modes in alternating blocks."""
    modes = SEARCH_MODES if part == "search" else ("http /recommend/user explore",)
    n = args.queries if part == "search" else args.calls
    argv = ["--worker", part, "--model", model]
    argv += [f"--{k}={getattr(args, k)}" for k in ("queries", "calls", "items", "sessions", "users")]
    argv += ["--no-impression-log"] if args.no_impression_log else []
    got: dict[str, dict[str, list[float]]] = {m: {label: [] for label in codes} for m in modes}
    loads: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(args.rounds):
        order = list(codes) if r % 2 == 0 else list(codes)[::-1]  # which starts (and builds) first
        workers = {label: Worker(codes[label], argv) for label in order}
        try:
            for w in workers.values():
                w.wait_ready()
            print(f"{part} round {r}: workers ready, {uptime()}", flush=True)
            for mode in modes:
                loads[mode].append(os.getloadavg()[0])
                for j, a in enumerate(range(0, n, args.block)):
                    seq = order if j % 2 == 0 else order[::-1]
                    for label in seq:
                        got[mode][label] += workers[label].times(mode, a, min(a + args.block, n))
                loads[mode].append(os.getloadavg()[0])
        finally:
            for w in workers.values():
                w.close()
    out: dict[str, Any] = {}
    for mode in modes:
        old, new = got[mode].values()
        out[mode] = {
            "latency": {label: percentiles(t) for label, t in got[mode].items()},
            "ratio_this_tree_over_base": ratio_ci(new, old),
            "load_1min_range": [min(loads[mode]), max(loads[mode])],
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="72e2740", help="the git revision compared against")
    ap.add_argument("--parts", default="search,recommend")
    ap.add_argument("--rounds", type=int, default=2, help="fresh worker pairs per part")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--block", type=int, default=50)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--users", type=int, default=40_000)
    ap.add_argument("--out", default="latency_s19_abba")
    ap.add_argument("--no-impression-log", action="store_true", help="recommend: no impression logger on either code")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--model", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    load0 = uptime()
    print("uptime:", load0, flush=True)
    rev = ["git", "-C", str(ROOT), "rev-parse", "--short"]
    commit = subprocess.run([*rev, "HEAD"], capture_output=True, text=True).stdout.strip()
    base = subprocess.run([*rev, args.base], capture_output=True, text=True, check=True).stdout.strip()
    status = ["git", "-C", str(ROOT), "status", "--porcelain", "src"]
    dirty = bool(subprocess.run(status, capture_output=True, text=True).stdout)
    codes = {
        f"base {base}": extract_src(args.base),
        f"this tree {commit}" + (" + changes" if dirty else ""): ROOT / "src",
    }
    parts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as model:
        for part in args.parts.split(","):
            if part == "recommend":
                from bench_sessions_latency import item_vectors, synthetic_store
                from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions

                catalog, log = synthetic_store(args.items, args.sessions, args.users)
                h = HybridRecommender(item_vectors(args.items), HybridConfig(als=ALSConfig(num_threads=1)))
                h.fit(Interactions.from_log(log, catalog))
                h.save(model)
            parts[part] = run_part(part, args, codes, model)
    rows = [
        [mode, label.split()[0], *(round(p[k], 2) for k in ("p50_ms", "p99_ms", "mean_ms"))]
        for d in parts.values()
        for mode, v in d.items()
        for label, p in v["latency"].items()
    ]
    print_table("hot paths, base vs this tree, alternating blocks (ms)", ["mode", "code", "p50", "p99", "mean"], rows)
    for d in parts.values():
        for mode, v in d.items():
            r = v["ratio_this_tree_over_base"]
            said = [
                f"{m} {r[f'{m}_ratio']:.3f} [{r[f'{m}_ratio_ci95_lo']:.3f}, {r[f'{m}_ratio_ci95_hi']:.3f}]"
                for m in ("p50", "p99", "mean")
            ]
            print(f"{mode}: this tree / base " + ", ".join(said) + f"; load {v['load_1min_range']}")
    load1 = uptime()
    print("uptime:", load1)
    write_json(
        args.out,
        {
            "what": "hot-path latency, base vs this tree, fresh worker processes, alternating blocks (ABBA)",
            "search_data": "54,667 real Home Depot products, real dev queries (evaluation-only, read from ../shared); "
            "'10% sold out' modes: SIMULATED stock",
            "recommend_data": f"synthetic (made-up) store: {args.items} items, {args.sessions} sessions, "
            f"{args.users} users",
            "parts": parts,
            "rounds": args.rounds,
            "impression_log": not args.no_impression_log,
            "block": args.block,
            "base": base,
            "commit": commit,
            "src_has_uncommitted_changes": dirty,
            "cpus": os.cpu_count(),
            "argv": sys.argv[1:],
            "uptime_start": load0,
            "uptime_end": load1,
            "load_note": "shared 2-core machine, other helpers' jobs beside this one; base and this tree alternate "
            "in blocks so both see the same load, absolute figures are under that load",
        },
    )


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # one BLAS thread, as a serving worker
        main()
