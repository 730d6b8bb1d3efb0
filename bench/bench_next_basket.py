"""Next-basket benchmark: a shopper with no live session (the history alone), each user's last order held out.

Issue 11: the hybrid's fit-time weights were tuned on next-item prefixes inside sessions; asked
between sessions (the start of a grocery order), its personal lists trailed a plain buy-again
list. Fit-time tuning now also learns between-sessions weights on next baskets
(``recommend/between.py``), and ``recommend()`` uses them when the context has no live session.

One run, per data set, the same split and fitted models:

* hybrid, in-session weights: the fitted hybrid's lists for the history with ``Context.live``
  unset (the weights every personal list got before between-sessions weights existed);
* hybrid, between-sessions weights: the same model, ``live=False`` (its own fit-time choice; no
  tuning in this bench);
* buy-again (``recommend.evaluate.buy_again_ranker``; repeats protocol only: with seen items
  excluded it is popularity), TIFU-KNN alone (``recommend/tifu.py`` at the paper's Instacart
  settings, fitted on the training rows: its scored items, best first, then the most popular
  others; with seen items excluded, the unseen ones), implicit ALS (factors x regularisation grid
  tuned on each user's second-to-last order, NDCG@20 of each protocol), popularity.

Since session 18 the between-sessions search may weigh the "baskets" component (TIFU's
order-decayed own frequency read from the history, ``recommend/baskets.py``) and chooses its group
size among ``BasketConfig.tried`` on its validation baskets; the tuning report of the fit
(``between_group_scores``, ``between_group_size``) is in the JSON, with the in-session weights.
A second hybrid, the same but trying ``--also-try`` group sizes too (default 7), is a row of its own.

Protocols: ``repeats`` (truth: every item of the last order; bought items may be listed) and
``new`` (truth: its items new to the user; seen items excluded). NDCG and recall at 10 and 20 per
user; 95% intervals by bootstrap over users (1,000 resamples, the same for every model): of each
mean, and paired, of the between-sessions hybrid minus each other row.

Fit time: the hybrid with and without the between-sessions search (``TuneConfig(between=False)``)
and implicit ALS (its repeats-protocol config, 15 iterations, through Shelfwise's ALS component as
bench_sessions.py times it), ``--fit-repeats`` alternating runs each, medians and ratios, BLAS at one
thread and ALS at ``--threads`` as in bench_sessions.py, load noted. What the baskets component adds
to a fit (``basket_cost``): its fit, and the between-sessions search (``between.tune_between``, the
components fitted on the validation slice's earlier rows as tuning fits them) with it offered and
without (``BasketConfig(offer=False)``), ``--search-repeats`` alternating runs, process CPU and
wall seconds, medians and their difference.

Data sets: ``instacart`` (bench_recommend.load_instacart: per-user clocks, minilm vectors);
``cj`` (Complete Journey, simulated from real grocery patterns: the first ``--cj-households``
households by id, real dates, no item vectors: content scores nothing); ``hm`` is checked and
skipped when no customer has two dated sessions (its sample is one day).

Run: nice -n 10 python bench/bench_next_basket.py [--sets instacart,cj,hm] [--out next_basket]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_recommend import ImplicitALS, embed, load_instacart, new_truth, seen_by_user
from shelfwise.catalog import Catalog, Product
from shelfwise.eval.metrics import ndcg_at_k, recall_at_k
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    ALSConfig,
    ALSRecommender,
    HybridConfig,
    HybridRecommender,
    Interactions,
    PopularityConfig,
    PopularityRecommender,
)
from shelfwise.recommend.autotune import TuneConfig, TuningReport, validation_split
from shelfwise.recommend.base import Context
from shelfwise.recommend.baskets import BasketConfig, BasketRecommender
from shelfwise.recommend.between import tune_between
from shelfwise.recommend.evaluate import buy_again_ranker, split_last_sessions, truth_by_user
from shelfwise.recommend.tifu import TifuRecommender

from common import SHARED, print_table, write_json

KS = (10, 20)
BEFORE = "hybrid, in-session weights (before)"
AFTER = "hybrid, between-sessions weights (after)"
Ranker = Callable[[str], Sequence[int]]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def load_cj(households: int) -> tuple[Catalog, EventLog, dict[str, Any]]:
    """The first ``households`` households (by id) of Complete Journey: one event per line, a basket a session."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    cols = ["household_id", "basket_id", "product_id", "transaction_timestamp"]
    t = pq.read_table(SHARED / "cj_transactions.parquet", columns=cols)
    keep = sorted(set(t.column("household_id").to_pylist()))[:households]
    t = t.filter(pc.is_in(t.column("household_id"), value_set=pa.array(keep))).to_pydict()
    sold = set(t["product_id"])
    products = []
    for r in pq.read_table(SHARED / "cj_products.parquet").to_pylist():
        if r["product_id"] in sold:
            words = [r.get(k) for k in ("brand", "product_category", "product_type", "package_size")]
            title = " ".join(str(w) for w in words if w) or f"product {r['product_id']}"
            products.append(Product(id=str(r["product_id"]), title=f"{title} #{r['product_id']}"))
    catalog = Catalog(products)
    events = [
        Event(str(h), EventType.PURCHASE, ts.timestamp(), str(p), session_id=str(b))
        for h, b, p, ts in zip(
            t["household_id"], t["basket_id"], t["product_id"], t["transaction_timestamp"], strict=True
        )
        if str(p) in catalog
    ]
    info = {"lines": len(t["household_id"]), "users": len(keep), "items": len(catalog), "events": len(events)}
    return catalog, EventLog.from_events(events, catalog), info


