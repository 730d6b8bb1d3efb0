"""``shelfwise ope``: off-policy evaluation of a Bernoulli Thompson-sampling policy on a bandit log."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ope", help="estimate a Bernoulli-TS policy's click rate from logged bandit feedback")
    p.add_argument("--logs", type=Path, required=True, help="OBD-format log (Parquet) from the logging policy")
    p.add_argument("--item-context", type=Path, default=None, help="item features (Parquet), for the reward model")
    p.add_argument(
        "--prior",
        type=Path,
        default=None,
        help='JSON {"alpha": [...], "beta": [...]}: the evaluated policy\'s Beta posteriors (default: Beta(1, 1))',
    )
    p.add_argument("--n-sim", type=int, default=100_000, help="Monte Carlo draws for the policy's action distribution")
    p.add_argument("--folds", type=int, default=3, help="cross-fitting folds of the reward model")
    p.add_argument("--truth", type=Path, default=None, help="on-policy log of the evaluated policy, to compare")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shelfwise.bandit import BernoulliTS, RewardModel, RewardModelConfig, ThompsonConfig, evaluate_policy, load_obd

    log = load_obd(args.logs, args.item_context)
    alpha = beta = None
    if args.prior is not None:
        prior = json.loads(Path(args.prior).read_text())
        alpha, beta = np.asarray(prior["alpha"], dtype=float), np.asarray(prior["beta"], dtype=float)
    policy = BernoulliTS(log.n_actions, ThompsonConfig(seed=args.seed), alpha=alpha, beta=beta)
    dist = policy.action_dist(log.len_list, args.n_sim)
    q = RewardModel(RewardModelConfig(folds=args.folds, seed=args.seed)).fit_predict(log)
    report = evaluate_policy(log, dist, q)
    truth = float(load_obd(args.truth).reward.mean()) if args.truth else None
    print(f"{args.logs}: {len(log)} slots, {log.n_actions} actions, {log.len_list} positions")
    print(f"{'estimator':<10} {'value':>10} {'stderr':>10}" + (f" {'rel.err':>8}" if truth else ""))
    for name, value, se in report.as_rows():
        rel = f" {abs(value - truth) / truth:8.3f}" if truth else ""
        print(f"{name:<10} {value:10.5f} {se:10.5f}{rel}")
    if truth is not None:
        print(f"{'on-policy':<10} {truth:10.5f}")
    return 0
