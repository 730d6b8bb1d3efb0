"""Replay simulation on the real uniform-random Open Bandit Dataset logs: a bandit policy's
cumulative clicks against a greedy baseline (Li et al. 2011 replay; bootstrapped stream, Mary et
al. 2014). Peer: obp's own ``BernoulliTS`` run through the same replay via a one-round adapter.

Caveat: each 10,000-row sample has only 38-46 clicks, so the bootstrap stream re-presents the same
rows (same user features, same click) many times. A contextual policy can memorise those rows, so
its bootstrap CTR is optimistic. The bench therefore also runs a *single pass* (each row at most
once) over 20 random orderings of the log: no re-use, but only ~300 matched rounds per run.

Run: python bench/bench_replay.py [--runs 8] [--rows 200000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.bandit import (
    UCB1,
    BanditLog,
    BernoulliTS,
    EpsilonGreedy,
    EpsilonGreedyConfig,
    LinUCB,
    LinUCBConfig,
    Policy,
    ReplayConfig,
    ThompsonConfig,
    UCBConfig,
    feature_dim,
    load_obd,
    replay,
)

from common import RESULTS, SHARED, print_table, write_json


class ObpAdapter:
    """obp's BernoulliTS (one round per call) behind our Policy protocol, for the peer run."""

    def __init__(self, n_arms: int, seed: int) -> None:
        from obp.policy import BernoulliTS as ObpBTS

        self.n_arms = n_arms
        self.pol = ObpBTS(n_actions=n_arms, len_list=1, random_state=seed)

    def select(self, n_rounds: int = 1, k: int = 1, *, features: Any = None, mask: Any = None) -> np.ndarray:
        return np.array([self.pol.select_action()[:k] for _ in range(n_rounds)], dtype=np.int64)

    def update(self, arms: np.ndarray, rewards: np.ndarray, features: Any = None) -> None:
        for a, r in zip(arms.tolist(), rewards.tolist(), strict=True):
            self.pol.update_params(action=int(a), reward=float(r))

    def save(self, path: Any) -> None:
        raise NotImplementedError


def policies(log: BanditLog) -> dict[str, tuple[Callable[[int], Policy], bool]]:
    n = log.n_actions
    return {
        "random": (lambda s: EpsilonGreedy(n, EpsilonGreedyConfig(epsilon=1.0, seed=s)), False),
        "greedy": (lambda s: EpsilonGreedy(n, EpsilonGreedyConfig(epsilon=0.0, seed=s)), False),
        "eps-greedy 0.1": (lambda s: EpsilonGreedy(n, EpsilonGreedyConfig(epsilon=0.1, seed=s)), False),
        "UCB1 c=0.1": (lambda s: UCB1(n, UCBConfig(c=0.1, seed=s)), False),
        "Bernoulli TS": (lambda s: BernoulliTS(n, ThompsonConfig(seed=s)), False),
        "Bernoulli TS prior B(1,100)": (lambda s: BernoulliTS(n, ThompsonConfig(alpha0=1, beta0=100, seed=s)), False),
        "LinUCB a=0.1": (lambda s: LinUCB(n, LinUCBConfig(dim=feature_dim(log), alpha=0.1)), True),
        "obp BernoulliTS (peer)": (lambda s: ObpAdapter(n, s), False),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--campaigns", default="men,all")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    campaigns = args.campaigns.split(",")
    fig, axes = plt.subplots(1, len(campaigns), figsize=(6.5 * len(campaigns), 4.6), squeeze=False)
    payload: dict[str, Any] = {"runs": args.runs, "rows": args.rows, "campaigns": {}}
    table: list[list[Any]] = []
    single_rows: list[list[Any]] = []
    for ax, campaign in zip(axes[0], campaigns, strict=True):
        log = load_obd(SHARED / f"obd_random_{campaign}_{campaign}.parquet")
        out: dict[str, Any] = {}
        for name, (make, contextual) in policies(log).items():
            runs = args.runs if not name.startswith("obp") else max(2, args.runs // 4)
            curves, ctrs, secs = [], [], []
            for s in range(runs):
                t = time.perf_counter()
                res = replay(
                    make(s), log, ReplayConfig(n_rows=args.rows, bootstrap=True, contextual=contextual, seed=s)
                )
                secs.append(time.perf_counter() - t)
                curves.append(res.cumulative)
                ctrs.append(res.ctr)
            m = min(len(c) for c in curves)
            cum = np.stack([c[:m] for c in curves])
            out[name] = {
                "ctr_mean": float(np.mean(ctrs)),
                "ctr_std": float(np.std(ctrs)),
                "clicks_at_common_horizon_mean": float(cum[:, -1].mean()),
                "matched_rounds": m,
                "seconds_per_run": float(np.mean(secs)),
                "runs": runs,
            }
            mean, sd = cum.mean(axis=0), cum.std(axis=0)
            x = np.arange(1, m + 1)
            ax.plot(x, mean, label=f"{name} (CTR {np.mean(ctrs):.4f})", lw=2 if "TS" in name or name == "greedy" else 1)
            ax.fill_between(x, mean - sd, mean + sd, alpha=0.12)
            print(
                f"{campaign} {name}: CTR {np.mean(ctrs):.5f} ± {np.std(ctrs):.5f}, {np.mean(secs):.2f}s/run", flush=True
            )
        single: dict[str, Any] = {}
        for name, (make, contextual) in policies(log).items():
            clicks, matched = [], []
            for s in range(20):
                perm = np.random.default_rng(1000 + s).permutation(len(log))
                res = replay(make(s), log.take(perm), ReplayConfig(contextual=contextual, seed=s))
                clicks.append(res.rewards.sum())
                matched.append(res.matched)
            single[name] = {
                "clicks_per_run": float(np.mean(clicks)),
                "clicks_sd": float(np.std(clicks)),
                "matched_per_run": float(np.mean(matched)),
                "ctr": float(np.sum(clicks) / max(1, np.sum(matched))),
            }
            single_rows.append(
                [
                    campaign,
                    name,
                    single[name]["ctr"],
                    single[name]["clicks_per_run"],
                    single[name]["clicks_sd"],
                    single[name]["matched_per_run"],
                ]
            )
        greedy = out["greedy"]["ctr_mean"]
        for name, r in out.items():
            r["ctr_ratio_vs_greedy"] = r["ctr_mean"] / greedy if greedy > 0 else float("nan")
            table.append([campaign, name, r["ctr_mean"], r["ctr_std"], r["ctr_ratio_vs_greedy"], r["matched_rounds"]])
        payload["campaigns"][campaign] = {
            "n_actions": log.n_actions,
            "log_ctr": float(log.reward.mean()),
            "bootstrap": out,
            "single_pass_20_orderings": single,
        }
        ax.set_title(f"OBD random log '{campaign}' ({log.n_actions} items): replay, {args.rows:,} bootstrap rows")
        ax.set_xlabel("matched rounds")
        ax.set_ylabel("cumulative clicks (mean ± sd over runs)")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / "replay.png"
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")
    print_table(
        "Replay on OBD random logs: click rate of each policy on matched rounds (ratio vs greedy)",
        ["campaign", "policy", "CTR", "sd", "vs greedy", "matched"],
        table,
    )
    print_table(
        "Single pass over 20 random orderings of each log (no re-used rows): clicks per run",
        ["campaign", "policy", "CTR", "clicks/run", "sd", "matched/run"],
        single_rows,
    )
    write_json("replay", payload)


if __name__ == "__main__":
    main()
