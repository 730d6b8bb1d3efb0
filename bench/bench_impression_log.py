"""What logging impressions of explored lists costs, before and after the log was bounded: the
background CPU per logged list (exact propensities, the form of 02f3144 and the present one, with
their largest difference), the per-request posterior copy (50,000 and 1,000,000 arms), and requests
per second and CPU per request in a saturated loop with logging off, on for every list (the old
default, old and new propensities) and on as sampled now (``CostSampler``, 10% of a core, and a
tighter 2% to see it sample).

Store: bench_sessions_latency's synthetic store (made-up data; ``--items`` 50,000, 200,000
sessions, default weights, tuning off), k=20. Each explorer first learns from ``--plays`` made-up
showings (2% clicked) so its posteriors differ by arm, as a live one's do; in the saturated loop
one made-up outcome updates the policy before every request (as events arriving between requests
do), so a logged list's posterior snapshot is a fresh copy, not one shared with the last list.

Saturated loop (one request thread; the logger's thread runs beside it): each way serves requests
back to back for ``--seconds`` per round (its sampler sees its own load, as a busy server's does),
the ways in a random order per round; a turn ends by waiting for the log to commit, so its process
CPU (``time.process_time``: every thread, numpy's too) holds its own logging work.
The 1-minute load is recorded beside.

Run: nice -n 10 python bench/bench_impression_log.py [--items 50000] [--rounds 3] [--seconds 6]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sessions_latency import item_vectors, synthetic_store
from shelfwise.bandit.impression_log import ImpressionDraft, ImpressionLogger
from shelfwise.bandit.impression_sampler import CostSampler
from shelfwise.bandit.mab import BernoulliTS
from shelfwise.bandit.propensity import exploration_probs
from shelfwise.bandit.slots import SlotConfig, SlotExplorer
from shelfwise.events.impressions import Impression, ImpressionStore
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.explore import recommend_with_exploration
from shelfwise.serve.impressions import draft

from common import percentiles, print_table, write_json

K = 20
BEFORE = "02f3144"  # the commit whose propensity form ("before") is measured against the present one
ROOT = Path(__file__).resolve().parents[1]


def _old_propensity() -> ModuleType:
    """bandit/propensity.py as of :data:`BEFORE`, loaded from git under another name."""
    src = subprocess.run(
        ["git", "show", f"{BEFORE}:src/shelfwise/bandit/propensity.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="propensity-before-")) / "propensity_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("propensity_before", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["propensity_before"] = mod
    spec.loader.exec_module(mod)
    return mod


OLD = _old_propensity()


@dataclass(frozen=True)
class _OldDraft(ImpressionDraft):
    """A draft whose propensities come from the :data:`BEFORE` form."""

    def impression(self) -> Impression:
        probs = OLD.exploration_probs(self.exploration)
        n = len(self.record.explored)
        slot, inclusion = tuple(float(p) for p in probs.slot[:n]), tuple(float(p) for p in probs.inclusion[:n])
        return replace(self.record, propensity=slot, inclusion=inclusion)


def _learnt(ex: SlotExplorer, plays: int, seed: int) -> SlotExplorer:
    rng = np.random.default_rng(seed)
    arms = rng.integers(0, len(ex.catalog), plays)
    ex.policy.update(arms, (rng.random(plays) < 0.02).astype(np.float64))
    return ex


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0, help="each way's turn per round, requests back to back")
    ap.add_argument("--gate", type=int, default=50)
    ap.add_argument("--plays", type=int, default=100_000)
    ap.add_argument("--cpu-share", type=float, default=0.1)
    ap.add_argument("--small-share", type=float, default=0.02, help="a tighter budget, to see the sampler act")
    ap.add_argument("--out", default="impression_log_s19b")
    args = ap.parse_args()
    uptime0 = os.popen("uptime").read().strip()
    cat, log = synthetic_store(args.items, 200_000, 40_000)
    data = Interactions.from_log(log, cat)
    cfg = replace(HybridConfig(), tune=replace(HybridConfig().tune, enabled=False))
    rec = HybridRecommender(item_vectors(args.items), cfg)
    rec.fit(data)
    users = [u for u in data.users if u in data.profiles]
    tail = _learnt(SlotExplorer(cat), args.plays, 1)
    gated = _learnt(SlotExplorer(cat, config=SlotConfig(candidates=args.gate)), args.plays, 2)
    folder = Path(tempfile.mkdtemp(prefix="impressions-"))
    outcome = np.random.default_rng(11)

    def store(name: str) -> ImpressionStore:
        return ImpressionStore(folder / f"{name}.impressions.db")

    loggers = {
        "every list, before": ImpressionLogger(store("before"), sampler=CostSampler(16.0)),
        "every list, now": ImpressionLogger(store("every"), sampler=CostSampler(16.0)),
        "sampled": ImpressionLogger(store("sampled"), sampler=CostSampler(args.cpu_share)),
        "sampled, gate": ImpressionLogger(store("gated"), sampler=CostSampler(args.cpu_share)),
        "sampled, small": ImpressionLogger(store("small"), sampler=CostSampler(args.small_share)),
    }
    kept: dict[str, list[ImpressionDraft]] = {"random tail": [], f"gated top {args.gate}": []}

    def way(ex: SlotExplorer, logger: ImpressionLogger | None, old: bool = False) -> Callable[[str], None]:
        def run(u: str) -> None:
            ex.policy.update(outcome.integers(0, len(cat), 1), np.zeros(1))  # an event between requests
            rate = logger.sample() if logger is not None else None
            shown = recommend_with_exploration(rec, ex, u, K, now=0.0, greedy=rate is not None)
            if logger is None or rate is None:
                return
            d = draft(cat, uuid.uuid4().hex, u, "/recommend/user", shown, "bernoulli_ts", rate)
            if d is not None:
                logger.log(_OldDraft(d.record, d.exploration, d.request_s) if old else d)
                name = "random tail" if ex is tail else f"gated top {args.gate}"
                if len(kept[name]) < 200 and not old:
                    kept[name].append(d)

        return run

    ways: dict[str, tuple[Callable[[str], None], ImpressionLogger | None]] = {
        "random tail, no log": (way(tail, None), None),
        "random tail, every list logged, propensities before": (
            way(tail, loggers["every list, before"], True),
            loggers["every list, before"],
        ),
        "random tail, every list logged, propensities now": (
            way(tail, loggers["every list, now"]),
            loggers["every list, now"],
        ),
        f"random tail, sampled within {args.cpu_share:.0%} of a core": (
            way(tail, loggers["sampled"]),
            loggers["sampled"],
        ),
        f"random tail, sampled within {args.small_share:.0%} of a core": (
            way(tail, loggers["sampled, small"]),
            loggers["sampled, small"],
        ),
        f"gated top {args.gate}, no log": (way(gated, None), None),
        f"gated top {args.gate}, sampled within {args.cpu_share:.0%} of a core": (
            way(gated, loggers["sampled, gate"]),
            loggers["sampled, gate"],
        ),
    }
    for u in users[:20]:  # warm-up
        for fn, _ in ways.values():
            fn(u)
    for lg in loggers.values():
        lg.flush(120)
    cpu: dict[str, list[float]] = {w: [] for w in ways}
    wall: dict[str, list[float]] = {w: [] for w in ways}
    order = np.random.default_rng(7)
    at = 20
    load0 = os.getloadavg()[0]
    for _ in range(args.rounds):
        for label in order.permutation(list(ways)).tolist():
            fn, lg = ways[label]
            c, t, n = time.process_time(), time.perf_counter(), 0
            while time.perf_counter() - t < args.seconds:  # saturated: one request after another
                fn(users[at % len(users)])
                at, n = at + 1, n + 1
            if lg is not None:
                lg.flush(120)
            cpu[label].append((time.process_time() - c) / n)
            wall[label].append((time.perf_counter() - t) / n)
    load1 = os.getloadavg()[0]
    out: dict[str, Any] = {"saturated loop": {}}
    rows = []
    for label in ways:
        c, w = float(np.median(cpu[label])) * 1000, float(np.median(wall[label])) * 1000
        lg = ways[label][1]
        st = lg.stats() if lg is not None else None
        entry: dict[str, Any] = {
            "cpu ms per request (median of turns)": c,
            "wall ms per request (median of turns)": w,
            "requests per second on one thread": 1000.0 / w,
            "turns": len(cpu[label]),
        }
        if st is not None:
            entry["logger"] = {
                "offered": st.sampler.offered,
                "sampled": st.sampler.sampled,
                "skipped": st.sampler.skipped,
                "rate at end": st.sampler.rate,
                "cost ms per logged list": st.sampler.cost_ms,
                "logged": st.logged,
                "dropped": st.dropped,
            }
        out["saturated loop"][label] = entry
        rows.append([label, c, w, 1000.0 / w, "" if st is None else f"{st.sampler.sampled}/{st.sampler.offered}"])
    print_table(
        f"saturated loop, {args.items} items, k={K}, turns of {args.seconds:g} s, load {load0:.2f}-{load1:.2f}",
        ["way", "CPU ms/req", "wall ms/req", "req/s", "sampled"],
        rows,
    )
    loop = out["saturated loop"]
    base = loop["random tail, no log"]["cpu ms per request (median of turns)"]
    for label in list(loop)[1:5]:
        loop[label]["cpu ms per request over no log"] = loop[label]["cpu ms per request (median of turns)"] - base
    for lg in loggers.values():
        lg.close()
    out["background"] = background(kept)
    out["posterior snapshot per logged list"] = snapshot_cost()
    out["load_1min"] = [load0, load1]
    out["uptime_start"] = uptime0
    out["argv"] = sys.argv[1:]
    out["data"] = "synthetic (made-up) store"
    write_json(args.out, out)


def background(drafts: dict[str, list[ImpressionDraft]]) -> dict[str, Any]:
    """Per logged list, alone, thread CPU: exact propensities before (:data:`BEFORE`) and now, and
    the largest relative difference between them."""
    out: dict[str, Any] = {}
    rows = []
    for name, ds in drafts.items():
        before, now, worst = [], [], 0.0
        for d in ds:
            t = time.thread_time()
            a = OLD.exploration_probs(d.exploration)
            before.append(time.thread_time() - t)
            t = time.thread_time()
            b = exploration_probs(d.exploration)
            now.append(time.thread_time() - t)
            assert a is not None and b is not None
            for x, y in ((a.slot, b.slot), (a.inclusion, b.inclusion)):
                worst = max(worst, float(np.max(np.abs(y - x) / np.maximum(x, 1e-300))))
        out[name] = {
            "cpu per list, before": percentiles(before),
            "cpu per list, now": percentiles(now),
            "largest relative difference": worst,
            "lists": len(ds),
        }
        rows.append(
            [name, out[name]["cpu per list, before"]["p50_ms"], out[name]["cpu per list, now"]["p50_ms"], worst]
        )
    print_table(
        "background exact propensities per logged list (thread CPU)",
        ["pool", "before p50 ms", "now p50 ms", "max rel diff"],
        rows,
    )
    return out


def snapshot_cost() -> dict[str, Any]:
    """The posterior copy a logged list's request makes after an update (``SlotExplorer._snapshot``),
    and the plays sum the old form read on every request to know whether it was current."""
    out: dict[str, Any] = {}
    for n in (50_000, 1_000_000):
        ex = SlotExplorer.__new__(SlotExplorer)  # only the policy and the snapshot slot are used
        ex.policy = BernoulliTS(n)
        ex._posterior = None
        rng = np.random.default_rng(0)
        ex.policy.update(rng.integers(0, n, 2 * n), (rng.random(2 * n) < 0.02).astype(np.float64))
        copy, key = [], []
        for _ in range(30):
            ex.policy.update(rng.integers(0, n, 1), np.zeros(1))
            t = time.perf_counter()
            ex._snapshot()
            copy.append(time.perf_counter() - t)
            t = time.perf_counter()
            float(ex.policy.plays.sum())
            key.append(time.perf_counter() - t)
        out[f"{n} arms"] = {
            "copy after an update": percentiles(copy),
            "plays sum (old check, every request)": percentiles(key),
            "bytes": 16 * n,
        }
        print(
            f"  {n} arms: posterior copy p50 {out[f'{n} arms']['copy after an update']['p50_ms']:.3f} ms, "
            f"plays sum {out[f'{n} arms']['plays sum (old check, every request)']['p50_ms']:.3f} ms"
        )
    return out


if __name__ == "__main__":
    main()
