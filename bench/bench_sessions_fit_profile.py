"""Where the hybrid's fit time goes on one store (issue #11), in CPU seconds of one thread, and
what a smaller tuning pool would cost in quality.

Stages, each timed alone on the latest validation slice as fit-time tuning cuts it: the
validation prefixes (``prefix_cases``), the components' fit on the earlier rows (ALS apart), the
ALS fit, and the candidate pool (``_caches`` on one thread: every component's ``score_many`` of
the sampled prefixes, then scaling and top candidates), with each component's ``score_many``
alone and the share of (prefix, item) cells it has evidence for. ``--max-cases``: the hybrid is
also fitted with each ``TuneConfig.max_cases`` (prefixes in the pool; ``SIZE:SEED`` also sets
``TuneConfig.sample_seed``, the pool's random sample) and scored on the test split
(bench_sessions.py's next-item protocols, NDCG@20, paired bootstrap vs the first value).

``--ab BASE``: the pool's ``_caches`` of commit ``BASE`` (its tuning_pool.py, from git) against
today's, alternating (ABBA) in one process for ``--rounds`` rounds on the same hybrid and prefixes (one
thread, CPU seconds; the pools asserted bit for bit the same), the pool's scaling and candidates
alone (each block's raw scores computed once, ``_score_block`` timed on them), then the whole tuned fit
(``HybridRecommender.fit``, tuning on) with either ``_caches``, alternating (process CPU and wall
seconds; the tuning reports asserted equal).

Run: python bench/bench_sessions_fit_profile.py [--set instacart] [--max-cases 5000,5000:1,2500,2500:1]
[--ab COMMIT --rounds 3] [--out sessions_fit_profile]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_json


def cpu(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and the process CPU seconds it took."""
    c0 = time.process_time()
    out = fn()
    return out, time.process_time() - c0


def load_train(name: str) -> tuple[Any, Any]:
    """(catalog, training log) of set ``name`` (a bench_sessions_data set, or ``synthetic50k``:
    bench_sessions_latency.py's made-up store)."""
    from bench_sessions_data import LOADERS

    if name == "synthetic50k":
        from bench_sessions_latency import synthetic_store

        return synthetic_store(50_000, 200_000, 40_000)
    catalog, train_log, _, _ = LOADERS[name]()
    return catalog, train_log


