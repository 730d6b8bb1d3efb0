"""Colour / size variants on personal lists: one item per product title (``collapse_variants``, the
default), at most 2 or 3, or no limit, measured on what a shopper sees as well as on exact articles.

H&M's catalog names its colour variants alike (``prod_name``: 4,903 articles, 3,252 titles) and its
shoppers buy several colours of one product, so a strict evaluation (a hit is the exact article)
rewards a list that shows five colours of one T-shirt. What the shopper sees is products: a hit is
a product they bought, in whatever colour the list shows (the colour is a swatch away). Both are
reported, and the list's breadth:

* strict Recall@k / NDCG@k: the exact held-out article;
* variant-aware Recall@k / NDCG@k over products (``Product.variant_key``, the title the lists
  collapse on): the truth is the set of products whose articles the shopper bought, a list item
  hits when its product is one of them, each product credited once (at its first place);
* swatch recall: the share of held-out articles whose product the list shows (what a list reaches
  when each shown item offers its other colours as swatches, as Algolia's ``distinct`` with
  ``_rankingInfo`` / Vespa's grouping do);
* distinct products per list, and intra-list diversity: the mean pairwise cosine distance of the
  list's item text embeddings (Ziegler et al., 2005, "Improving Recommendation Lists Through Topic
  Diversification").

Protocol: ``bench_cold_start.py``'s, so the figures compare with cold_start / explore_quality:
Instacart (titles unique: the control), one global time cut over per-user clocks aligned at each
last order; H&M (the demo bundle, data/hm), each customer's later half of purchases in file order
held out (one day of data: not a time split). The truth is what a shopper bought after the cut
and never before; lists leave out seen items (``exclude_seen``, as ``/recommend/user``) and are
asked with no session under way (the between-sessions fusion). One fit of the hybrid as shipped
(fit-time tuning on; tuning scores no list, so it does not depend on the setting); every setting
is the same fused ranking listed under a different per-title cap (what
``listing.top_distinct`` does: the best ``4k`` items, kept in order while their title has fewer
than the cap), checked against the library's own collapsed lists on every shopper.

Reported at k = 10 and 20 over shoppers with a history and a non-empty truth; 95% intervals:
bootstrap over shoppers (1,000 resamples), and paired differences of each setting minus the
default (one per title) over the same resamples.

Run: nice -n 10 python bench/bench_variants.py [--sets hm,instacart] [--out variants_s18]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cold_start import LOADERS, ColdSplit, embed, intervals, ndcg, paired, truth_new
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions

from common import print_table, write_json

KS = (10, 20)
BOOT = 1000
CAPS = {"one per title (default)": 1, "at most 2 per title": 2, "at most 3 per title": 3, "no collapse": 0}
DEFAULT = "one per title (default)"
KEYS = ("ndcg", "recall", "variant_ndcg", "variant_recall", "swatch_recall", "distinct", "ild")


def capped(ranked: Sequence[int], keys: Sequence[int], k: int, cap: int) -> list[int]:
    """The first ``k`` of ``ranked`` keeping at most ``cap`` items per key (0: no cap)."""
    if cap == 0:
        return list(ranked[:k])
    count: dict[int, int] = {}
    out: list[int] = []
    for i in ranked:
        if count.get(keys[i], 0) < cap:
            count[keys[i]] = count.get(keys[i], 0) + 1
            out.append(i)
            if len(out) == k:
                break
    return out


def variant_ndcg(ranked: Sequence[int], truth_keys: set[int], keys: Sequence[int], k: int) -> float:
    """NDCG@k over products: a place gains when its product was bought, once per product."""
    credited: set[int] = set()
    gain = 0.0
    for r, i in enumerate(ranked[:k]):
        key = keys[i]
        if key in truth_keys and key not in credited:
            credited.add(key)
            gain += 1.0 / np.log2(r + 2.0)
    ideal = sum(1.0 / np.log2(r + 2.0) for r in range(min(len(truth_keys), k)))
    return float(gain / ideal) if ideal else 0.0


def diversity(rows: Sequence[int], unit: np.ndarray) -> float:
    """Mean pairwise cosine distance of the rows' unit vectors (NaN under two items)."""
    if len(rows) < 2:
        return float("nan")
    v = unit[list(rows)]
    sim = v @ v.T
    n = len(rows)
    return float(1.0 - (sim.sum() - np.trace(sim)) / (n * (n - 1)))


