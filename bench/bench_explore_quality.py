"""What exploration slots cost a personal list, and whether a relevance gate lowers the cost:
``/recommend/user`` (``recommend_with_exploration``) with no exploration, with the explorer as it
ships (Thompson sampling over the whole long tail; a fresh prior picks tail items uniformly at
random) and with the relevance gate (``SlotConfig.candidates`` = N: the bandit chooses among the N
tail items the list's own fusion scores highest), all in one run on the same fitted hybrid.

Protocol: ``bench_cold_start.py``'s (the run that measured Instacart NDCG@10 0.070 -> 0.061 with
exploration, ``cold_start_s17_merged.json``): Instacart, one global time cut over per-user
clocks aligned at each last order, truth = the items a shopper bought after the cut and never
before; H&M, each customer's later half of purchases in file order (one day: not a time split).
Lists leave out seen items; every list is asked with no session under way (the between-sessions
fusion). The hybrid as shipped (fit-time tuning on) and without the "cold" component (the row of
the 0.070 -> 0.061 figure). Every explorer starts from a fresh prior and learns nothing during
the run (no outcomes arrive offline), so this measures what the slots show, not what they learn.

Reported at k = 10 and 20 over shoppers with a history and a non-empty truth: NDCG@k, Recall@k;
the tail (items outside the 20% most-bought before the cut, the explorer's own head cut): share of
list slots on tail items, share of held-out tail purchases the list hits, coverage (distinct
tail items shown to anyone / tail items); explored slots: share on cold items (no event before the
cut), share whose item has evidence (a positive fused score, so its reason names it), hit rate
(held-out purchases among explored items / explored slots). 95% intervals: bootstrap over shoppers
(1,000 resamples), and paired differences (each exploration row minus no exploration; each gated
row minus the random tail) over the same resamples.

Propensities (what off-policy evaluation divides by): for ``--propensity-users`` shoppers, each
explored item's probability of being shown under the explorer's policy, over the pool it was
drawn from (``SlotExplorer.propensities``, 500 simulated selections).

Latency: ``recommend_with_exploration`` at ``--latency-items`` (50,000) items of
bench_sessions_latency's synthetic store (made-up data, default weights, tuning off), k=20, the
plain list, random-tail and gated exploration in alternating blocks of 50 calls (same users, same
load); the 1-minute load beside.

Run: nice -n 10 python bench/bench_explore_quality.py [--sets instacart,hm] [--gates 10,50,200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cold_start import LOADERS, NO_COLD, TUNED, ColdSplit, embed, intervals, ndcg, paired, truth_new, variants
from shelfwise.bandit.slots import SlotConfig, SlotExplorer
from shelfwise.eval.metrics import head_items
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.explore import is_explored, recommend_with_exploration

from common import percentiles, print_table, write_json

KS = (10, 20)
BOOT = 1000
NONE, RANDOM = "no exploration", "random tail (shipped)"
KEYS = ("ndcg", "recall", "tail_recall")  # the paired differences reported


@dataclass(frozen=True)
class Listed:
    """One shopper's list: its rows and which positions were explored."""

    rows: list[int]
    explored: list[bool]


@dataclass(frozen=True)
class PerUser:
    """Per-shopper counts of one row at one k, aligned with the run's shopper order."""

    ndcg: np.ndarray
    recall: np.ndarray
    slots: np.ndarray
    tail_slots: np.ndarray
    tail_hits: np.ndarray
    tail_truth: np.ndarray
    explored: np.ndarray
    explored_cold: np.ndarray
    explored_evidence: np.ndarray
    explored_hits: np.ndarray

    def summary(self, pick: np.ndarray | None = None) -> dict[str, float]:
        p = np.arange(len(self.ndcg)) if pick is None else pick

        def share(a: np.ndarray, b: np.ndarray) -> float:
            return float(a[p].sum() / max(b[p].sum(), 1))

        return {
            "ndcg": float(self.ndcg[p].mean()),
            "recall": float(self.recall[p].mean()),
            "tail_slot_share": share(self.tail_slots, self.slots),
            "tail_recall": share(self.tail_hits, self.tail_truth),
            "explored_slot_share": share(self.explored, self.slots),
            "explored_cold_share": share(self.explored_cold, self.explored),
            "explored_with_evidence": share(self.explored_evidence, self.explored),
            "explored_hit_rate": share(self.explored_hits, self.explored),
        }


