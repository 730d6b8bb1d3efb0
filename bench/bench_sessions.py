"""Session next-item benchmark: the hybrid (weights learned per store at fit time) vs session peers.

For every test session and every prefix ``s[:t]``, each model ranks the catalog and the truth is
``s[t]`` (the next click). Two protocols, both reported:

* ``repeats``: any item may be recommended; re-clicking an item of the prefix counts as a hit.
* ``new``: only prefixes whose next item is not in the prefix (nor, on Instacart, the user's
  earlier history); items already seen are excluded from the list.

Peers in the same run: implicit ALS (factors x regularisation grid tuned on the same time-ordered
validation slice the hybrid tunes on; sessions folded in at query time), plain session kNN
(SKNN: cosine over the 1,000 most recent sessions per item, 100 neighbours, no order weights;
Jannach & Ludewig, 2017), last-item co-occurrence (cosine, the last click only) and popularity.
Shelfwise's sequence components are also reported alone. 95% intervals: paired bootstrap over
test sessions (1,000 resamples) of the hybrid's NDCG@20 minus the best peer's.

Fit time: the hybrid's fit (weight tuning included) and implicit ALS's fit of its tuned config,
timed ``--fit-repeats`` times alternating (the machine may be shared); the ratio of medians is kept.
A third fit is a routine refit (``recommend.retune``): the weights searched by yesterday's model,
fitted on the training log before its latest 10% of sessions, kept on the whole training log
without a new search; its quality is reported as its own row (``REUSED``) and its fit time beside
implicit's (``fit_ratio_reused_to_implicit``).

Run: nice -n 10 python bench/bench_sessions.py [--sets digi,yoochoose,instacart,hm] [--sasrec]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sessions_data import LOADERS
from shelfwise.recommend import (
    ALSConfig,
    ALSRecommender,
    Context,
    CooccurrenceRecommender,
    HybridConfig,
    HybridRecommender,
    Interactions,
    PopularityConfig,
    PopularityRecommender,
)
from shelfwise.recommend.autotune import Case, prefix_cases, validation_split
from shelfwise.recommend.retune import SavedTuning
from shelfwise.recommend.sasrec import SASRecRecommender
from shelfwise.recommend.sequence import (
    SequentialRulesRecommender,
    SessionKNNConfig,
    SessionKNNRecommender,
)
from shelfwise.recommend.walk import SessionWalkRecommender
from shelfwise.results import Results

from common import print_table, write_json

K = 20
REUSED = "hybrid, yesterday's weights kept (no search)"
Scorer = Callable[[Context], np.ndarray]


def ranks(score: Scorer, cases: Sequence[Case], score_new: Scorer | None = None) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of the truth in the top-K (K = miss) for both protocols (new: -1 = not a new-item case).

    ``score_new`` scores for the new-items protocol when it differs (the hybrid's exclude-seen weights)."""
    rep = np.full(len(cases), K, dtype=np.int64)
    new = np.full(len(cases), -1, dtype=np.int64)
    for j, c in enumerate(cases):
        s0 = np.asarray(score(c.ctx), dtype=np.float32)
        for excl, out in ((False, rep), (True, new)):
            if excl and not c.new:
                continue
            s = np.asarray(score_new(c.ctx), dtype=np.float32) if excl and score_new is not None else s0
            mask = None
            if excl:
                mask = np.ones(len(s), dtype=bool)
                mask[c.ctx.items] = False
            ids = Results.from_scores(s, K, mask).ids
            hit = np.flatnonzero(ids == c.truth)
            out[j] = int(hit[0]) if len(hit) else K
    return rep, new


def metrics(r: np.ndarray) -> dict[str, float]:
    r = r[r >= 0]
    hit = r < K
    ndcg = np.where(hit, 1.0 / np.log2(r + 2.0), 0.0)
    mrr = np.where(hit, 1.0 / (r + 1.0), 0.0)
    return {"ndcg": float(ndcg.mean()), "hit": float(hit.mean()), "mrr": float(mrr.mean()), "n": float(len(r))}


def per_case_ndcg(r: np.ndarray) -> np.ndarray:
    return np.where((r >= 0) & (r < K), 1.0 / np.log2(np.maximum(r, 0) + 2.0), 0.0)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, sess: np.ndarray, valid: np.ndarray, n: int = 1000) -> list[float]:
    """95% interval of mean(a) - mean(b) over cases, resampling whole sessions."""
    rng = np.random.default_rng(0)
    a, b, sess = a[valid], b[valid], sess[valid]
    ids, inv = np.unique(sess, return_inverse=True)
    da = np.bincount(inv, weights=a - 0.0, minlength=len(ids))
    db = np.bincount(inv, weights=b, minlength=len(ids))
    cnt = np.bincount(inv, minlength=len(ids)).astype(np.float64)
    out = []
    for _ in range(n):
        pick = rng.integers(0, len(ids), len(ids))
        out.append((da[pick].sum() - db[pick].sum()) / cnt[pick].sum())
    lo, hi = np.percentile(out, [2.5, 97.5])
    return [float(lo), float(hi)]