@dataclass(frozen=True)
class PerUser:
    """Per-shopper figures of one setting at one k, aligned with the run's shopper order."""

    ndcg: np.ndarray
    recall: np.ndarray
    variant_ndcg: np.ndarray
    variant_recall: np.ndarray
    swatch_recall: np.ndarray
    distinct: np.ndarray
    slots: np.ndarray
    ild: np.ndarray
    articles: np.ndarray  # held-out articles (the recall denominators)

    def summary(self, pick: np.ndarray | None = None) -> dict[str, float]:
        p = np.arange(len(self.ndcg)) if pick is None else pick
        out = {f: float(getattr(self, f)[p].mean()) for f in KEYS if f != "ild"}
        ild = self.ild[p]
        out["ild"] = float(np.nanmean(ild)) if np.isfinite(ild).any() else float("nan")
        out["slots"] = float(self.slots[p].mean())
        return out


def per_user(
    lists: Mapping[str, list[int]],
    users: Sequence[str],
    truth: Mapping[str, set[int]],
    keys: Sequence[int],
    unit: np.ndarray,
    k: int,
) -> PerUser:
    cols: dict[str, list[float]] = {f: [] for f in PerUser.__dataclass_fields__}
    for u in users:
        got, t = lists[u][:k], truth[u]
        tk = {keys[i] for i in t}
        shown = {keys[i] for i in got}
        cols["ndcg"].append(ndcg(got, t, k))
        cols["recall"].append(len(t & set(got)) / len(t))
        cols["variant_ndcg"].append(variant_ndcg(got, tk, keys, k))
        cols["variant_recall"].append(len(tk & shown) / len(tk))
        cols["swatch_recall"].append(sum(keys[i] in shown for i in t) / len(t))
        cols["distinct"].append(len(shown))
        cols["slots"].append(len(got))
        cols["ild"].append(diversity(got, unit))
        cols["articles"].append(len(t))
    return PerUser(**{f: np.asarray(v, dtype=np.float64) for f, v in cols.items()})


def swatches_gain(collapsed: PerUser, flat: PerUser, picks: np.ndarray) -> dict[str, Any]:
    """Held-out articles a collapsed list reaches with swatches (its product shown) minus those a list
    of no collapse shows as they are, and the share of the collapsed list's product hits that show
    the very article bought (the rest are a swatch away)."""
    gain = collapsed.swatch_recall - flat.recall
    runs = [float(gain[p].mean()) for p in picks]
    return {
        "mean": float(gain.mean()),
        "ci95": [float(np.percentile(runs, 2.5)), float(np.percentile(runs, 97.5))],
        "exact_share_of_product_hits": float(
            (collapsed.recall * collapsed.articles).sum() / max((collapsed.swatch_recall * collapsed.articles).sum(), 1)
        ),
    }


def truth_profile(data: Interactions, truth: Mapping[str, set[int]], keys: Sequence[int]) -> dict[str, float | int]:
    """How the held-out purchases spread over products: articles per bought product, and the share
    of held-out articles that are another variant of a product the shopper had bought before."""
    articles = sum(len(t) for t in truth.values())
    products = sum(len({keys[i] for i in t}) for t in truth.values())
    owned = 0
    for u, t in truth.items():
        before = {keys[i] for i in data.profiles.seen(u)}
        owned += sum(keys[i] in before for i in t)
    return {
        "held_out_articles": articles,
        "held_out_products": products,
        "articles_per_product": articles / max(products, 1),
        "share_variant_of_owned_product": owned / max(articles, 1),
    }


