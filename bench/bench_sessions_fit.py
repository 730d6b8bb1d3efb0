"""Fit seconds of the hybrid (fit-time tuning included), of a routine refit keeping yesterday's
searched weights, and of implicit ALS, each fit in a fresh process, rounds alternating so that all
see the same machine load (issue #11: fit within 3x of implicit's on the same data).

Hybrid: default ``HybridConfig`` with ALS on 2 threads, no text (zero item vectors, as the bench);
implicit ALS: its tuned YOOCHOOSE config (128 factors, regularisation 0.1, 15 iterations, 2
threads), fitted through ``ALSRecommender``. Each process imports and loads the data outside the
timer; the fit's wall and process CPU seconds (all threads) and the 1-minute load are kept.
Refit: a routine refit (``recommend.retune``): the hybrid fitted with tuning on the log before its
latest validation slice (yesterday's model, outside the timer), then refitted on the whole log keeping
those searched weights, no new search (``ratio_of_medians_refit_to_implicit``).
Like for like: the hybrid's first fit searches its weights on the store's latest sessions, so it is
also timed beside implicit ALS *with its own search*: the bench_sessions peer's grid (factors x
regularisation, 9 fits on the rows before the same validation slice, each scored on 1,500 of its
prefixes), then the chosen config fitted on the whole log (``ratio_of_medians_hybrid_to_implicit_searched``).
``--set``: a bench_sessions_data set (digi, yoochoose, instacart, hm). ``--src DIR`` times
another checkout's ``src`` (e.g. the code before a change) as a third fit.

``--abba``: instead, the hybrid's first fit with ``--src``'s code and this checkout's in ONE process,
alternating (ABBA: the base first in even rounds), ``--rounds`` rounds: each side's ``shelfwise`` imported
afresh (``sys.modules`` cleared) and its data loaded outside the timer, so both run in the same warm
process; wall and process CPU seconds, the load, and the tuning reports (``tuned_at`` aside) and fitted
configs asserted equal.

Run: python bench/bench_sessions_fit.py [--set yoochoose] [--rounds 3] [--out sessions_fit_runs]
[--src /tmp/before/src --src-commit <commit>] (e.g. ``git archive <commit> src | tar -x -C /tmp/before``)
[--abba] [--calm 1.5,300] [--first-fit-only]

``--first-fit-only``: only the hybrid's first fit and implicit ALS alternate (the goal's two peers;
a shorter run on a busy machine).

``--calm LOAD,SECONDS``: before each fit, wait until the 1-minute load is below LOAD (other work on a
shared machine eased), at most SECONDS; the wait is kept with each run (``calm_wait_s``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_json

REFIT = "hybrid refit, yesterday's weights kept"
SEARCHED = "implicit ALS + its grid search"


def one_fit(which: str, name: str) -> dict[str, Any]:
    """Fit ``which`` ("hybrid" | "implicit") on set ``name`` in this process; seconds and load."""
    from threadpoolctl import threadpool_limits

    from bench_sessions_data import LOADERS
    from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions
    from shelfwise.recommend.factor import ALSRecommender

    with threadpool_limits(1, "blas"):
        catalog, train_log, _, _ = LOADERS[name]()
        train = Interactions.from_log(train_log, catalog)
        model: Any
        if which in ("hybrid", "refit"):
            vec = np.zeros((len(catalog), 8), dtype=np.float32)
            cfg = HybridConfig(als=ALSConfig(num_threads=2))
            model = HybridRecommender(vec, cfg)
            if which == "refit":  # yesterday's search (the log before its latest slice), outside the timer
                from shelfwise.recommend.autotune import validation_split
                from shelfwise.recommend.retune import SavedTuning

                model.fit(validation_split(train, cfg.tune.fraction, cfg.tune.max_sessions)[0])
                model = HybridRecommender(vec, cfg, reuse=SavedTuning.of(model))
        else:
            model = ALSRecommender(ALSConfig(factors=128, regularization=0.1, iterations=15, num_threads=2))
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        if which == "implicit_searched":  # the peer's grid search, then its chosen config on every row
            from bench_sessions import tune_als

            model = ALSRecommender(tune_als(train, threads=2)[0])
        model.fit(train)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"wall": wall, "cpu": cpu, "load_1min_before": load, "load_1min_after": os.getloadavg()[0]}
    if which in ("hybrid", "refit"):
        out["tuning_status"] = model.tuning.status
    return out


def use_src(src: str) -> None:
    """Import ``shelfwise`` (and the bench modules that import it) from ``src`` from now on."""
    import importlib

    here = str(Path(__file__).resolve().parent)
    for mod in list(sys.modules):
        file = getattr(sys.modules[mod], "__file__", None) or ""
        if mod == "shelfwise" or mod.startswith("shelfwise.") or (file.startswith(here) and mod != "__main__"):
            del sys.modules[mod]
    sys.path[:] = [src, *(p for p in sys.path if not (Path(p or ".") / "shelfwise").is_dir())]
    importlib.invalidate_caches()


def abba_fit(name: str, src: str) -> dict[str, Any]:
    """One timed first fit of the hybrid on set ``name`` with ``src``'s code, in this process."""
    import gc

    from threadpoolctl import threadpool_limits

    use_src(src)
    import shelfwise
    from bench_sessions_data import LOADERS
    from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions
    from shelfwise.recommend.persist import config_to_json

    assert str(shelfwise.__file__).startswith(src), (shelfwise.__file__, src)

    with threadpool_limits(1, "blas"):
        catalog, train_log, _, _ = LOADERS[name]()
        train = Interactions.from_log(train_log, catalog)
        model = HybridRecommender(
            np.zeros((len(catalog), 8), dtype=np.float32), HybridConfig(als=ALSConfig(num_threads=2))
        )
        gc.collect()
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(train)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    report = model.tuning.as_dict()
    report.pop("tuned_at")
    return {
        "wall": wall,
        "cpu": cpu,
        "load_1min_before": load,
        "report": report,
        "config": config_to_json(model.config),
    }