def hm_sessions() -> dict[str, int]:
    """H&M's customers and how many have purchases on two or more dates (a next basket needs one)."""
    import pyarrow.parquet as pq

    t = pq.read_table(SHARED / "hm_transactions_train.parquet", columns=["customer_id", "t_dat"]).to_pydict()
    dates: dict[str, set[str]] = {}
    for c, d in zip(t["customer_id"], t["t_dat"], strict=True):
        dates.setdefault(c, set()).add(str(d))
    return {
        "customers": len(dates),
        "customers_with_2_dates": sum(len(v) > 1 for v in dates.values()),
        "dates": len({str(d) for d in t["t_dat"]}),
    }


def tune_implicit(train: Interactions, truth: Mapping[str, set[int]], exclude_seen: bool) -> tuple[int, float]:
    """implicit ALS's (factors, regularisation) with the best mean NDCG@20 on ``truth``."""
    best, cfg = -1.0, (64, 0.1)
    for f in (32, 64, 128):
        for reg in (0.01, 0.1, 1.0):
            m = ImplicitALS(f, reg)
            m.fit(train)
            lists = m.rank_all(list(truth), exclude_seen, 20)
            score = float(np.mean([ndcg_at_k(lists.get(u, []), dict.fromkeys(s, 1.0), 20) for u, s in truth.items()]))
            if score > best:
                best, cfg = score, (f, reg)
    return cfg


def per_user(rank: Ranker, truth: Mapping[str, set[int]]) -> dict[str, np.ndarray]:
    """Each user's NDCG and recall at every k in :data:`KS` (one list of the largest k, cut)."""
    out: dict[str, list[float]] = {f"{m}@{k}": [] for m in ("ndcg", "recall") for k in KS}
    for user, items in truth.items():
        ranked = [int(i) for i in rank(user)][: max(KS)]
        rel = dict.fromkeys(items, 1.0)
        for k in KS:
            out[f"ndcg@{k}"].append(ndcg_at_k(ranked, rel, k))
            out[f"recall@{k}"].append(recall_at_k(ranked, rel, k))
    return {name: np.asarray(v) for name, v in out.items()}


def bootstrap(
    rows: Mapping[str, Mapping[str, np.ndarray]],
    n: int = 1000,
    ref: str = AFTER,
    key: str = "after_minus_this",
    sign: float = 1.0,
) -> dict[str, dict[str, Any]]:
    """Per row and metric: mean, its 95% interval, and the paired 95% interval of ``sign`` x (``ref``
    minus the row), under ``key`` (the default: AFTER minus the row)."""
    users = len(rows[ref]["ndcg@10"])
    picks = np.random.default_rng(0).integers(0, users, (n, users))
    out: dict[str, dict[str, Any]] = {}
    for label, metrics in rows.items():
        out[label] = {}
        for metric, v in metrics.items():
            means = v[picks].mean(axis=1)
            cell: dict[str, Any] = {
                "mean": float(v.mean()),
                "ci95": [float(x) for x in np.percentile(means, [2.5, 97.5])],
            }
            if label != ref:
                d = sign * (rows[ref][metric] - v)
                cell[key] = float(d.mean())
                cell[f"{key}_ci95"] = [float(x) for x in np.percentile(d[picks].mean(axis=1), [2.5, 97.5])]
            out[label][metric] = cell
    return out


