"""The session-graph walk ("walk", recommend/walk.py) in the hybrid: chosen on validation, reported on test.

Issue #11: the hybrid must beat the best peer by >= 10% NDCG@20 on new items (next item of every
prefix, seen items excluded) on Diginetica and YOOCHOOSE without losing on repeats or on other
stores. This script compares, in one run per set and protocol (both of ``bench_sessions.py``):

* the hybrid with the walk among its starting weights (weight :data:`WALK_WEIGHT`, the validation
  choice; the walk is opt-in, ``HybridConfig()`` leaves it out) and the hybrid as configured, without
  the walk (the components before it), each with its fit-time tuning;
* hybrids whose starting walk weight differs (``--walk-weights``): the weight a store keeps
  when fit-time tuning finds no reliable gain (Diginetica's new-items weights, sessions_s14.json);
* the walk alone with other settings (``--walk-grid``), and STAN's kNN alone with neighbour-session
  recency (STAN factor 2) or V-SKNN/VSTAN's IDF boost (``--knn-grid``, ``proto_knn`` below);
* peers: plain session kNN (SKNN), last-item co-occurrence, popularity and implicit ALS (tuned on
  the training part's latest sessions, ``bench_sessions.tune_als``), as in ``bench_sessions.py``.

``--split val`` holds out part of each TRAINING log the way its test split is cut (Diginetica,
YOOCHOOSE: sessions starting in the latest 20% of the training time; Instacart: each user's last
training order; H&M: 20% of the training customers, seeded) and fits on the rest: settings are
chosen there. ``--split test`` reports the chosen ones once on the test split (fitted on the
whole training log). ``--val-fold k``: the k-th validation slice back (each fitted on the rows
before it), more validation evidence where one slice is small.

95% intervals: paired bootstrap over sessions (``bench_sessions``) of the difference of every
own row to the hybrid without the walk, to SKNN and to the best peer. Power: the hybrid-vs-best-peer
interval's half-width relative to the peer's NDCG, the smallest gain a two-sided 5% test detects
80% of the time (``mde80``, 2.8 standard errors), and the chance that a true +10% gain shows a
difference interval above 0 (``power_at_10pct``), the standard error read off the bootstrap
interval (half-width / 1.96).

Run: nice -n 10 python bench/bench_sessions_walk.py --split val|test [--sets digi,yoochoose,instacart,hm]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sessions import Scorer, fit_peers, metrics, paired_bootstrap, per_case_ndcg, ranks
from bench_sessions_data import LOADERS
from shelfwise.events import EventLog
from shelfwise.recommend import ALSConfig, Context, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import prefix_cases
from shelfwise.recommend.evaluate import split_last_sessions
from shelfwise.recommend.sequence import SessionKNNRecommender, session_arrays
from shelfwise.recommend.walk import SessionWalkRecommender, WalkConfig

from common import print_table, write_json

HYBRID, NO_WALK = "hybrid (walk included)", "hybrid without the walk"


def val_split(name: str, log: EventLog) -> tuple[EventLog, EventLog]:
    """(fit part, held-out part) of a training log, cut as ``bench_sessions_data`` cuts its test split."""
    if name == "instacart":
        return split_last_sessions(log)
    sessions = np.unique(log.session)
    if name == "hm":
        held = np.random.default_rng(1).choice(sessions, int(len(sessions) * 0.2), replace=False)
        mask = np.isin(log.session, held)
        return log.select(~mask), log.select(mask)
    start = np.full(int(sessions.max()) + 1, np.inf)
    np.minimum.at(start, log.session, log.timestamp)
    cut = float(np.quantile(start[sessions], 0.8))
    mask = start[log.session] >= cut
    return log.select(~mask), log.select(mask)


WALK_WEIGHT = 1.0  # chosen on validation (docs/recommend-sessions.md, session 17); not a default weight


def without_walk(cfg: HybridConfig) -> HybridConfig:
    return replace(cfg, weights=tuple((n, w) for n, w in cfg.weights if n != "walk"))


def with_walk_weight(cfg: HybridConfig, weight: float) -> HybridConfig:
    """``cfg`` with the walk at ``weight`` among its starting weights, last (added: the defaults leave it out)."""
    return replace(cfg, weights=(*without_walk(cfg).weights, ("walk", weight)))


def run_set(name: str, split: str, args: argparse.Namespace) -> dict[str, Any]:
    catalog, train_log, test_log, info = LOADERS[name]()
    if split == "val":  # fold k: the k-th slice back (fold 2: the slice before fold 1's, fitted on the rows before it)
        for _ in range(args.val_fold):
            train_log, test_log = val_split(name, train_log)
    train = Interactions.from_log(train_log, catalog)
    test = Interactions.from_log(test_log, catalog)
    cases = prefix_cases(train, test)
    sess = np.array([c.session for c in cases])
    print(f"\n== {name} ({split}): train rows {len(train)}, prefixes {len(cases)} ({sum(c.new for c in cases)} new)")
    vec = np.zeros((len(catalog), 8), dtype=np.float32)
    if name in ("instacart", "hm"):
        from bench_recommend import embed

        vec, _ = embed(catalog)
    base = HybridConfig(als=ALSConfig(num_threads=args.threads))
    hybrids: dict[str, HybridConfig] = {HYBRID: with_walk_weight(base, WALK_WEIGHT), NO_WALK: without_walk(base)}
    for w in [float(x) for x in args.walk_weights.split(",") if x]:
        hybrids[f"hybrid, default walk weight {w:g}"] = with_walk_weight(base, w)
    assert hybrids[HYBRID].uses("walk") and not hybrids[NO_WALK].uses("walk")  # the walk is fitted only when weighted
    models: dict[str, Scorer] = {}
    alts: dict[str, Scorer] = {}
    tuning: dict[str, Any] = {}
    fit_s: dict[str, float] = {}
    for label, cfg in hybrids.items():
        h = HybridRecommender(vec, cfg)
        t0 = time.perf_counter()
        h.fit(train)
        fit_s[label] = time.perf_counter() - t0
        models[label], alts[label] = h.score, (lambda c, h=h: h.score(c, True))
        tuning[label] = {"status": h.tuning.status, "weights": h.tuning.weights, "new_weights": h.tuning.new_weights}
        print(f"  {label}: {h.tuning.status} new {h.tuning.new_weights} ({fit_s[label]:.1f}s)")
    peers, _, _ = fit_peers(train, args.threads)
    models.update(peers)
    stan = SessionKNNRecommender()
    stan.fit(train)
    models["sknn (STAN, alone)"] = stan.score
    for label, make in own_grid(args).items():
        m = make(train)
        models[label] = m.score
    ranked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for label, fn in models.items():
        ranked[label] = ranks(fn, cases, alts.get(label))
    out: dict[str, Any] = {"info": info, "split": split, "cases": len(cases), "tuning": tuning, "fit_s": fit_s}
    out["val_fold"] = args.val_fold if split == "val" else None
    for p, proto in enumerate(("repeats", "new")):
        rows = {label: metrics(r[p]) for label, r in ranked.items()}
        best_peer = max(peers, key=lambda lb: rows[lb]["ndcg"])
        valid = ranked[HYBRID][p] >= 0
        diffs: dict[str, dict[str, Any]] = {}
        for label in (lb for lb in models if lb not in peers):  # each own row vs the hybrid before and the peers
            h = per_case_ndcg(ranked[label][p])
            d = {}
            for ref in dict.fromkeys((NO_WALK, "SKNN", best_peer)):
                if ref == label:
                    continue
                ci = paired_bootstrap(h, per_case_ndcg(ranked[ref][p]), sess, valid)
                gain = rows[label]["ndcg"] / rows[ref]["ndcg"] - 1 if rows[ref]["ndcg"] else 0.0
                d[ref] = {"gain": gain, "diff_ci95": ci}
            diffs[label] = d
        peer_nd = rows[best_peer]["ndcg"]
        ci = diffs[HYBRID][best_peer]["diff_ci95"]
        half = (ci[1] - ci[0]) / 2
        se = half / 1.96
        power = {
            "ci_halfwidth_rel_to_peer": half / peer_nd if peer_nd else None,
            "mde80_rel_to_peer": 2.8 * se / peer_nd if peer_nd else None,
            "power_at_10pct": 0.5 * (1 + math.erf((0.1 * peer_nd / se - 1.96) / math.sqrt(2))) if se > 0 else None,
        }
        print_table(
            f"{name} ({split}), protocol '{proto}' ({int(rows['popularity']['n'])} prefixes, k=20)",
            ["model", "NDCG@20", "HR@20", "MRR@20"],
            [[lb, m["ndcg"], m["hit"], m["mrr"]] for lb, m in rows.items()],
        )
        for label, d in diffs.items():
            said = (f"vs {r} {v['gain']:+.1%} CI {np.round(v['diff_ci95'], 4)}" for r, v in d.items())
            print(f"  {label}: " + "; ".join(said))
        print(f"  power vs the best peer ({best_peer}): " + ", ".join(f"{k} {v:.2f}" for k, v in power.items() if v))
        out[proto] = {"metrics": rows, "best_peer": best_peer, "diffs": diffs, "power": power}
    return out


def own_grid(args: argparse.Namespace) -> dict[str, Callable[[Interactions], Any]]:
    """The walk alone (defaults and ``--walk-grid`` settings) and STAN variants (``--knn-grid``)."""
    grid: dict[str, Callable[[Interactions], Any]] = {}
    for spec in [""] + [s for s in args.walk_grid.split(";") if s]:
        kw = {k: float(v) if "." in v else int(v) for k, v in (p.split("=") for p in spec.split(",") if p)}
        cfg = WalkConfig(**kw)  # type: ignore[arg-type]
        grid[f"walk alone ({spec or 'defaults'})"] = lambda d, cfg=cfg: _fitted(SessionWalkRecommender(cfg), d)
    for spec in [s for s in args.knn_grid.split(";") if s]:
        kw = {k: float(v) for k, v in (p.split("=") for p in spec.split(","))}
        grid[f"STAN + {spec}"] = lambda d, kw=kw: _fitted(ProtoKNN(**kw), d)
    return grid


def _fitted(m: Any, d: Interactions) -> Any:
    m.fit(d)
    return m


class ProtoKNN(SessionKNNRecommender):
    """STAN (the ``sknn`` component) with, optionally, STAN's factor 2 (each neighbour session's
    similarity times ``exp(-age / (spd days))`` before the top neighbours are picked; age from the
    training log's last session, the same order as from the query's time: Garg et al., 2019) and
    VSTAN's IDF boost of each candidate item, ``1 + idf_boost * log(sessions / sessions with it)``
    (Ludewig, Latifi & Jannach, 2021, "Empirical analysis of session-based recommendation
    algorithms", UMUAI 31). A prototype for this comparison (``score`` only), not a component."""

    def __init__(self, spd: float = 0.0, idf_boost: float = 0.0) -> None:
        super().__init__()
        self.k, self.spd, self.idf_boost = self.config.neighbours, spd, idf_boost
        self.config = replace(self.config, neighbours=10**9)  # every candidate: the decay comes first
        self.decay = self.boost = np.zeros(0, dtype=np.float32)

    def _fit(self, data: Interactions) -> None:
        super()._fit(data)
        end = session_arrays(data).end_time
        age = (end.max() - end) if len(end) else end
        self.decay = np.exp(-age / (self.spd * 86400.0) if self.spd > 0 else 0 * age).astype(np.float32)
        df = np.bincount(self.positions.indices, minlength=data.n_items)
        self.boost = (1.0 + self.idf_boost * np.log(max(len(end), 1) / np.maximum(df, 1))).astype(np.float32)

    def neighbours(self, ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        sess, sim, items, w = super().neighbours(ctx)
        sim = sim * self.decay[sess]
        if len(sess) > self.k:
            top = np.argpartition(-sim, self.k - 1)[: self.k]
            sess, sim = sess[top], sim[top]
        return sess, sim, items, w

    def score(self, ctx: Context) -> np.ndarray:
        s = super().score(ctx)
        return np.where(np.isfinite(s), s * self.boost, s)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=("val", "test"), required=True)
    ap.add_argument("--sets", default="digi,yoochoose,instacart,hm")
    ap.add_argument("--val-fold", type=int, default=1, help="--split val: which slice back (1 = the latest)")
    ap.add_argument("--walk-weights", default="", help="default walk weights to compare, e.g. 0,0.25,1")
    ap.add_argument("--walk-grid", default="", help="walk settings alone, e.g. 'gamma=0.1;hops=3'")
    ap.add_argument("--knn-grid", default="", help="STAN variants, e.g. 'spd=30;idf_boost=1'")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", load)
    t0 = time.perf_counter()
    payload: dict[str, Any] = {"k": 20, "uptime_start": load, "argv": sys.argv[1:], "sets": {}}
    for name in args.sets.split(","):
        payload["sets"][name] = run_set(name, args.split, args)
    payload["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    payload["seconds"] = time.perf_counter() - t0
    print("uptime:", payload["uptime_end"])
    write_json(args.out or f"sessions_walk_{args.split}", payload)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        main()