def abba(name: str, base_src: str, rounds: int) -> dict[str, Any]:
    """:func:`abba_fit` of the base (``base_src``) and of this checkout, alternating; reports asserted equal."""
    sides = {"base": str(Path(base_src).resolve()), "now": str(Path(__file__).resolve().parents[1] / "src")}
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "now": []}
    for r in range(rounds):
        got = {}
        for label in ("base", "now") if r % 2 == 0 else ("now", "base"):
            waited = calm()
            got[label] = {**abba_fit(name, sides[label]), "calm_wait_s": waited}
            runs[label].append({k: v for k, v in got[label].items() if k not in ("report", "config")})
            print(f"round {r + 1} {label}: {runs[label][-1]}", flush=True)
        assert got["base"]["report"] == got["now"]["report"], "tuning reports differ"
        assert got["base"]["config"] == got["now"]["config"], "fitted configs differ"
    out: dict[str, Any] = {"runs": runs, "reports_and_configs_equal": True}
    for key in ("wall", "cpu"):
        base, now = (np.array([x[key] for x in runs[s]]) for s in ("base", "now"))
        out[f"median_{key}_s"] = {"base": float(np.median(base)), "now": float(np.median(now))}
        out[f"round_ratios_now_to_base_{key}"] = (now / base).tolist()
        out[f"median_ratio_now_to_base_{key}"] = float(np.median(now / base))
    return out


CALM: list[float] = []  # --calm: (1-minute load to wait for, seconds to wait at most)


def calm() -> float:
    """With ``--calm``, wait until the 1-minute load is below its level (other work on the machine
    has eased) or its time is up; the seconds waited."""
    if not CALM:
        return 0.0
    t0 = time.perf_counter()
    while os.getloadavg()[0] >= CALM[0] and time.perf_counter() - t0 < CALM[1]:
        time.sleep(5.0)
    return time.perf_counter() - t0