def stages(name: str, ab: tuple[str, int] | None = None) -> dict[str, Any]:
    """CPU seconds of each fit stage on the latest validation slice of set ``name``; with ``ab``
    (base commit, rounds) also :func:`ab_pool`'s rounds on the same pool."""
    from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions
    from shelfwise.recommend.autotune import prefix_cases, validation_split
    from shelfwise.recommend.tuning_pool import _caches

    catalog, train_log = load_train(name)
    data = Interactions.from_log(train_log, catalog)
    tc = HybridConfig().tune
    cfg = HybridConfig(als=ALSConfig(num_threads=1), tune=dataclasses.replace(tc, enabled=False))
    hybrid = HybridRecommender(np.zeros((len(catalog), 8), dtype=np.float32), cfg)
    train, held = validation_split(data, tc.fraction, tc.max_sessions)
    cases, t_prefix = cpu(lambda: prefix_cases(train, held))
    _, t_fit = cpu(lambda: hybrid.fit(train))
    _, t_als = cpu(lambda: hybrid.als.fit(train))
    _, t_content = cpu(lambda: hybrid.content.fit(train))
    if len(cases) > tc.max_cases:  # the pool's sample, as tune_folds draws it
        pick = np.sort(np.random.default_rng(0).choice(len(cases), tc.max_cases, replace=False))
        cases = [cases[i] for i in pick]
    names = [n for n, w in cfg.weights if w > 0]
    step = max(1, (1 << 21) // len(catalog))  # _caches' block of prefixes
    per: dict[str, float] = dict.fromkeys(names, 0.0)
    evidence: dict[str, float] = dict.fromkeys(names, 0.0)
    for lo in range(0, len(cases), step):
        ctxs = [c.ctx for c in cases[lo : lo + step]]
        for n in names:
            s, t = cpu(lambda n=n, ctxs=ctxs: hybrid.components[n].score_many(ctxs))  # type: ignore[misc]
            per[n] += t
            evidence[n] += float(np.isfinite(s).sum())
    _, t_pool = cpu(lambda: _caches(hybrid, cases, names, tc.candidates, unseen=True, threads=1))
    cells = len(cases) * len(catalog)
    ab_rounds = glue = None
    if ab:
        ab_rounds = ab_pool(*ab, lambda c: c(hybrid, cases, names, tc.candidates, unseen=True, threads=1))
        glue = ab_glue(*ab, hybrid, cases, names, tc.candidates)
    return {
        "rows": len(data),
        "items": len(catalog),
        "validation_prefixes": len(held) - len(np.unique(held.session)),
        "pool_prefixes": len(cases),
        "mean_context_items": float(np.mean([len(c.ctx) for c in cases])),
        "cpu_s": {
            "prefix_cases": t_prefix,
            "fit_on_earlier_rows (tuning off; ALS, content included)": t_fit,
            "als_fit": t_als,
            "content_fit": t_content,
            "pool (_caches, one thread)": t_pool,
            "pool: score_many of each component": per,
            "pool: scaling and candidates (pool - score_many)": t_pool - sum(per.values()),
        },
        "evidence_share": {n: v / cells for n, v in evidence.items()},
        **({"ab_pool": ab_rounds, "ab_glue": glue} if ab_rounds else {}),
    }


def base_module(commit: str) -> Any:
    """tuning_pool.py of ``commit`` (git show), imported as its own module."""
    import importlib.util
    import subprocess
    import tempfile

    src = subprocess.run(
        ["git", "show", f"{commit}:src/shelfwise/recommend/tuning_pool.py"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    path = Path(tempfile.mkdtemp()) / "tuning_pool_base.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("tuning_pool_base", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["tuning_pool_base"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    before = ["git", "merge-base", "--is-ancestor", commit, "b43d3cd~1"]  # co-occurrence's dense product came then
    mod.OLD_PRODUCT = subprocess.run(before, cwd=Path(__file__).resolve().parents[1]).returncode == 0
    return mod


def same_pool(a: Any, b: Any) -> None:
    """Every array of two pools equal in dtype, shape and bits."""
    for f in dataclasses.fields(a):
        if f.name.startswith("_"):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f.name
        assert np.array_equal(x.view(np.uint8), y.view(np.uint8)), f.name


@contextmanager
def side(base: Any | None) -> Iterator[Callable[..., Any]]:
    """The ``_caches`` of one side, fit-time tuning set to use it: ``base`` (a
    :func:`base_module`), each component scored on its own (``HybridRecommender.raw_scores_many``
    before the cold-items term came from the content scores, session 18) and, for a base before
    commit b43d3cd, co-occurrence's product taken as ``(a @ b).toarray()``; None: today's code."""
    from shelfwise.recommend import autotune, cooccurrence, tuning_pool
    from shelfwise.recommend.hybrid import HybridRecommender

    caches, product = autotune._caches, cooccurrence.dense_product  # type: ignore[attr-defined]
    raw = HybridRecommender.raw_scores_many
    if base is not None:
        autotune._caches = base._caches  # type: ignore[attr-defined]
        HybridRecommender.raw_scores_many = lambda h, ctxs, names: {  # type: ignore[method-assign]
            n: h.components[n].score_many(ctxs) for n in dict.fromkeys(names)
        }
        if base.OLD_PRODUCT:
            cooccurrence.dense_product = lambda a, b: np.asarray((a @ b).toarray(), dtype=np.float32)
    try:
        yield base._caches if base is not None else tuning_pool._caches
    finally:
        autotune._caches, cooccurrence.dense_product = caches, product  # type: ignore[attr-defined]
        HybridRecommender.raw_scores_many = raw  # type: ignore[method-assign]


def base_label(commit: str, base: Any) -> str:
    return f"{commit} (co-occurrence product as a @ b)" if base.OLD_PRODUCT else commit


def order(r: int, base: Any) -> list[tuple[str, Any]]:
    """Round ``r``'s sides: base first in even rounds, today's first in odd ones (ABBA: neither
    side always runs on a warmer or a colder process)."""
    sides = [("base", base), ("now", None)]
    return sides if r % 2 == 0 else sides[::-1]


def ab_pool(commit: str, rounds: int, build: Callable[[Callable[..., Any]], Any]) -> dict[str, Any]:
    """CPU seconds of ``build(_caches)`` on the base side (:func:`side`) and today's,
    alternating; every pair of pools asserted bit for bit the same."""
    old = base_module(commit)
    out: dict[str, Any] = {"base": base_label(commit, old), "rounds": []}
    for r in range(rounds):
        row: dict[str, Any] = {"load_1min": os.getloadavg()[0]}
        got = {}
        for label, mod in order(r, old):
            with side(mod) as caches:
                got[label], row[f"{label}_cpu_s"] = cpu(lambda caches=caches: build(caches))  # type: ignore[misc]
        for a, b in zip(got["base"], got["now"], strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                same_pool(a, b)
        row["pools_bit_identical"] = True
        out["rounds"].append(row)
        print("pool", row, flush=True)
    return out


def ab_glue(commit: str, rounds: int, hybrid: Any, cases: list[Any], names: list[str], n_cand: int) -> dict[str, Any]:
    """CPU seconds of the pool's blocks without ``score_many`` (every block's raw scores computed
    once and handed to ``_score_block`` again; the base side scales them in place, so it gets
    copies made outside the timing), base (commit ``commit``'s tuning_pool) and today's, ABBA."""
    from shelfwise.recommend import tuning_pool

    old = base_module(commit)
    step = max(1, (1 << 21) // hybrid.n_items)
    blocks = -(-len(cases) // step)
    step = -(-len(cases) // (-(-blocks // 2) * 2))  # _caches' blocks (two threads)
    starts = range(0, len(cases), step)
    raw = {a: hybrid.raw_scores_many([c.ctx for c in cases[a : a + step]], names) for a in starts}
    now = {a: tuning_pool.raw_scores(hybrid, [c.ctx for c in cases[a : a + step]], names) for a in starts}  # entries
    out: dict[str, Any] = {"base": commit, "rounds": []}
    reader = tuning_pool.raw_scores
    for r in range(rounds):
        row: dict[str, Any] = {"load_1min": os.getloadavg()[0]}
        for label, mod in order(r, old):
            score_block = (mod or tuning_pool)._score_block
            total = 0.0
            for a in starts:
                got = {k: v.copy() for k, v in raw[a].items()} if mod is not None else dict(raw[a])
                hybrid.raw_scores_many = lambda ctxs, nm, got=got: got
                tuning_pool.raw_scores = lambda h, ctxs, nm, a=a: list(now[a])  # type: ignore[assignment]
                part = cases[a : a + step]
                _, t = cpu(lambda part=part, f=score_block: f(hybrid, part, names, n_cand, True))  # type: ignore[misc]
                total += t
            row[f"{label}_cpu_s"] = total
        del hybrid.raw_scores_many
        tuning_pool.raw_scores = reader
        out["rounds"].append(row)
        print("glue", row, flush=True)
    return out


def ab_fit(name: str, commit: str, rounds: int) -> dict[str, Any]:
    """The whole tuned fit (``HybridRecommender.fit``, default config, ALS on two threads as in
    :func:`pool_sizes`) on the base side (:func:`side`) and today's, alternating."""
    from threadpoolctl import threadpool_limits

    from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions

    old = base_module(commit)
    catalog, train_log = load_train(name)
    train = Interactions.from_log(train_log, catalog)
    out: dict[str, Any] = {"base": base_label(commit, old), "rounds": []}
    with threadpool_limits(1, "blas"):
        for r in range(rounds):
            row: dict[str, Any] = {"load_1min": os.getloadavg()[0]}
            reports = {}
            for label, mod in order(r, old):
                h = HybridRecommender(
                    np.zeros((len(catalog), 8), dtype=np.float32), HybridConfig(als=ALSConfig(num_threads=2))
                )
                with side(mod):
                    t0 = time.perf_counter()
                    _, row[f"{label}_cpu_s"] = cpu(lambda h=h: h.fit(train))  # type: ignore[misc]
                    row[f"{label}_wall_s"] = time.perf_counter() - t0
                reports[label] = {**h.tuning.as_dict(), "tuned_at": None}  # the time of the search aside
            assert reports["base"] == reports["now"]
            row["tuning_reports_equal"] = True
            out["rounds"].append(row)
            print("fit", row, flush=True)
    return out


def pool_sizes(name: str, sizes: list[str]) -> dict[str, Any]:
    """Fit seconds and test NDCG@20 of the hybrid with each ``TuneConfig.max_cases[:sample_seed]``."""
    from threadpoolctl import threadpool_limits

    from bench_sessions import metrics, paired_bootstrap, per_case_ndcg, ranks
    from bench_sessions_data import LOADERS
    from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, Interactions
    from shelfwise.recommend.autotune import prefix_cases

    catalog, train_log, test_log, _ = LOADERS[name]()
    train, test = Interactions.from_log(train_log, catalog), Interactions.from_log(test_log, catalog)
    cases = prefix_cases(train, test)
    sess = np.array([c.session for c in cases])
    out: dict[str, Any] = {}
    first: tuple[np.ndarray, np.ndarray] | None = None
    with threadpool_limits(1, "blas"):
        for size in sizes:
            cap, _, seed = size.partition(":")
            tune = dataclasses.replace(HybridConfig().tune, max_cases=int(cap), sample_seed=int(seed or 0))
            h = HybridRecommender(
                np.zeros((len(catalog), 8), dtype=np.float32), HybridConfig(als=ALSConfig(num_threads=2), tune=tune)
            )
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            _, c = cpu(lambda h=h: h.fit(train))  # type: ignore[misc]
            row: dict[str, Any] = {"fit_wall_s": time.perf_counter() - t0, "fit_cpu_s": c, "load_1min": load}
            got = ranks(h.score, cases, lambda ctx, h=h: h.score(ctx, True))  # type: ignore[misc]
            row["ndcg20"] = {"repeats": metrics(got[0])["ndcg"], "new": metrics(got[1])["ndcg"]}
            if first is not None:
                row["diff_ci95_vs_first"] = {
                    proto: paired_bootstrap(per_case_ndcg(a), per_case_ndcg(b), sess, b >= 0)
                    for proto, a, b in (("repeats", got[0], first[0]), ("new", got[1], first[1]))
                }
            first = first or got
            row["tuned"] = {"weights": h.tuning.weights, "new_weights": h.tuning.new_weights, "reason": h.tuning.reason}
            out[size] = row
            print(size, row, flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="instacart")
    ap.add_argument(
        "--max-cases", default="", help="comma-separated TuneConfig.max_cases[:sample_seed] to fit and score"
    )
    ap.add_argument("--ab", default="", help="base commit whose tuning_pool._caches is timed against today's")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="sessions_fit_profile")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from threadpoolctl import threadpool_limits

    uptime = subprocess_uptime()
    with threadpool_limits(1, "blas"):
        payload: dict[str, Any] = {"what": (__doc__ or "").split("\n\n")[0], "set": args.set, "uptime_start": uptime}
        payload["stages"] = stages(args.set, (args.ab, args.rounds) if args.ab else None)
    print(payload["stages"])
    if args.ab:
        payload["ab_fit"] = ab_fit(args.set, args.ab, args.rounds)
    if args.max_cases:
        payload["pool_sizes"] = pool_sizes(args.set, args.max_cases.split(","))
    payload["uptime_end"] = subprocess_uptime()
    write_json(args.out, payload)


def subprocess_uptime() -> str:
    import subprocess

    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
