"""Where a first tuned fit's CPU goes, stage by stage, and what exact dominance pruning of the weight
search's trials could save (issue #11: a first fit within 3x of implicit ALS's).

One first fit of the default hybrid (ALS on 2 threads, zero item vectors, BLAS on one thread: as
bench_sessions_fit.py times it) per set, each stage's function wrapped to add its thread's CPU
seconds (``time.thread_time``: the stages run in several threads at once): the pool's component
scores (``raw_scores``) and candidate cut (``_candidates``) and the rest of its blocks, the ALS
fits (the calling thread's share; implicit's worker threads, alive after the fit, read from
``/proc/self/task``), the other components' fits, the validation prefixes, the two coordinate
ascents (their trials, ``_Pool.ndcg``, apart), the related-items and between-sessions searches;
"rest": the process CPU less all of those (the main thread's glue, the content graph, splits).

Dominance: the search tries non-negative weights (``TuneConfig.grid``) and penalties, and a trial
scores a prefix by its truth's place under ``w @ scores * exp(-penalty * log_counts)`` among the
prefix's pool entries. An entry above the truth in every live component (one scoring some entry)
and no more popular (damping at least the truth's) outranks it under every trial; one below it in
every live component and no less popular never reaches it; a truth scoring 0 everywhere scores 0
in every trial, and so does one with ``k`` entries always above. The pool's trials are recorded
during the fit and replayed on the pruned pool (the "always above" entries counted per prefix) and
on the full one, alternating, with per-prefix NDCG compared bit for bit.

Each set is fitted in a fresh process (a first fit imports modules and starts thread pools).

Run: python bench/bench_tuning_split.py [--set instacart,yoochoose,digi] [--rounds 3] [--out tuning_split]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_json


def task_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process (``/proc/self/task``)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        out[tid] = (int(fields[11]) + int(fields[12])) / tick
    return out


class Timers:
    """Thread CPU seconds and calls per label, added by wrapped functions from any thread."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()
        self.wrapped: list[tuple[Any, str, Any]] = []

    def restore(self) -> None:
        """Put every wrapped function back (a later fit in this process wraps them afresh)."""
        for owner, name, f in reversed(self.wrapped):
            setattr(owner, name, f)
        self.wrapped.clear()

    def wrap(self, owner: Any, name: str, label: str) -> None:
        f = getattr(owner, name)
        self.wrapped.append((owner, name, f))

        @functools.wraps(f)
        def timed(*a: Any, **k: Any) -> Any:
            c0 = time.thread_time()
            try:
                return f(*a, **k)
            finally:
                with self.lock:
                    self.cpu[label] = self.cpu.get(label, 0.0) + time.thread_time() - c0
                    self.calls[label] = self.calls.get(label, 0) + 1

        setattr(owner, name, timed)


@dataclasses.dataclass
class Trials:
    """The pools the two ascents scored and every trial asked of each (weights, penalty, k, exclude_seen)."""

    pools: list[Any] = dataclasses.field(default_factory=list)
    asked: dict[int, list[tuple[np.ndarray, float, int, bool]]] = dataclasses.field(default_factory=dict)