def run(which: str, name: str, src: str | None) -> dict[str, Any]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if src:
        env["PYTHONPATH"] = src
    cmd = [sys.executable, __file__, "--one", which, "--set", name]
    got = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.strip().splitlines()[-1]
    return dict(json.loads(got))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="yoochoose")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--calm",
        default="",
        help="LOAD,SECONDS: before each fit wait until the 1-minute load is below LOAD (at most SECONDS)",
    )
    ap.add_argument("--src", default=None, help="another checkout's src folder, timed as 'hybrid (--src)'")
    ap.add_argument("--src-commit", default=None, help="the commit --src was taken from, kept in the JSON")
    ap.add_argument("--out", default="sessions_fit_runs")
    ap.add_argument("--abba", action="store_true", help="--src's hybrid fit against this checkout's, one process")
    ap.add_argument(
        "--first-fit-only",
        action="store_true",
        help="time the hybrid's first fit and implicit ALS only (no routine refit, no searched implicit)",
    )
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_fit(args.one, args.set)))
        return
    if args.calm:
        CALM.extend(float(x) for x in args.calm.split(","))
    git = ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    if args.abba:
        if not args.src:
            ap.error("--abba needs --src (the base's src folder)")
        t0 = time.strftime("%H:%M:%S", time.gmtime())
        got = abba(args.set, args.src, args.rounds)
        print(json.dumps({k: v for k, v in got.items() if k != "runs"}, indent=1))
        what = "The hybrid's first fit (tuning included) with the base's code and this checkout's, ABBA in one process"
        meta = {"what": what, "set": args.set, "commit": commit}
        meta.update(src=args.src, src_commit=args.src_commit, utc_start=t0, cpus=os.cpu_count(), calm=args.calm)
        write_json(args.out, {**meta, "utc_end": time.strftime("%H:%M:%S", time.gmtime()), **got})
        return
    fits: dict[str, tuple[str, str | None]] = {
        "hybrid": ("hybrid", None),
        "implicit ALS": ("implicit", None),
        REFIT: ("refit", None),
        SEARCHED: ("implicit_searched", None),
    }
    if args.first_fit_only:
        del fits[REFIT], fits[SEARCHED]
    if args.src:
        fits["hybrid (--src)"] = ("hybrid", args.src)
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in fits}
    t0 = time.strftime("%H:%M:%S", time.gmtime())
    for r in range(args.rounds):
        for label, (which, src) in fits.items():
            waited = calm()
            runs[label].append({**run(which, args.set, src), "calm_wait_s": waited})
            print(f"round {r + 1} {label}: {runs[label][-1]}")
    med = {label: float(np.median([x["wall"] for x in v])) for label, v in runs.items()}
    ratios = [h["wall"] / i["wall"] for h, i in zip(runs["hybrid"], runs["implicit ALS"], strict=True)]
    loads = [x["load_1min_before"] for v in runs.values() for x in v]
    med_cpu = {label: float(np.median([x["cpu"] for x in v])) for label, v in runs.items()}
    summary = {
        "median_wall_s": med,
        "ratio_of_medians_hybrid_to_implicit": med["hybrid"] / med["implicit ALS"],
        "median_cpu_s": med_cpu,  # all threads: what the fit costs the machine, less load-bound than wall
        "ratio_of_median_cpu_hybrid_to_implicit": med_cpu["hybrid"] / med_cpu["implicit ALS"],
        "median_of_round_ratios": float(np.median(ratios)),
        "max_round_ratio": max(ratios),
        "round_ratios": ratios,
        "load_1min_median": float(np.median(loads)),
        "load_1min_max": max(loads),
    }
    if REFIT in med:
        summary["ratio_of_medians_refit_to_implicit"] = med[REFIT] / med["implicit ALS"]
        summary["ratio_of_median_cpu_refit_to_implicit"] = med_cpu[REFIT] / med_cpu["implicit ALS"]
        summary["ratio_of_medians_hybrid_to_implicit_searched"] = med["hybrid"] / med[SEARCHED]
        summary["ratio_of_median_cpu_hybrid_to_implicit_searched"] = med_cpu["hybrid"] / med_cpu[SEARCHED]
    if args.src:
        summary["ratio_of_medians_src_to_implicit"] = med["hybrid (--src)"] / med["implicit ALS"]
    print(json.dumps(summary, indent=1))
    write_json(
        args.out,
        {
            "what": __doc__.split("\n\n")[0] if __doc__ else "",
            "set": args.set,
            "commit": commit,
            "src": args.src,
            "src_commit": args.src_commit,
            "utc_start": t0,
            "utc_end": time.strftime("%H:%M:%S", time.gmtime()),
            "cpus": os.cpu_count(),
            "calm": args.calm,
            "runs": runs,
            **summary,
        },
    )


if __name__ == "__main__":
    main()