def run_set(split: ColdSplit, reach: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    cat = split.catalog
    data = Interactions.from_log(split.train, cat)
    truth = truth_new(data, split.test)
    users = sorted(truth)
    names = np.unique([p.variant_key for p in cat.products], return_inverse=True)[1]
    keys: list[int] = names.tolist()
    vec, enc = embed(cat)
    unit = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    shared = np.bincount(names)
    info: dict[str, Any] = {
        "protocol": split.protocol,
        "items": len(cat),
        "titles": len(shared),
        "items_sharing_a_title": int(shared[shared > 1].sum()),
        "shoppers": len(users),
        "encoder": enc.name,
        **truth_profile(data, truth, keys),
    }
    print(f"\n== {split.name}: {info}")
    rec = HybridRecommender(vec, HybridConfig(), enc)
    t = time.perf_counter()
    rec.fit(data)
    info["fit_s"] = round(time.perf_counter() - t, 2)
    info["tuning"] = rec.tuning.reason
    collapsed = rec.config
    flat = replace(collapsed, collapse_variants=False)
    ranked: dict[str, list[int]] = {}
    library: dict[str, list[int]] = {}
    for u in users:
        ctx = replace(rec.context(u), live=False)  # a shopper back after the cut, no session under way
        rec.config = flat
        ranked[u] = rec.recommend(ctx, reach * max(KS), exclude_seen=True).ids.tolist()
        rec.config = collapsed
        library[u] = rec.recommend(ctx, max(KS), exclude_seen=True).ids.tolist()
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(users), size=(BOOT, len(users)))
    out: dict[str, Any] = {"info": info}
    for k in KS:
        lists = {name: {u: capped(ranked[u], keys, k, cap) for u in users} for name, cap in CAPS.items()}
        # the reach of top_distinct is 4k: the collapsed list at k=20 is the library's own
        same = sum(lists[DEFAULT][u] == library[u][:k] for u in users) if k == max(KS) else None
        rows = {name: per_user(ls, users, truth, keys, unit, k) for name, ls in lists.items()}
        table: dict[str, Any] = {}
        for name, m in rows.items():
            table[name] = {**m.summary(), "ci95": intervals(m, picks)}
            if name != DEFAULT:
                table[name]["minus_default_ci95"] = paired(m, rows[DEFAULT], picks, KEYS)
        table[DEFAULT]["swatches_minus_no_collapse_ci95"] = swatches_gain(rows[DEFAULT], rows["no collapse"], picks)
        if same is not None:
            table[DEFAULT]["same_as_library_lists"] = f"{same} of {len(users)}"
        out[f"k{k}"] = table
        report(split.name, k, len(users), table)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def ci_text(v: Mapping[str, Any], key: str) -> str:
    """``v[key]`` with its 95% interval, as the tables print it."""
    lo, hi = v["ci95"][key]
    return f"{v[key]:.4f} [{lo:.4f}, {hi:.4f}]"


def report(name: str, k: int, n: int, table: Mapping[str, Any]) -> None:
    print_table(
        f"{name}, k={k}: {n} shoppers (95% bootstrap CI)",
        ["listing", f"NDCG@{k}", f"Recall@{k}", "variant NDCG", "variant recall", "swatch rec", "products", "ILD"],
        [
            [
                label,
                ci_text(v, "ndcg"),
                ci_text(v, "recall"),
                ci_text(v, "variant_ndcg"),
                ci_text(v, "variant_recall"),
                v["swatch_recall"],
                f"{v['distinct']:.2f} / {v['slots']:.2f}",
                v["ild"],
            ]
            for label, v in table.items()
        ],
    )
    sw = table[DEFAULT]["swatches_minus_no_collapse_ci95"]
    print(
        f"  default with swatches (articles whose product it shows) minus no collapse (articles shown): "
        f"{sw['mean']:+.4f} [{sw['ci95'][0]:+.4f}, {sw['ci95'][1]:+.4f}]; the bought article itself is shown in "
        f"{sw['exact_share_of_product_hits']:.0%} of the default's product hits"
    )
    for label, v in table.items():
        d = v.get("minus_default_ci95")
        if d:
            print(
                f"  {label} minus default, 95% CI: "
                + ", ".join(f"{key} [{d[key][0]:+.4f}, {d[key][1]:+.4f}]" for key in KEYS)
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="hm,instacart")
    ap.add_argument("--out", default="variants_s18")
    ap.add_argument("--reach", type=int, default=4, help="items ranked per list slot (top_distinct's own: 4)")
    args = ap.parse_args()
    payload: dict[str, Any] = {"load_before": os.getloadavg(), "ks": list(KS), "bootstrap": BOOT, "caps": CAPS}
    for name in filter(None, args.sets.split(",")):
        payload[name] = run_set(LOADERS[name](), args.reach)
    payload["load_after"] = os.getloadavg()
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