def fit_once(name: str) -> tuple[dict[str, Any], Trials]:
    """One timed first fit of the hybrid on set ``name``: stage CPU seconds, and its trials."""
    from threadpoolctl import threadpool_limits

    import shelfwise.recommend.autotune as autotune
    import shelfwise.recommend.between as between
    import shelfwise.recommend.hybrid as hybrid_mod
    import shelfwise.recommend.side_search as side
    import shelfwise.recommend.tuning_pool as tp
    from bench_sessions_data import LOADERS
    from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions

    timers, trials = Timers(), Trials()
    for owner, fn, label in (
        (tp, "raw_scores", "pool: component scores (raw_scores)"),
        (tp, "_candidates", "pool: candidates and scaling (_candidates)"),
        (tp, "_score_block", "pool: blocks in all"),
        (autotune, "prefix_cases", "validation prefixes (prefix_cases)"),
        (autotune, "coordinate_ascent", "ascents in all"),
        (side, "search_related", "side: related-items search"),
        (side, "prepare_between", "side: between-sessions cases and glue"),
        (between, "raw_scores", "side: between-sessions pools: component scores"),
        (between, "_entries", "side: between-sessions pools: candidates"),
        (between, "coordinate_ascent", "side: between-sessions ascents"),
        (hybrid_mod.HybridRecommender, "_fit_als", "ALS fits (calling thread)"),
        (hybrid_mod.HybridRecommender, "_fit_others", "other components' fits"),
    ):
        timers.wrap(owner, fn, label)
    ndcg = tp._Pool.ndcg

    def recorded(pool: Any, w: np.ndarray, penalty: float, k: int, exclude_seen: bool) -> Any:
        c0 = time.thread_time()
        try:
            return ndcg(pool, w, penalty, k, exclude_seen)
        finally:
            with timers.lock:
                timers.cpu["ascents: trials (_Pool.ndcg)"] = timers.cpu.get("ascents: trials (_Pool.ndcg)", 0.0)
                timers.cpu["ascents: trials (_Pool.ndcg)"] += time.thread_time() - c0
                timers.calls["ascents: trials (_Pool.ndcg)"] = timers.calls.get("ascents: trials (_Pool.ndcg)", 0) + 1
                if not any(p is pool for p in trials.pools):
                    trials.pools.append(pool)
                at = next(i for i, p in enumerate(trials.pools) if p is pool)
                trials.asked.setdefault(at, []).append((w.copy(), float(penalty), k, exclude_seen))

    tp._Pool.ndcg = recorded  # type: ignore[method-assign]
    with threadpool_limits(1, "blas"):
        catalog, train_log, _, _ = LOADERS[name]()
        train = Interactions.from_log(train_log, catalog)
        model = HybridRecommender(
            np.zeros((len(catalog), 8), dtype=np.float32), HybridConfig(als=ALSConfig(num_threads=2))
        )
        before, main = task_cpu(), str(threading.get_native_id())
        load = os.getloadavg()[0]
        t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        model.fit(train)
        wall, cpu, main_cpu = time.perf_counter() - t0, time.process_time() - c0, time.thread_time() - m0
        after = task_cpu()
    tp._Pool.ndcg = ndcg  # type: ignore[method-assign]
    timers.restore()
    native = sum(v - before.get(t, 0.0) for t, v in after.items() if t != main)  # implicit's workers
    stages = dict(timers.cpu)
    stages["ALS fits (implicit's worker threads)"] = native
    glue = stages.pop("pool: blocks in all") - sum(v for k, v in stages.items() if k.startswith("pool: "))
    stages["pool: the rest of its blocks"] = glue
    ascents = stages.pop("ascents in all")
    stages["ascents: the rest (outside trials)"] = ascents - stages["ascents: trials (_Pool.ndcg)"]
    stages["rest (main thread's glue, content graph, splits; process CPU less the above)"] = cpu - sum(stages.values())
    return {
        "wall_s": wall,
        "process_cpu_s": cpu,
        "main_thread_cpu_s": main_cpu,
        "load_1min_before": load,
        "tuning_status": model.tuning.status,
        "stage_cpu_s": dict(sorted(stages.items(), key=lambda kv: -kv[1])),
        "calls": timers.calls,
    }, trials


@dataclasses.dataclass(frozen=True)
class Pruned:
    """A pool without the entries that never change its truths' places and the prefixes that score
    0 in every trial: ``scores`` of the kept entries, ``above`` (per kept prefix, entries always
    above its truth), ``prefix`` (each kept prefix's row in the full pool)."""

    scores: np.ndarray
    log_counts: np.ndarray
    seen: np.ndarray
    start: np.ndarray
    truth: np.ndarray
    above: np.ndarray
    prefix: np.ndarray
    n: int
    damping: dict[float, np.ndarray] = dataclasses.field(default_factory=dict)


def dominance(pool: Any, k: int) -> tuple[Pruned, dict[str, Any]]:
    """The pruned pool and what it drops."""
    live = pool.scores.any(axis=1)
    s = pool.scores[live]
    n = len(pool.start) - 1
    own = pool.owner
    t = pool.truth[own]
    st, lc, lct = s[:, t], pool.log_counts, pool.log_counts[t]
    is_truth = np.zeros(len(own), dtype=bool)
    is_truth[pool.truth] = True
    above = (s > st).all(axis=0) & (lc <= lct) & ~is_truth
    below = (s < st).all(axis=0) & (lc >= lct) & ~is_truth
    n_above = np.bincount(own[above], minlength=n)
    zero = ~(s[:, pool.truth] > 0).any(axis=0)
    dead = zero | (n_above >= k)
    keep = ~dead[own] & ~above & ~below
    kept = np.flatnonzero(~dead)
    sizes = np.bincount(own[keep], minlength=n)[kept]
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    truth = np.cumsum(keep)[pool.truth[kept]] - 1
    pruned = Pruned(
        np.ascontiguousarray(pool.scores[:, keep]),  # (a column mask gives a Fortran-ordered copy)
        lc[keep],
        pool.seen[keep],
        start,
        truth,
        n_above[kept].astype(np.int32),
        kept,
        n,
    )
    stats = {
        "prefixes": n,
        "entries": len(own),
        "live_components": int(live.sum()),
        "prefixes_truth_zero_everywhere": int(zero.sum()),
        f"prefixes_with_k_always_above (k={k})": int(((n_above >= k) & ~zero).sum()),
        "prefixes_dropped_share": float(dead.mean()),
        "entries_always_above": int(above.sum()),
        "entries_never_reaching": int(below.sum()),
        "entries_dropped_share": float(1.0 - keep.mean()) if len(keep) else 0.0,
    }
    return pruned, stats