def tune_als(train: Interactions, threads: int) -> tuple[ALSConfig, float]:
    """implicit ALS grid on the time-ordered validation slice (the hybrid's own), NDCG@20 of both protocols."""
    fit_part, held = validation_split(train, 0.1, 2000)
    cases = prefix_cases(fit_part, held)
    cases = [cases[i] for i in np.random.default_rng(0).permutation(len(cases))[:1500]]
    best: tuple[float, ALSConfig] = (-1.0, ALSConfig())
    for f in (32, 64, 128):
        for reg in (0.01, 0.1, 1.0):
            cfg = ALSConfig(factors=f, regularization=reg, iterations=15, num_threads=threads)
            m = ALSRecommender(cfg)
            m.fit(fit_part)
            rep, new = ranks(m.score, cases)
            v = 0.5 * (metrics(rep)["ndcg"] + metrics(new)["ndcg"])
            if v > best[0]:
                best = (v, cfg)
    print(f"  implicit ALS tuned: factors={best[1].factors} reg={best[1].regularization} (val {best[0]:.4f})")
    return best[1], best[0]


def fit_peers(train: Interactions, threads: int) -> tuple[dict[str, Scorer], dict[str, float], ALSConfig]:
    """The peers fitted on ``train``: implicit ALS (its grid tuned by :func:`tune_als`, sessions
    folded in), plain SKNN (no order weights), last-item co-occurrence and popularity; with the
    fit seconds of ALS's tuned config and of SKNN, and that config."""
    als_cfg, _ = tune_als(train, threads)
    als = ALSRecommender(als_cfg)
    secs = {"implicit ALS (tuned config)": fit_seconds(lambda: als.fit(train))}
    sknn = SessionKNNRecommender(SessionKNNConfig(lambda_pos=1e9, lambda_item=1e9))
    secs["SKNN"] = fit_seconds(lambda: sknn.fit(train))
    co = CooccurrenceRecommender()
    co.fit(train)
    pop = PopularityRecommender(PopularityConfig(half_life_days=None))
    pop.fit(train)
    peers: dict[str, Scorer] = {
        "implicit ALS (tuned, fold-in)": als.score,
        "SKNN": sknn.score,
        "last-item co-occurrence": lambda c: co.score(Context.of(c.ordered[-1:])),
        "popularity": pop.score,
    }
    return peers, secs, als_cfg