def per_user(
    lists: Mapping[str, Listed],
    users: Sequence[str],
    truth: Mapping[str, set[int]],
    tail: np.ndarray,
    cold: np.ndarray,
    evidence: Mapping[str, set[int]],
    k: int,
) -> PerUser:
    cols: dict[str, list[float]] = {f: [] for f in PerUser.__dataclass_fields__}
    for u in users:
        got, flags, t = lists[u].rows[:k], lists[u].explored[:k], truth[u]
        ex = [i for i, f in zip(got, flags, strict=True) if f]
        cols["ndcg"].append(ndcg(got, t, k))
        cols["recall"].append(len(t & set(got)) / len(t))
        cols["slots"].append(len(got))
        cols["tail_slots"].append(int(tail[got].sum()) if got else 0)
        cols["tail_hits"].append(sum(1 for i in got if tail[i] and i in t))
        cols["tail_truth"].append(sum(1 for i in t if tail[i]))
        cols["explored"].append(len(ex))
        cols["explored_cold"].append(sum(1 for i in ex if cold[i]))
        cols["explored_evidence"].append(sum(1 for i in ex if i in evidence.get(u, ())))
        cols["explored_hits"].append(sum(1 for i in ex if i in t))
    return PerUser(**{f: np.asarray(v, dtype=np.float64) for f, v in cols.items()})


def explorers(catalog: Any, gates: Sequence[int]) -> dict[str, SlotExplorer]:
    """A fresh explorer per row: the shipped one (no gate), then each gate size."""
    out = {RANDOM: SlotExplorer(catalog)}
    for n in gates:
        out[f"gated, top {n} tail by score"] = SlotExplorer(catalog, config=SlotConfig(candidates=n))
    return out


def lists_of(
    rec: HybridRecommender, users: Sequence[str], k: int, explorer: SlotExplorer | None
) -> tuple[dict[str, Listed], dict[str, set[int]]]:
    """Each shopper's list (no session under way), and for explored rows the explored items with evidence."""
    out: dict[str, Listed] = {}
    evidence: dict[str, set[int]] = {}
    for u in users:
        if explorer is None:
            r = rec.recommend(replace(rec.context(u), live=False), k, exclude_seen=True)
            out[u] = Listed(r.ids.tolist(), [False] * len(r))
            continue
        r = recommend_with_exploration(rec, explorer, u, k, now=0.0)
        flags = [is_explored(w) for w in r.reasons]
        out[u] = Listed(r.ids.tolist(), flags)
        evidence[u] = {int(i) for i, f, s in zip(r.ids, flags, r.scores, strict=True) if f and s > 0}
    return out, evidence


def propensity_probe(
    rec: HybridRecommender, catalog: Any, users: Sequence[str], gates: Sequence[int]
) -> dict[str, Any]:
    """Mean, min and max propensity of explored items (500 simulated selections each), k=10."""
    out: dict[str, Any] = {}
    for label, ex in explorers(catalog, gates).items():
        vals: list[float] = []
        for u in users:
            r = rec.recommend(replace(rec.context(u), live=False), 10, exclude_seen=True)
            pop = rec.counts.astype(np.float64)
            fused = np.maximum(rec.score(replace(rec.context(u), live=False), True), 0.0)
            e = ex.explore(
                r.results,
                10,
                user=u,
                popularity=pop,
                allowed=rec.allowed(None, rec.context(u), True),
                relevance=fused if ex.config.candidates else None,
            )
            vals += ex.propensities(e, n_sim=500).tolist()
        a = np.asarray(vals)
        out[label] = {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max()), "n": len(a)}
    return out


