"""MICROBENCHMARK: what an explored recommendation request saves by reading its allowed items once
(session 19).

``recommend_with_exploration`` used to call ``rec.allowed(filters, ctx, exclude_seen)`` itself after
``recommend_scored`` had computed the same mask; the list's pass now hands its mask over
(``ScoredList.allowed``). The saving is one call of ``allowed``: the catalog's memoised filter mask
copied (or a catalog of ones), then the shopper's seen items cleared. That call alone is timed here
on SYNTHETIC catalogs (50,000 and 294,180 products, 12 categories, 40 seen items), with no filter
and with a category filter, ``uptime`` load noted. It is not a request's latency: for scale, an
explored /recommend/user request at 50k items was 25.7 ms p50 in ``explore_latency_s18.json``.

Run: python bench/bench_explore_allowed.py [--calls 2000] [--out explore_allowed_s19]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.recommend.base import BaseRecommender, Context

from common import percentiles, print_table, time_calls, write_json


class Allowed:
    """What ``BaseRecommender.allowed`` reads of a recommender: its catalog and size."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.n_items = len(catalog)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--out", default="explore_allowed_s19")
    args = ap.parse_args()
    start = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(start)
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for n in (50_000, 294_180):
        catalog = Catalog([Product(str(i), f"item {i}", category=(f"c{i % 12}",)) for i in range(n)])
        rec: Any = Allowed(catalog)
        ctx = Context.of([int(i) for i in rng.choice(n, 40, replace=False)])
        for label, filters in (("no filter", None), ("one category", Filters(category=("c3",)))):
            BaseRecommender.allowed(rec, filters, ctx, True)  # the filter mask memoised, as in serving
            took = time_calls(lambda f: BaseRecommender.allowed(rec, f, ctx, True), [filters] * args.calls)  # noqa: B023
            rows.append({"products": n, "filters": label, **percentiles(took), "load": os.getloadavg()[0]})
    print_table(
        f"rec.allowed, one call: what an explored request no longer repeats (start: {start})",
        ["products", "filters", "p50 us", "p99 us", "mean us", "load"],
        [
            [r["products"], r["filters"], f"{r['p50_ms'] * 1e3:.1f}", f"{r['p99_ms'] * 1e3:.1f}",
             f"{r['mean_ms'] * 1e3:.1f}", f"{r['load']:.1f}"]
            for r in rows
        ],
    )  # fmt: skip
    end = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    write_json(args.out, {"kind": "microbenchmark", "rows": rows, "uptime_start": start, "uptime_end": end})


if __name__ == "__main__":
    main()
