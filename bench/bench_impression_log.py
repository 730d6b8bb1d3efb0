"""What logging impressions of explored lists costs a /recommend/user request, and what the
background work per impression is; and how often the Monte Carlo propensity
(``SlotExplorer.propensities``, 2,000 simulated selections) answers 0 for an item that was shown,
where the exact form (``bandit/propensity.py``) does not.

Store: bench_sessions_latency's synthetic store (made-up data; ``--items`` 50,000, 200,000
sessions, default weights, tuning off), k=20. Each explorer first learns from ``--plays`` made-up
showings (2% clicked) so its posteriors differ by arm, as a live one's do.

Request path (one thread, the four ways taking turns call by call so all see the same load):
``recommend_with_exploration`` for the random tail and the gate (``--gate``), without and with
logging (the greedy picks, the draft, the queue hand-off; the logger's thread runs meanwhile), in
a random order per shopper; the draft and hand-off also timed alone.
Background, timed alone after the request loop: exact propensities per logged list, and SQLite
commits per list (batches of 256). The 1-minute load is recorded beside.

Run: nice -n 10 python bench/bench_impression_log.py [--items 50000] [--calls 600]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sessions_latency import item_vectors, synthetic_store
from shelfwise.bandit.impression_log import ImpressionDraft, ImpressionLogger
from shelfwise.bandit.propensity import exploration_probs
from shelfwise.bandit.slots import SlotConfig, SlotExplorer
from shelfwise.events.impressions import ImpressionStore
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.explore import recommend_with_exploration
from shelfwise.serve.impressions import draft

from common import percentiles, print_table, write_json

K = 20
MC_LISTS = 20  # lists whose Monte Carlo propensities are computed too


def _learnt(ex: SlotExplorer, plays: int, seed: int) -> SlotExplorer:
    rng = np.random.default_rng(seed)
    arms = rng.integers(0, len(ex.catalog), plays)
    ex.policy.update(arms, (rng.random(plays) < 0.02).astype(np.float64))
    return ex


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--calls", type=int, default=600)
    ap.add_argument("--gate", type=int, default=50)
    ap.add_argument("--plays", type=int, default=100_000)
    ap.add_argument("--out", default="impression_log_s19")
    args = ap.parse_args()
    uptime0 = os.popen("uptime").read().strip()
    cat, log = synthetic_store(args.items, 200_000, 40_000)
    data = Interactions.from_log(log, cat)
    cfg = replace(HybridConfig(), tune=replace(HybridConfig().tune, enabled=False))
    rec = HybridRecommender(item_vectors(args.items), cfg)
    rec.fit(data)
    users = [u for u in data.users if u in data.profiles][: args.calls + 50]
    tail = _learnt(SlotExplorer(cat), args.plays, 1)
    gated = _learnt(SlotExplorer(cat, config=SlotConfig(candidates=args.gate)), args.plays, 2)
    folder = Path(tempfile.mkdtemp(prefix="impressions-"))
    logger = ImpressionLogger(ImpressionStore(folder / "events.impressions.db"))
    drafts: dict[str, list[ImpressionDraft]] = {"random tail": [], f"gated top {args.gate}": []}

    handoff: list[float] = []

    def logged(ex: SlotExplorer, name: str) -> Callable[[str], Any]:
        def run(u: str) -> None:
            shown = recommend_with_exploration(rec, ex, u, K, now=0.0, greedy=True)
            t = time.perf_counter()
            d = draft(cat, uuid.uuid4().hex, u, "/recommend/user", shown, "bernoulli_ts")
            if d is not None:
                logger.log(d)
            handoff.append(time.perf_counter() - t)
            if d is not None:
                drafts[name].append(d)

        return run

    ways: dict[str, Callable[[str], Any]] = {
        "random tail, no log": lambda u: recommend_with_exploration(rec, tail, u, K, now=0.0),
        "random tail, logged": logged(tail, "random tail"),
        f"gated top {args.gate}, no log": lambda u: recommend_with_exploration(rec, gated, u, K, now=0.0),
        f"gated top {args.gate}, logged": logged(gated, f"gated top {args.gate}"),
    }
    for u in users[:50]:  # warm-up
        for fn in ways.values():
            fn(u)
    logger.flush(60)
    for v in drafts.values():
        v.clear()
    got: dict[str, list[float]] = {label: [] for label in ways}
    load0 = os.getloadavg()[0]
    handoff.clear()
    shuffle = np.random.default_rng(7)
    for u in users[50:]:
        for label in shuffle.permutation(
            list(ways)
        ).tolist():  # a random order per shopper: no way always follows another
            t = time.perf_counter()
            ways[label](u)
            got[label].append(time.perf_counter() - t)
    load1 = os.getloadavg()[0]
    flushed = logger.flush(120)
    out: dict[str, Any] = {label: percentiles(v) for label, v in got.items()}
    rng = np.random.default_rng(0)
    names = list(ways)
    for a, b in ((names[1], names[0]), (names[3], names[2])):
        x, y = np.asarray(got[a]), np.asarray(got[b])
        boot = [np.median(rng.choice(x, len(x))) - np.median(rng.choice(y, len(y))) for _ in range(1000)]
        diff = float(np.median(x) - np.median(y)) * 1000
        out[f"p50 difference ms: {a} - {b}"] = [diff, *(np.percentile(boot, [2.5, 97.5]) * 1000).tolist()]
    rows = [[label, out[label]["p50_ms"], out[label]["p90_ms"], out[label]["p99_ms"]] for label in got]
    print_table(
        f"/recommend/user path, {args.items} items, k={K}, load {load0:.2f}-{load1:.2f}",
        ["way", "p50 ms", "p90 ms", "p99 ms"],
        rows,
    )
    for key, v in out.items():
        if key.startswith("p50 difference"):
            print(f"  {key}: {v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}]")
    out["draft + queue hand-off alone"] = percentiles(handoff)
    print(f"  draft + queue hand-off alone: p50 {out['draft + queue hand-off alone']['p50_ms']:.3f} ms")
    out["logger"] = {"logged": logger.logged, "dropped": logger.dropped, "failed": logger.failed, "flushed": flushed}
    out["background"] = background(drafts, tail, gated)
    logger.close()
    out["load_1min"] = [load0, load1]
    out["uptime_start"] = uptime0
    out["argv"] = sys.argv[1:]
    out["data"] = "synthetic (made-up) store"
    write_json(args.out, out)


def background(drafts: dict[str, list[ImpressionDraft]], tail: SlotExplorer, gated: SlotExplorer) -> dict[str, Any]:
    """Per logged list, alone: exact propensities (200 lists); the Monte Carlo ones (2,000 selections,
    the first :data:`MC_LISTS` lists) on the explorer's present state and how often they answer 0
    for a shown item; SQLite commits."""
    out: dict[str, Any] = {}
    for (name, ds), ex in zip(drafts.items(), (tail, gated), strict=True):
        exact_s, mc_s, zeros, picks, ratios = [], [], 0, 0, []
        for n, d in enumerate(ds[:200]):
            t = time.perf_counter()
            probs = exploration_probs(d.exploration)
            exact_s.append(time.perf_counter() - t)
            if n >= MC_LISTS:  # seconds each on a whole-tail pool of 40,000
                continue
            t = time.perf_counter()
            mc = ex.propensities(d.exploration, n_sim=2000)
            mc_s.append(time.perf_counter() - t)
            assert probs is not None
            zeros += int((mc == 0).sum())
            picks += len(mc)
            ratios += (mc[mc > 0] / probs.inclusion[mc > 0]).tolist()
        groups = [
            len(np.unique(d.exploration.posterior[0] + 1j * d.exploration.posterior[1]))
            for d in ds[:5]
            if d.exploration.posterior
        ]
        out[name] = {
            "exact propensities": percentiles(exact_s),
            "monte carlo propensities (2000)": percentiles(mc_s),
            "monte carlo zero share of shown picks": zeros / max(picks, 1),
            "monte carlo / exact inclusion, median and 5-95%": np.percentile(ratios, [50, 5, 95]).tolist()
            if ratios
            else [],
            "distinct posteriors in the catalog": groups[:1],
            "lists": len(ds),
        }
        print_table(
            f"background per logged list, {name}",
            ["step", "p50 ms", "p90 ms"],
            [[k, v["p50_ms"], v["p90_ms"]] for k, v in out[name].items() if isinstance(v, dict)],
        )
        print(f"  Monte Carlo answered 0 for {zeros} of {picks} shown picks")
    recs = [d.impression() for d in drafts["random tail"][:256]]
    store = ImpressionStore(Path(tempfile.mkdtemp(prefix="impressions-")) / "x.impressions.db")
    t = time.perf_counter()
    for i in range(0, len(recs), 64):
        store.append([replace(r, request_id=f"{r.request_id}-{i}") for r in recs[i : i + 64]])
    out["sqlite commit per list ms (batches of 64)"] = (time.perf_counter() - t) / max(len(recs), 1) * 1000
    print(f"  SQLite: {out['sqlite commit per list ms (batches of 64)']:.3f} ms per list")
    store.close()
    return out


if __name__ == "__main__":
    main()