def run_set(split: ColdSplit, gates: Sequence[int], n_prop: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    cat = split.catalog
    data = Interactions.from_log(split.train, cat)
    counts = data.item_counts().astype(np.float64)
    cold = counts == 0
    tail = ~head_items(counts, SlotConfig().head_fraction)
    truth = truth_new(data, split.test)
    users = sorted(truth)
    vec, enc = embed(cat)
    info = {
        "protocol": split.protocol,
        "items": len(cat),
        "tail_items": int(tail.sum()),
        "cold_items": int(cold.sum()),
        "shoppers": len(users),
        "held_out_new_items": sum(len(t) for t in truth.values()),
        "held_out_on_tail_items": sum(int(tail[list(t)].sum()) for t in truth.values()),
        "encoder": enc.name,
    }
    print(f"\n== {split.name}: {info}")
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(users), size=(BOOT, len(users)))
    out: dict[str, Any] = {"info": info}
    hybrids = variants(False)
    for hybrid in (TUNED, NO_COLD):
        rec = HybridRecommender(vec, hybrids[hybrid].config, enc)
        t = time.perf_counter()
        rec.fit(data)
        print(f"  {hybrid}: fit {time.perf_counter() - t:.1f} s; {rec.tuning.reason}")
        block: dict[str, Any] = {"fusion_between_sessions": rec.config.fusion(True, live=False)[0]}
        for k in KS:
            rows: dict[str, PerUser] = {}
            shown: dict[str, float] = {}
            plain: dict[str, Listed] = {}
            for label, ex in {NONE: None, **explorers(cat, gates)}.items():
                lists, evidence = lists_of(rec, users, k, ex)
                plain = plain or lists
                for u in users:  # the model's own items keep their order: the same fusion as the plain list
                    kept = [i for i, f in zip(lists[u].rows, lists[u].explored, strict=True) if not f]
                    assert kept == plain[u].rows[: len(kept)], (label, u)
                rows[label] = per_user(lists, users, truth, tail, cold, evidence, k)
                seen = {i for v in lists.values() for i in v.rows[:k] if tail[i]}
                shown[label] = len(seen) / max(int(tail.sum()), 1)
            table: dict[str, Any] = {}
            for label, m in rows.items():
                table[label] = {**m.summary(), "tail_coverage": shown[label], "ci95": intervals(m, picks)}
                if label != NONE:
                    table[label]["minus_no_exploration_ci95"] = paired(m, rows[NONE], picks, KEYS)
                if label not in (NONE, RANDOM):
                    table[label]["minus_random_tail_ci95"] = paired(m, rows[RANDOM], picks, KEYS)
            block[f"k{k}"] = table
            report(f"{split.name}, {hybrid}, k={k}: {len(users)} shoppers", table)
        if hybrid == TUNED and n_prop:
            block["propensities_k10"] = propensity_probe(rec, cat, users[:n_prop], gates)
            print("  propensities (k=10):", block["propensities_k10"])
        out[hybrid] = block
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def report(title: str, table: Mapping[str, Any]) -> None:
    print_table(
        title,
        ["row", "NDCG", "95% CI", "recall", "tail slots", "tail recall", "tail cover", "expl. evid.", "expl. hit"],
        [
            [
                n,
                v["ndcg"],
                "[{:.4f}, {:.4f}]".format(*v["ci95"]["ndcg"]),
                v["recall"],
                v["tail_slot_share"],
                v["tail_recall"],
                v["tail_coverage"],
                v["explored_with_evidence"],
                v["explored_hit_rate"],
            ]
            for n, v in table.items()
        ],
    )
    for n, v in table.items():
        for key, other in (("minus_no_exploration_ci95", NONE), ("minus_random_tail_ci95", RANDOM)):
            if key in v:
                d = v[key]
                print(
                    f"  {n} minus {other}: NDCG [{d['ndcg'][0]:+.4f}, {d['ndcg'][1]:+.4f}], "
                    f"tail recall [{d['tail_recall'][0]:+.4f}, {d['tail_recall'][1]:+.4f}]"
                )