def fit_seconds(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def tifu_ranker(
    model: TifuRecommender, counts: np.ndarray, k: int, seen: Mapping[str, set[int]] | None = None
) -> Ranker:
    """TIFU-KNN's scored items, best first (ties: the more popular), then the most popular others;
    with ``seen``, none of the user's seen items."""
    popular = np.argsort(-counts, kind="stable").tolist()

    def rank(user: str) -> list[int]:
        s = model.score(Context.empty(user))
        drop = seen.get(user, set()) if seen is not None else set()
        scored = [i for i in np.flatnonzero(np.isfinite(s)).tolist() if i not in drop]
        head = sorted(scored, key=lambda i: (-s[i], -counts[i]))[:k]
        taken = drop | set(head)
        return head + [i for i in popular[: k + len(taken)] if i not in taken][: k - len(head)]

    return rank


def basket_cost(vec: np.ndarray, cfg: HybridConfig, train: Interactions, repeats: int) -> dict[str, Any]:
    """Seconds (process CPU and wall) the baskets component adds to a fit: its own fit, and the
    between-sessions search with it offered vs without, on one validation slice (the components
    fitted on its earlier rows, the in-session weights a full fit chose), alternating runs."""
    h = HybridRecommender(vec, cfg)
    h.fit(train)
    first = validation_split(train, cfg.tune.fraction, cfg.tune.max_sessions)
    h._fit_components(first[0])  # as tuning leaves them when the between search runs
    start = dataclasses.replace(
        h.config, between_weights=None, between_penalty=None, between_new_weights=None, between_new_penalty=None
    )
    start = dataclasses.replace(start, basket_group_size=None)
    variants = {"offered": start.baskets, "not offered": dataclasses.replace(start.baskets, offer=False)}
    wall: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    load_before = uptime()
    for _ in range(repeats):
        for label, bc in variants.items():
            h.config = dataclasses.replace(start, baskets=bc)
            c0, t0 = time.process_time(), time.perf_counter()
            tune_between(h, first, TuningReport())
            wall[label].append(time.perf_counter() - t0)
            cpu[label].append(time.process_time() - c0)
    comp = BasketRecommender()
    c0, t0 = time.process_time(), time.perf_counter()
    comp.fit(train)
    fit = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    med = {lab: {"wall_s": float(np.median(wall[lab])), "cpu_s": float(np.median(cpu[lab]))} for lab in variants}
    return {
        "component_fit": fit,
        "between_search": med,
        "extra_cpu_s": med["offered"]["cpu_s"] - med["not offered"]["cpu_s"],
        "extra_wall_s": med["offered"]["wall_s"] - med["not offered"]["wall_s"],
        "runs_wall_s": wall,
        "runs_cpu_s": cpu,
        "repeats": repeats,
        "uptime_before": load_before,
        "uptime_after": uptime(),
    }


def run_set(name: str, args: argparse.Namespace) -> dict[str, Any]:
    if name == "hm":
        info = hm_sessions()
        print(f"\n== hm: {info}: no customer has two dated sessions, no next basket to hold out: skipped")
        return {"skipped": "no customer has purchases on two dates (the sample is one day)", **info}
    if name == "instacart":
        catalog, log, info = load_instacart()
        vec, encoder = embed(catalog)
    elif name == "cj":
        catalog, log, info = load_cj(args.cj_households)
        vec, encoder = np.zeros((len(catalog), 8), dtype=np.float32), "none (zero vectors: content scores nothing)"
    else:
        raise ValueError(f"unknown set {name!r}")
    train_log, test_log = split_last_sessions(log)
    trainv_log, val_log = split_last_sessions(train_log)
    train = Interactions.from_log(train_log, catalog)
    truth = truth_by_user(test_log)
    truths = {"repeats": truth, "new": new_truth(truth, seen_by_user(train))}
    held = f"users held out {len(truth)} ({len(truths['new'])} with new items)"
    print(f"\n== {name}: {info}, train rows {len(train)}, {held}")
    cfg = HybridConfig(popularity=PopularityConfig(half_life_days=None), als=ALSConfig(num_threads=args.threads))
    hybrid = HybridRecommender(vec, cfg)
    secs = {"hybrid": fit_seconds(lambda: hybrid.fit(train))}
    # the same hybrid whose between-sessions search also tries other group sizes for "baskets"
    also = tuple(int(g) for g in args.also_try.split(",") if g)
    alt_cfg = dataclasses.replace(cfg, baskets=BasketConfig(also_try=also))
    alt = HybridRecommender(vec, alt_cfg) if also else None
    if alt is not None:
        alt.fit(train)
        a = alt.tuning
        print(f"  also trying {also}: NDCG@{cfg.tune.k} alone {a.between_group_scores}, used {a.between_group_size}")
    t = hybrid.tuning
    print(f"  tuning: {t.status}: {t.reason}")
    print(f"  baskets group sizes, NDCG@{cfg.tune.k} alone: {t.between_group_scores}, used {t.between_group_size}")
    for label, w, p in (
        ("in-session, repeats", t.weights, t.penalty),
        ("in-session, new", t.new_weights, t.new_penalty),
        ("between, repeats", t.between_weights, t.between_penalty),
        ("between, new", t.between_new_weights, t.between_new_penalty),
    ):
        print(f"    {label}: { {k: v for k, v in w.items() if v} } penalty {p}")
    trainv = Interactions.from_log(trainv_log, catalog)
    val = truth_by_user(val_log)
    val_truths = {"repeats": val, "new": new_truth(val, seen_by_user(trainv))}
    pop = PopularityRecommender(PopularityConfig(half_life_days=None))
    pop.fit(train)
    counts = train.item_counts()
    tifu = TifuRecommender()
    tifu.fit(train)
    seen = seen_by_user(train)
    out: dict[str, Any] = {"info": info, "encoder": encoder, "tuning": t.as_dict(), "protocols": {}}
    out["tuning_also_try"] = alt.tuning.as_dict() if alt is not None else None
    for proto, tr in truths.items():
        excl = proto == "new"
        f, reg = tune_implicit(trainv, val_truths[proto], excl)
        peer = ImplicitALS(f, reg)
        peer.fit(train)
        peer_lists = peer.rank_all(list(tr), excl, max(KS))
        out[f"implicit_{proto}"] = {"factors": f, "regularization": reg}

        def hybrid_rank(live: bool | None, e: bool = excl, h: HybridRecommender = hybrid) -> Ranker:
            def rank(user: str) -> Sequence[int]:
                ctx = dataclasses.replace(h.context(user), live=live)
                return h.recommend(ctx, max(KS), exclude_seen=e).ids.tolist()

            return rank

        rankers: dict[str, Ranker] = {
            AFTER: hybrid_rank(False),
            BEFORE: hybrid_rank(None),
        }
        if alt is not None:
            rankers[f"hybrid, between-sessions, group size of {alt_cfg.baskets.tried}"] = hybrid_rank(False, h=alt)
        if not excl:
            rankers["buy-again"] = buy_again_ranker(train_log, counts, max(KS))
        rankers["TIFU-KNN alone"] = tifu_ranker(tifu, counts, max(KS), seen if excl else None)
        rankers[f"implicit ALS (f={f}, reg={reg})"] = lambda u, pl=peer_lists: pl.get(u, [])
        rankers["popularity"] = lambda u, e=excl: pop.recommend(u, max(KS), exclude_seen=e).ids.tolist()
        rows = {label: per_user(r, tr) for label, r in rankers.items()}
        # the serving path: a shopper id whose latest event is older than idle_minutes gets the same list
        sample = list(tr)[:200]
        same = [hybrid.recommend(u, max(KS), exclude_seen=excl).ids.tolist() == hybrid_rank(False)(u) for u in sample]
        stats = bootstrap(rows)
        header = ["model", *(f"{m}@{k}" for m in ("NDCG", "recall") for k in KS), "NDCG@10 after-this [95% CI]"]
        table = []
        for label, cells in stats.items():
            d = cells["ndcg@10"]
            lo, hi = d.get("after_minus_this_ci95", [0.0, 0.0])
            ci = "" if label == AFTER else f"{d['after_minus_this']:+.4f} [{lo:+.4f}, {hi:+.4f}]"
            table.append([label, *(cells[f"{m}@{k}"]["mean"] for m in ("ndcg", "recall") for k in KS), ci])
        print_table(f"{name}, protocol '{proto}' ({len(tr)} users)", header, table)
        idle = f"clock; idle > {cfg.idle_minutes:g} min"
        print(f"  served by shopper id ({idle}): same list as live=False for {np.mean(same):.0%} of {len(sample)}")
        out["protocols"][proto] = {
            "users": len(tr),
            "rows": stats,
            "served_by_id_same_as_between": float(np.mean(same)),
        }
    # fit time: with and without the between-sessions search, and implicit ALS's tuned config
    f, reg = out["implicit_repeats"]["factors"], out["implicit_repeats"]["regularization"]
    fits: dict[str, Callable[[], Any]] = {
        "hybrid": lambda: HybridRecommender(vec, cfg).fit(train),
        "hybrid, no between-sessions search": lambda: HybridRecommender(
            vec, dataclasses.replace(cfg, tune=TuneConfig(between=False))
        ).fit(train),
        "implicit ALS": lambda: ALSRecommender(
            ALSConfig(factors=f, regularization=reg, iterations=15, num_threads=args.threads)
        ).fit(train),
    }
    load_before = uptime()
    runs: dict[str, list[float]] = {label: [] for label in fits}
    cpu: dict[str, list[float]] = {label: [] for label in fits}
    for _ in range(args.fit_repeats):
        for label, fn in fits.items():
            c0 = time.process_time()
            runs[label].append(fit_seconds(fn))
            cpu[label].append(time.process_time() - c0)
    med = {label: float(np.median(v)) for label, v in runs.items()}
    med_cpu = {label: float(np.median(v)) for label, v in cpu.items()}
    out["fit"] = {
        "wall_s": runs,
        "cpu_s": cpu,
        "median_wall_s": med,
        "median_cpu_s": med_cpu,
        "hybrid_to_implicit": med["hybrid"] / med["implicit ALS"],
        "no_between_to_implicit": med["hybrid, no between-sessions search"] / med["implicit ALS"],
        "between_search_share_of_fit_cpu": 1 - med_cpu["hybrid, no between-sessions search"] / med_cpu["hybrid"],
        "uptime_before": load_before,
        "uptime_after": uptime(),
        "first_fit_s": secs["hybrid"],
    }
    print(
        f"  fit medians over {args.fit_repeats} alternating runs: wall {med}, cpu {med_cpu}; "
        f"hybrid / implicit {out['fit']['hybrid_to_implicit']:.2f} (without the between search "
        f"{out['fit']['no_between_to_implicit']:.2f}); load {load_before} -> {out['fit']['uptime_after']}"
    )
    if args.search_repeats:
        c = out["basket_cost"] = basket_cost(vec, cfg, train, args.search_repeats)
        print(
            f"  baskets component: fit {c['component_fit']['cpu_s'] * 1000:.2f} CPU-ms; between search medians over "
            f"{c['repeats']} runs {c['between_search']}: +{c['extra_cpu_s']:.3f} CPU-s, +{c['extra_wall_s']:.3f} s "
            f"wall; load {c['uptime_before']} -> {c['uptime_after']}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="instacart,cj,hm")
    ap.add_argument("--cj-households", type=int, default=500)
    ap.add_argument("--fit-repeats", type=int, default=2)
    ap.add_argument("--search-repeats", type=int, default=7, help="between-search runs with / without baskets")
    ap.add_argument("--also-try", default="7", help="a second hybrid whose between search also tries these sizes")
    ap.add_argument("--threads", type=int, default=2, help="ALS threads (the hybrid's and the timed peer's)")
    ap.add_argument("--out", default="next_basket")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    payload: dict[str, Any] = {"ks": list(KS), "uptime_start": uptime(), "sets": {}}
    print("uptime:", payload["uptime_start"])
    t0 = time.perf_counter()
    for name in args.sets.split(","):
        payload["sets"][name] = run_set(name, args)
    payload["uptime_end"], payload["seconds"] = uptime(), time.perf_counter() - t0
    print("uptime:", payload["uptime_end"])
    write_json(args.out, payload)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # as bench_sessions.py: tiny per-query solves, BLAS threads only contend
        main()