def fit_seconds(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def fit_runs(
    first: dict[str, float], fits: dict[str, Callable[[], Any]], repeats: int
) -> tuple[dict[str, list[float]], float]:
    """Each fit's seconds over ``repeats`` runs (``first`` holds run 1), the fits alternating so
    that all see the same machine load; and the ratio of the first fit's median to the second's."""
    runs = {label: [first[label]] for label in fits}
    for _ in range(repeats - 1):
        for label, fn in fits.items():
            runs[label].append(fit_seconds(fn))
    a, b = (float(np.median(v)) for v in list(runs.values())[:2])
    return runs, a / b


def run_set(name: str, use_sasrec: bool, threads: int, repeats: int = 1) -> dict[str, Any]:
    catalog, train_log, test_log, info = LOADERS[name]()
    train = Interactions.from_log(train_log, catalog)
    test = Interactions.from_log(test_log, catalog)
    cases = prefix_cases(train, test)
    sess = np.array([c.session for c in cases])
    print(f"\n== {name}: {info} train rows {len(train)}, test prefixes {len(cases)} ({sum(c.new for c in cases)} new)")
    weights = HybridConfig().weights + ((("sasrec", 0.5),) if use_sasrec else ())
    vec = np.zeros((len(catalog), 8), dtype=np.float32)
    if name in ("instacart", "hm"):
        from bench_recommend import embed

        vec, _ = embed(catalog)
    cfg = HybridConfig(weights=weights, als=ALSConfig(num_threads=threads))
    hybrid = HybridRecommender(vec, cfg)
    secs: dict[str, float] = {"hybrid (with tuning)": fit_seconds(lambda: hybrid.fit(train))}
    t = hybrid.tuning
    print(
        f"  tuning: {t.status}: {t.reason}\n    repeats {t.weights} p={t.penalty}"
        f"\n    new {t.new_weights} p={t.new_penalty}"
    )
    # a routine refit: the weights searched by yesterday's model (fitted on the log before its latest
    # 10% of sessions, as tuning's own slice), kept on today's log instead of a new search (retune.py)
    yesterday = HybridRecommender(vec, cfg)
    yesterday.fit(validation_split(train, cfg.tune.fraction, cfg.tune.max_sessions)[0])
    saved = SavedTuning.of(yesterday)
    reused = HybridRecommender(vec, cfg, reuse=saved)
    secs[REUSED] = fit_seconds(lambda: reused.fit(train))
    print(f"  refit keeping yesterday's weights: {reused.tuning.status} ({yesterday.tuning.status} yesterday)")
    peers, peer_secs, als_cfg = fit_peers(train, threads)
    secs.update(peer_secs)
    seq = SequentialRulesRecommender()
    secs["sequence (SR)"] = fit_seconds(lambda: seq.fit(train))
    stan = SessionKNNRecommender()
    secs["sknn (STAN)"] = fit_seconds(lambda: stan.fit(train))
    walk = SessionWalkRecommender(cfg.walk)  # its own: the hybrid fits the walk only when a weight names it
    secs["walk"] = fit_seconds(lambda: walk.fit(train))
    own: dict[str, Scorer] = {
        "recent (last-clicks co-occurrence, alone)": hybrid.recent.score,
        "sequence (SR, alone)": seq.score,
        "sknn (STAN, alone)": stan.score,
        "walk (session-graph walk, alone)": walk.score,
    }
    if use_sasrec:
        sas = hybrid.sasrec
        if not sas.fitted:  # tuning gave it weight 0 everywhere: the hybrid did not train it again
            sas = SASRecRecommender(cfg.sasrec)
            sas.fit(train)
        own["sasrec (alone)"] = sas.score
        print(f"  sasrec: {sas.epochs_run} epochs")
    models: dict[str, Scorer] = {"hybrid (shelfwise)": hybrid.score, REUSED: reused.score, **peers, **own}
    alts: dict[str, Scorer] = {
        "hybrid (shelfwise)": lambda c: hybrid.score(c, True),
        REUSED: lambda c: reused.score(c, True),
    }
    ranked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    ms: dict[str, float] = {}
    for label, fn in models.items():
        t0 = time.perf_counter()
        ranked[label] = ranks(fn, cases, alts.get(label))
        ms[label] = (time.perf_counter() - t0) / max(len(cases), 1) * 1000
    runs, ratio = fit_runs(
        secs,
        {
            "hybrid (with tuning)": lambda: HybridRecommender(vec, cfg).fit(train),
            "implicit ALS (tuned config)": lambda: ALSRecommender(als_cfg).fit(train),
            REUSED: lambda: HybridRecommender(vec, cfg, reuse=saved).fit(train),
        },
        repeats,
    )
    reused_ratio = float(np.median(runs[REUSED]) / np.median(runs["implicit ALS (tuned config)"]))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"  fit seconds over {repeats} alternating runs: {runs}; median ratio hybrid / implicit {ratio:.2f} ({load})")
    out: dict[str, Any] = {"info": info, "cases": len(cases), "tuning": hybrid.tuning.as_dict(), "fit_s": secs}
    out["fit_runs_s"], out["fit_ratio_hybrid_to_implicit"], out["uptime_after_fits"] = runs, ratio, load
    out["fit_ratio_reused_to_implicit"], out["reused_tuning"] = reused_ratio, reused.tuning.as_dict()
    print(f"  refit keeping yesterday's weights / implicit: {reused_ratio:.2f}")
    for p, proto in enumerate(("repeats", "new")):
        rows = {label: metrics(r[p]) for label, r in ranked.items()}
        best_peer = max(peers, key=lambda lb: rows[lb]["ndcg"])
        h = per_case_ndcg(ranked["hybrid (shelfwise)"][p])
        b = per_case_ndcg(ranked[best_peer][p])
        valid = ranked["hybrid (shelfwise)"][p] >= 0
        ci = paired_bootstrap(h, b, sess, valid)
        gain = rows["hybrid (shelfwise)"]["ndcg"] / rows[best_peer]["ndcg"] - 1 if rows[best_peer]["ndcg"] else 0.0
        print_table(
            f"{name}, protocol '{proto}' ({int(rows['popularity']['n'])} prefixes, k={K})",
            ["model", "NDCG@20", "HR@20", "MRR@20", "ms/query"],
            [[lb, m["ndcg"], m["hit"], m["mrr"], round(ms[lb], 2)] for lb, m in rows.items()],
        )
        print(f"  hybrid vs best peer ({best_peer}): {gain:+.1%} NDCG@20, paired 95% CI of the difference {ci}")
        out[proto] = {"metrics": rows, "best_peer": best_peer, "gain_vs_best_peer": gain, "diff_ci95": ci}
    out["ms_per_query"] = ms
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="digi,yoochoose,instacart,hm")
    ap.add_argument("--sasrec", action="store_true", help="add SASRec to the hybrid (slow fit)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="sessions")
    ap.add_argument("--fit-repeats", type=int, default=3, help="alternating hybrid / implicit fits timed")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", load)
    t0 = time.perf_counter()
    payload: dict[str, Any] = {"k": K, "uptime_start": load, "sasrec": args.sasrec, "sets": {}}
    for name in args.sets.split(","):
        payload["sets"][name] = run_set(name, args.sasrec, args.threads, args.fit_repeats)
    payload["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    payload["seconds"] = time.perf_counter() - t0
    print("uptime:", payload["uptime_end"])
    write_json(args.out, payload)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # tiny per-query solves: BLAS threads only contend
        main()