def latency(n_items: int, gate: int, calls: int = 1000) -> dict[str, Any]:
    """The /recommend/user path, k=20: plain, random tail and gated, taking turns call by call
    (the order rotating), so that all three see the same load; p50 ratios with 95% bootstrap CIs
    over the calls. The explorer's own step (``SlotExplorer.explore``: head, pool, Thompson draws)
    timed alone the same way."""
    from bench_sessions_latency import item_vectors, synthetic_store

    cat, log = synthetic_store(n_items, 200_000, 40_000)
    data = Interactions.from_log(log, cat)
    rec = HybridRecommender(
        item_vectors(n_items), replace(HybridConfig(), tune=replace(HybridConfig().tune, enabled=False))
    )
    rec.fit(data)
    users = [u for u in data.users if u in data.profiles][: calls + 100]
    random_tail, gated = SlotExplorer(cat), SlotExplorer(cat, config=SlotConfig(candidates=gate))
    pop = rec.counts.astype(np.float64)
    fused = {u: np.maximum(rec.score(replace(rec.context(u), live=False), True), 0.0) for u in users}
    base = {u: rec.recommend(replace(rec.context(u), live=False), 20).results for u in users}
    ways: dict[str, Callable[[str], Any]] = {
        "/recommend/user, no exploration": lambda u: rec.recommend(u, 20),
        "explore, random tail (shipped)": lambda u: recommend_with_exploration(rec, random_tail, u, 20, now=0.0),
        f"explore, gated top {gate}": lambda u: recommend_with_exploration(rec, gated, u, 20, now=0.0),
        "  step alone, random tail": lambda u: random_tail.explore(base[u], 20, popularity=pop),
        f"  step alone, gated top {gate}": lambda u: gated.explore(base[u], 20, popularity=pop, relevance=fused[u]),
    }
    for u in users[:100]:  # warm-up
        for fn in ways.values():
            fn(u)
    got: dict[str, list[float]] = {label: [] for label in ways}
    load0 = os.getloadavg()[0]
    for j, u in enumerate(users[100:]):
        order = list(ways)[j % len(ways) :] + list(ways)[: j % len(ways)]
        for label in order:
            t = time.perf_counter()
            ways[label](u)
            got[label].append(time.perf_counter() - t)
    out: dict[str, Any] = {label: percentiles(v) for label, v in got.items()}
    rng = np.random.default_rng(0)
    names = list(ways)
    for a, b in ((names[2], names[1]), (names[1], names[0]), (names[4], names[3])):
        x, y = np.asarray(got[a]), np.asarray(got[b])
        boot = [np.median(rng.choice(x, len(x))) / np.median(rng.choice(y, len(y))) for _ in range(BOOT)]
        ratio = float(np.median(x) / np.median(y))
        out[f"p50 ratio: {a.strip()} / {b.strip()}"] = [ratio, *np.percentile(boot, [2.5, 97.5]).tolist()]
    out["load_1min"] = [load0, os.getloadavg()[0]]
    out["data"] = "synthetic (made-up) store"
    print_table(
        f"latency, {n_items} synthetic items, k=20, one thread, load {load0:.2f}-{out['load_1min'][1]:.2f}",
        ["path", "p50 ms", "p90 ms", "p99 ms"],
        [[label, out[label]["p50_ms"], out[label]["p90_ms"], out[label]["p99_ms"]] for label in got],
    )
    for key, v in out.items():
        if key.startswith("p50 ratio"):
            print(f"  {key}: {v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="instacart,hm")
    ap.add_argument("--gates", default="10,50,200", help="gate sizes (SlotConfig.candidates) compared")
    ap.add_argument("--out", default="explore_quality_s18")
    ap.add_argument("--propensity-users", type=int, default=50, help="shoppers of the propensity probe (0: none)")
    ap.add_argument("--latency-items", type=int, default=50_000, help="synthetic store for latency (0: none)")
    args = ap.parse_args()
    gates = [int(g) for g in args.gates.split(",") if g]
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", uptime)
    payload: dict[str, Any] = {"uptime_start": uptime, "ks": list(KS), "bootstrap": BOOT, "argv": sys.argv[1:]}
    for name in filter(None, args.sets.split(",")):
        payload[name] = run_set(LOADERS[name](), gates, args.propensity_users)
    if args.latency_items:
        payload["latency_k20"] = latency(args.latency_items, max(gates[len(gates) // 2], 1))
    payload["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print("uptime:", payload["uptime_end"])
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