def pruned_ndcg(p: Pruned, w: np.ndarray, penalty: float, k: int, exclude_seen: bool) -> np.ndarray:
    """``_Pool.ndcg`` on the pruned pool, the dropped prefixes at 0."""
    from shelfwise.recommend.tuning_pool import tied_gain

    fused = w @ p.scores
    if penalty > 0:
        damp = p.damping.get(penalty)
        if damp is None:
            damp = p.damping[penalty] = np.exp(-penalty * p.log_counts)
        fused *= damp
    tv = fused[p.truth]
    at = np.repeat(tv, np.diff(p.start))
    better, tied = fused > at, fused == at
    if exclude_seen and p.seen.any():
        better &= ~p.seen
        tied &= ~p.seen
    rank = np.add.reduceat(better.view(np.int8), p.start[:-1], dtype=np.int32) + p.above
    ties = np.add.reduceat(tied.view(np.int8), p.start[:-1], dtype=np.int32)
    out = np.zeros(p.n, dtype=np.float32)
    out[p.prefix] = np.where(tv > 0, tied_gain(rank, ties, k), 0.0)
    return out


def replay(trials: Trials, rounds: int) -> dict[str, Any]:
    """Every recorded trial on the full pools and on the pruned ones, alternating; CPU seconds of
    each side (the pruning itself timed apart) and whether every per-prefix NDCG is the same."""
    pruned, stats, prep = [], [], 0.0
    for i, pool in enumerate(trials.pools):
        c0 = time.process_time()
        got, st = dominance(pool, trials.asked[i][0][2])
        prep += time.process_time() - c0
        pruned.append(got)
        stats.append({"protocol": "new items" if trials.asked[i][0][3] else "repeats", **st})
    same = True
    for i, pool in enumerate(trials.pools):
        for w, pen, k, ex in trials.asked[i]:
            a = pool.ndcg(w, pen, k, ex)
            b = pruned_ndcg(pruned[i], w, pen, k, ex)
            same &= bool(np.array_equal(a.view(np.uint32), b.view(np.uint32)))
    runs: list[dict[str, float]] = []
    for r in range(rounds):
        row: dict[str, float] = {"load_1min": os.getloadavg()[0]}
        sides: list[tuple[str, Callable[[int, Any], Any]]] = [
            ("full_cpu_s", lambda i, a: trials.pools[i].ndcg(*a)),
            ("pruned_cpu_s", lambda i, a: pruned_ndcg(pruned[i], *a)),
        ]
        for label, fn in sides if r % 2 == 0 else sides[::-1]:
            c0 = time.process_time()
            for i in range(len(trials.pools)):
                for a in trials.asked[i]:
                    fn(i, a)
            row[label] = time.process_time() - c0
        runs.append(row)
    return {
        "pools": stats,
        "trials": {str(i): len(a) for i, a in trials.asked.items()},
        "pruning_cpu_s": prep,
        "per_prefix_ndcg_bit_identical": same,
        "rounds": runs,
        "median_full_cpu_s": float(np.median([r["full_cpu_s"] for r in runs])),
        "median_pruned_cpu_s": float(np.median([r["pruned_cpu_s"] for r in runs])),
    }


def one_set(name: str, rounds: int) -> dict[str, Any]:
    """:func:`fit_once` and :func:`replay` of set ``name`` in this process."""
    from threadpoolctl import threadpool_limits

    fit, trials = fit_once(name)
    with threadpool_limits(1, "blas"):  # as in the fit (idle BLAS threads would spin on the clock)
        fit["dominance"] = replay(trials, rounds)
    return fit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="instacart,yoochoose,digi")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="tuning_split")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a child: one set, its JSON on stdout
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_set(args.one, args.rounds), default=float))
        return
    out: dict[str, Any] = {"what": (__doc__ or "").split("\n\n")[0], "uptime_start": os.popen("uptime").read().strip()}
    for name in args.set.split(","):  # each in a fresh process, as a first fit runs (imports, thread pools)
        cmd = [sys.executable, __file__, "--one", name, "--rounds", str(args.rounds)]
        fit = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        out[name] = fit
        print(name, {k: round(v, 3) for k, v in fit["stage_cpu_s"].items()}, fit["wall_s"], fit["process_cpu_s"])
        print("  dominance", {k: v for k, v in fit["dominance"].items() if k != "pools"})
    out["uptime_end"] = os.popen("uptime").read().strip()
    write_json(args.out, out)


if __name__ == "__main__":
    main()
