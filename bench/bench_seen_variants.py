"""Seen items on personal lists: left out by id (today's ``exclude_seen``), by title (another colour /
size of a product the shopper had an event on is left out too), or demoted (such variants moved a
few places down the ranking; moved to the end they are left out in effect, as lists rarely run short).

Why ask: "for you" after a click can show another colour of the product just clicked, because
``exclude_seen`` matches exact ids. Leaving the title out looks tidier, but on H&M about a tenth of
the articles shoppers buy after the cut are another colour of a product they had bought before
(``bench_variants.py``'s ``share_variant_of_owned_product``): a list that hides those misses real
purchases. So it is measured before it is decided.

Protocol: ``bench_variants.py``'s (``bench_cold_start.py``'s splits; H&M: each customer's later
half of purchases in file order held out; the truth is the articles bought after the cut and never
before; no session under way). One fit of the hybrid as shipped; one fused ranking per shopper
(``exclude_seen=True``, no title collapse, ``reach * k`` items); each setting re-orders it (a seen
product's variants moved 3 or 10 places down) or filters it by the shopper's seen titles, then
collapses it to one item per title as the library does (today's setting is checked against the
library's own lists). Reported at k = 10 and 20: exact-article Recall / NDCG and product-level
(``variant_``) Recall / NDCG as in ``bench_variants.py``, and the share of list slots showing
another variant of a seen product; 95% bootstrap intervals over shoppers (1,000 resamples) and
paired differences of each setting minus today's.

Run: nice -n 10 python bench/bench_seen_variants.py [--sets hm] [--out seen_variants_s19]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cold_start import LOADERS, ColdSplit, embed, intervals, paired, truth_new
from bench_variants import KEYS, capped, ci_text, per_user
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions

from common import print_table, write_json

KS = (10, 20)
BOOT = 1000
TODAY = "by id (today)"
Order = Callable[[Sequence[int], set[int], Sequence[int]], list[int]]


def by_id(ranked: Sequence[int], seen_keys: set[int], keys: Sequence[int]) -> list[int]:
    return list(ranked)


def by_title(ranked: Sequence[int], seen_keys: set[int], keys: Sequence[int]) -> list[int]:
    return [i for i in ranked if keys[i] not in seen_keys]


def demoted(places: int) -> Order:
    """Each variant of a seen product moved ``places`` down the ranking (a soft demotion; moved to
    the end it is the same list as ``by_title`` whenever the ranking holds ``k`` other titles)."""

    def order(ranked: Sequence[int], seen_keys: set[int], keys: Sequence[int]) -> list[int]:
        at = {i: r + (places if keys[i] in seen_keys else 0) for r, i in enumerate(ranked)}
        return sorted(ranked, key=lambda i: (at[i], keys[i] in seen_keys))

    return order


SETTINGS: dict[str, Order] = {
    TODAY: by_id,
    "by title": by_title,
    "demoted 3 places": demoted(3),
    "demoted 10 places": demoted(10),
}


def run_set(split: ColdSplit, reach: int) -> dict[str, Any]:
    t0, cat = time.perf_counter(), split.catalog
    vec, enc = embed(cat)
    unit = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    keys: list[int] = np.unique([p.variant_key for p in cat.products], return_inverse=True)[1].tolist()
    data = Interactions.from_log(split.train, cat)
    truth = truth_new(data, split.test)
    users = sorted(truth)
    seen_keys = {u: {keys[i] for i in data.profiles.seen(u)} for u in users}
    articles = sum(len(t) for t in truth.values())
    owned = sum(keys[i] in seen_keys[u] for u in users for i in truth[u])
    info: dict[str, Any] = {
        "protocol": split.protocol,
        "items": len(cat),
        "shoppers": len(users),
        "encoder": enc.name,
        "held_out_articles": articles,
        "held_out_variant_of_seen_product": owned,
    }
    print(f"\n== {split.name}: {info}")
    rec = HybridRecommender(vec, HybridConfig(), enc)
    rec.fit(data)
    collapsed = rec.config
    flat = replace(collapsed, collapse_variants=False)
    ranked: dict[str, list[int]] = {}
    library: dict[str, list[int]] = {}
    for u in users:
        ctx = replace(rec.context(u), live=False)
        rec.config = flat
        ranked[u] = rec.recommend(ctx, reach * max(KS), exclude_seen=True).ids.tolist()
        rec.config = collapsed
        library[u] = rec.recommend(ctx, max(KS), exclude_seen=True).ids.tolist()
    picks = np.random.default_rng(0).integers(0, len(users), size=(BOOT, len(users)))
    out: dict[str, Any] = {"info": info}
    for k in KS:
        lists = {
            name: {u: capped(order(ranked[u], seen_keys[u], keys), keys, k, 1) for u in users}
            for name, order in SETTINGS.items()
        }
        rows = {name: per_user(ls, users, truth, keys, unit, k) for name, ls in lists.items()}
        table: dict[str, Any] = {}
        for name, m in rows.items():
            shown_seen = np.mean([sum(keys[i] in seen_keys[u] for i in lists[name][u]) / k for u in users])
            table[name] = {**m.summary(), "ci95": intervals(m, picks), "slots_variant_of_seen": float(shown_seen)}
            if name != TODAY:
                table[name]["minus_today_ci95"] = paired(m, rows[TODAY], picks, KEYS)
        if k == max(KS):
            same = sum(lists[TODAY][u] == library[u][:k] for u in users)
            table[TODAY]["same_as_library_lists"] = f"{same} of {len(users)}"
        out[f"k{k}"] = table
        report(split.name, k, len(users), table)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def report(name: str, k: int, n: int, table: dict[str, Any]) -> None:
    print_table(
        f"{name}, k={k}: {n} shoppers (95% bootstrap CI)",
        ["seen items left out", f"NDCG@{k}", f"Recall@{k}", "product NDCG", "product recall", "seen-title slots"],
        [
            [
                label,
                ci_text(v, "ndcg"),
                ci_text(v, "recall"),
                ci_text(v, "variant_ndcg"),
                ci_text(v, "variant_recall"),
                f"{v['slots_variant_of_seen']:.3f}",
            ]
            for label, v in table.items()
        ],
    )
    for label, v in table.items():
        d = v.get("minus_today_ci95")
        if d:
            print(
                f"  {label} minus today, 95% CI: "
                + ", ".join(f"{key} [{d[key][0]:+.4f}, {d[key][1]:+.4f}]" for key in KEYS[:4])
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="hm")
    ap.add_argument("--out", default="seen_variants_s19")
    ap.add_argument("--reach", type=int, default=4, help="items ranked per list slot (top_distinct's own: 4)")
    args = ap.parse_args()
    load = os.getloadavg()
    sets = {name: run_set(LOADERS[name](), args.reach) for name in args.sets.split(",") if name}
    payload = {"load_before": load, "ks": list(KS), "bootstrap": BOOT, "settings": list(SETTINGS), **sets}
    payload["load_after"] = os.getloadavg()
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
