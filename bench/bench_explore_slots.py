"""Per-request cost of the exploration slots' two catalog-sized steps at 50,000 items, the code
before session 17 and now, in the same run, alternating (load noted):

* the popular head (``eval.metrics.head_items``): a stable argsort of -popularity (before) vs a
  linear-time partition at the edge value (now; the same mask, tested in tests/eval/test_metrics.py);
* Thompson sampling over the allowed arms (``bandit.mab.BernoulliTS.select``): numpy's beta draws
  for every arm, then the mask (before) vs Beta as a ratio of gammas for the allowed arms only (now).

Run: python bench/bench_explore_slots.py [--items 50000] [--calls 300]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.bandit.mab import BernoulliTS
from shelfwise.bandit.policy import top_k
from shelfwise.eval.metrics import head_items

from common import percentiles, print_table, time_calls, write_json


def head_items_sorted(popularity: np.ndarray, head_fraction: float = 0.2) -> np.ndarray:
    """The head as computed before session 17: a stable sort of -popularity."""
    pop = np.asarray(popularity, dtype=np.float64)
    n_head = math.ceil(head_fraction * len(pop))
    head = np.zeros(len(pop), dtype=bool)
    if n_head:
        head[np.argsort(-pop, kind="stable")[:n_head]] = True
    return head


def select_beta(ts: BernoulliTS, k: int, mask: np.ndarray) -> np.ndarray:
    """Thompson selection as before session 17: numpy beta draws for every arm, then the mask."""
    a = ts.alpha + ts.wins
    b = ts.beta + np.maximum(ts.plays - ts.wins, 0.0)
    return top_k(ts.rng.beta(a, b, size=(1, ts.n_arms)), k, mask)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--out", default="explore_slots")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    pop = np.floor(rng.pareto(1.2, args.items) * 10)  # counts with many ties, as interaction counts have
    ts = BernoulliTS(args.items)
    played = rng.choice(args.items, args.items // 10, replace=False)
    ts.update(played, (rng.random(len(played)) < 0.05).astype(np.float64))
    mask = ~head_items(pop, 0.2)
    assert (head_items(pop, 0.2) == head_items_sorted(pop, 0.2)).all()
    steps = {
        "head: stable argsort (before)": lambda _: head_items_sorted(pop),
        "head: partition at the edge (now)": lambda _: head_items(pop),
        "Thompson: beta, every arm (before)": lambda _: select_beta(ts, 4, mask),
        "Thompson: gamma ratio, allowed arms (now)": lambda _: ts.select(1, 4, mask=mask),
    }
    inputs = list(range(args.calls))
    runs: dict[str, list[float]] = {name: [] for name in steps}
    loads = [os.getloadavg()[0]]
    for _ in range(3):  # alternating rounds: each sees the same machine
        for name, fn in steps.items():
            time_calls(fn, inputs[:20])
            runs[name] += time_calls(fn, inputs)
        loads.append(os.getloadavg()[0])
    stats = {name: percentiles(v) for name, v in runs.items()}
    names = list(steps)
    ratios = {
        "head before / now (p50)": stats[names[0]]["p50_ms"] / stats[names[1]]["p50_ms"],
        "Thompson before / now (p50)": stats[names[2]]["p50_ms"] / stats[names[3]]["p50_ms"],
    }
    rows = [[n, round(s["p50_ms"], 3), round(s["p99_ms"], 3)] for n, s in stats.items()]
    print_table(f"{args.items} items, load {min(loads):.2f}-{max(loads):.2f}", ["step", "p50 ms", "p99 ms"], rows)
    print({k: round(v, 2) for k, v in ratios.items()})
    write_json(args.out, {"items": args.items, "load_1min": loads, "latency": stats, "ratios": ratios})


if __name__ == "__main__":
    main()
