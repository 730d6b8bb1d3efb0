"""Related items (GET /recommend/item/{id}, the storefront's "Related") on real baskets.

Protocol (bench_cross.py's stores and splits): fit on training baskets; for each held-out basket
and each seed item in it with a training history, ask for the top 10 related items; the truth is
the basket's other items (any category). Reported by seed support (the seed's training basket
count: 1-2, 3-9, 10+): hit rate (at least one hit in the 10), recall@10, catalog coverage.

Methods in the same run, all over the same fitted components (co-occurrence, implicit ALS, text):

* ``shipped``: ``HybridRecommender.similar`` (co-occurrence 1.0, ALS 0.5, text 0.5, each scaled
  to [0, 1] over the catalog, variants collapsed);
* ``co shrunk mN``: the same, with the co-occurrence weight times ``n / (n + N)`` for a seed seen
  in ``n`` training baskets: a seed seen once has one basket's companions, which scaling to [0, 1]
  made as strong as a bestseller's partners (a walkthrough on a sparse store found 6 of 8
  "related" items unrelated, each "viewed together once");
* ``tuned at fit``: the product's fit with tuning on (:mod:`shelfwise.recommend.related_tune`:
  weights chosen on the training log's latest sessions, kept unless better by 2 standard errors);
* ``text only`` / ``co-occurrence only``: the parts alone, for reference.

Text vectors: all-MiniLM-L6-v2 (bench_cross.py's ``embed``), cached.

Run: nice -n 10 python bench/bench_related.py [--sets instacart,instacart_repo,hm] [--priors 2,5,10]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cross import LOADERS, K, embed, evaluate, table
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import TuneConfig
from shelfwise.recommend.base import minmax

from common import write_json

Method = Callable[[int], npt.NDArray[np.int64]]


def fused(h: HybridRecommender, weights: dict[str, float], co_factor: Callable[[int], float]) -> Method:
    """``similar``'s fusion with the co-occurrence weight scaled per seed by ``co_factor``."""

    def recommend(item: int) -> npt.NDArray[np.int64]:
        w = {**weights, "cooccurrence": weights.get("cooccurrence", 0.0) * co_factor(item)}
        scores = {n: minmax(h.components[n].score_item(item)) for n, x in w.items() if x > 0}
        s = h.fuse(scores, w, 0.0)
        mask = h.allowed(None)
        mask[item] = False
        return h._top(np.where(s > 0, s, -np.inf).astype(np.float32), K, mask).ids

    return recommend


def run_store(name: str, priors: list[float], tuned: bool) -> dict[str, Any]:
    catalog, train_log, test, info = LOADERS[name]()
    data = Interactions.from_log(train_log, catalog)
    vectors = embed(catalog)
    h = HybridRecommender(vectors, HybridConfig(tune=TuneConfig(enabled=False)))
    h.fit(data)
    baskets = h.components["cooccurrence"].baskets  # type: ignore[attr-defined]
    shipped = dict(h.config.similar_weights)
    methods: dict[str, Method] = {"shipped": lambda i: h.similar(i, K).ids}
    for m in priors:
        methods[f"co shrunk m{m:g}"] = fused(h, shipped, lambda i, m=m: float(baskets[i] / (baskets[i] + m)))
    if tuned:  # the product's fit: related-items weights chosen on the latest training sessions
        t = HybridRecommender(vectors, HybridConfig())
        t.fit(data)
        out_tuning = t.tuning.as_dict()
        methods["tuned at fit"] = lambda i: t.similar(i, K).ids
    methods["text only"] = fused(h, {"content": 1.0}, lambda i: 1.0)
    methods["co-occurrence only"] = fused(h, {"cooccurrence": 1.0}, lambda i: 1.0)
    cases = [(seed, set(b) - {seed}) for b in test for seed in b if baskets[seed] > 0]
    support = np.array([baskets[s] for s, _ in cases])
    print(f"{name}: {len(test)} held-out baskets, {len(cases)} seed cases", flush=True)
    out: dict[str, Any] = {"info": info, "cases": len(cases)}
    if tuned:
        keys = ("related_weights", "related_score", "default_related_score", "related_cases", "reason")
        out["tuning"] = {k: out_tuning[k] for k in keys}
    out["methods"] = evaluate(methods, cases, support, len(catalog))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="instacart,instacart_repo,hm")
    ap.add_argument("--priors", default="2,5,10", help="N of 'co shrunk mN'")
    ap.add_argument("--name", default="related", help="results file bench/results/NAME.json")
    ap.add_argument("--no-tuned", action="store_true", help="skip the fit with tuning on ('tuned at fit')")
    args = ap.parse_args()
    priors = [float(x) for x in args.priors.split(",")]
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    results = {s: run_store(s, priors, not args.no_tuned) for s in args.sets.split(",")}
    for s, r in results.items():
        table(s, r, "related items")
    end = os.getloadavg()
    print(f"\nload average at end: {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}")
    write_json(args.name, {"k": K, "load_start": list(load), "load_end": list(end), "stores": results})


if __name__ == "__main__":
    main()
