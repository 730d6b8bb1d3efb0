"""Off-policy evaluation on the real Open Bandit Dataset sample, ours vs the obp package.

For each campaign (all / men / women): estimate the click rate of ZOZOTOWN's Bernoulli-TS policy
from the *uniform-random* log with IPW, SNIPW, DM and DR, and compare with the ground truth: the
on-policy mean click rate of the BTS log (as obp's own OBD example does). The evaluation policy's
action distribution is BTS with the production Beta prior shipped in obp (``prior_bts.yaml``),
computed by Monte Carlo by both libraries. Each estimator runs on the full log and on bootstrap
resamples of it; we report relative error |V_hat - V| / V, ours next to obp's, on the same rows.

Run: python bench/bench_ope.py [--boot 10] [--n-sim 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.bandit import BanditLog, BernoulliTS, RewardModel, RewardModelConfig, evaluate_policy, load_obd

from common import SHARED, print_table, write_json

ESTIMATORS = ("ipw", "snipw", "dm", "dr")


def obp_prior(campaign: str) -> tuple[np.ndarray, np.ndarray]:
    import obp
    import yaml

    path = Path(os.path.dirname(obp.__file__)) / "policy" / "conf" / "prior_bts.yaml"
    prior = yaml.safe_load(path.read_text())[campaign]
    return np.asarray(prior["alpha"], dtype=float), np.asarray(prior["beta"], dtype=float)


def ours(log: BanditLog, dist: np.ndarray, seed: int) -> dict[str, float]:
    q = RewardModel(RewardModelConfig(folds=3, seed=seed)).fit_predict(log)
    return {name: value for name, value, _ in evaluate_policy(log, dist, q).as_rows()}


def theirs(log: BanditLog, dist: np.ndarray, seed: int) -> dict[str, float]:
    from obp.ope import (
        DirectMethod,
        DoublyRobust,
        InverseProbabilityWeighting,
        OffPolicyEvaluation,
        RegressionModel,
        SelfNormalizedInverseProbabilityWeighting,
    )
    from sklearn.linear_model import LogisticRegression

    feedback: dict[str, Any] = {
        "n_rounds": len(log),
        "n_actions": log.n_actions,
        "action": log.action,
        "position": log.position,
        "reward": log.reward,
        "pscore": log.pscore,
        "context": log.context,
        "action_context": log.action_context,
    }
    # obp's OBD example: logistic regression (C=100, max_iter=10000), 3-fold cross-fitting
    reg = RegressionModel(
        n_actions=log.n_actions,
        len_list=log.len_list,
        action_context=log.action_context,
        base_model=LogisticRegression(C=100, max_iter=10000, random_state=seed),
    )
    action_dist = np.tile(dist, (len(log), 1, 1))
    q = reg.fit_predict(
        context=log.context,
        action=log.action,
        reward=log.reward,
        position=log.position,
        pscore=log.pscore,
        action_dist=action_dist,
        n_folds=3,
        random_state=seed,
    )
    ope = OffPolicyEvaluation(
        bandit_feedback=feedback,
        ope_estimators=[
            InverseProbabilityWeighting(),
            SelfNormalizedInverseProbabilityWeighting(),
            DirectMethod(),
            DoublyRobust(),
        ],
    )
    est = ope.estimate_policy_values(action_dist=action_dist, estimated_rewards_by_reg_model=q)
    names = {"ipw": "ipw", "snipw": "snipw", "dm": "dm", "dr": "dr"}
    return {ours_name: float(est[obp_name]) for ours_name, obp_name in names.items()}


def obp_action_dist(campaign: str, n_actions: int, len_list: int, n_sim: int, seed: int) -> np.ndarray:
    from obp.policy import BernoulliTS as ObpBTS

    pol = ObpBTS(n_actions=n_actions, len_list=len_list, is_zozotown_prior=True, campaign=campaign, random_state=seed)
    return np.asarray(pol.compute_batch_action_dist(n_rounds=1, n_sim=n_sim))[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--boot", type=int, default=10, help="bootstrap resamples per campaign")
    ap.add_argument("--n-sim", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args()

    rows: list[list[Any]] = []
    payload: dict[str, Any] = {"n_boot": args.boot, "n_sim": args.n_sim, "campaigns": {}}
    for campaign in ("all", "men", "women"):
        log = load_obd(
            SHARED / f"obd_random_{campaign}_{campaign}.parquet",
            SHARED / f"obd_random_{campaign}_item_context.parquet",
        )
        truth = float(load_obd(SHARED / f"obd_bts_{campaign}_{campaign}.parquet").reward.mean())
        alpha, beta = obp_prior(campaign)
        t = time.perf_counter()
        our_dist = BernoulliTS(log.n_actions, alpha=alpha, beta=beta).action_dist(log.len_list, args.n_sim)
        t_ours_dist = time.perf_counter() - t
        t = time.perf_counter()
        their_dist = obp_action_dist(campaign, log.n_actions, log.len_list, args.n_sim, args.seed)
        t_obp_dist = time.perf_counter() - t
        tv = 0.5 * float(np.abs(our_dist - their_dist).sum(axis=0).mean())

        rng = np.random.default_rng(args.seed)
        samples = [np.arange(len(log))] + [rng.integers(0, len(log), len(log)) for _ in range(args.boot)]
        est: dict[str, list[list[float]]] = {"ours": [], "obp": []}
        times = {"ours": 0.0, "obp": 0.0}
        for b, idx in enumerate(samples):
            sub = log.take(idx)
            t = time.perf_counter()
            mine = ours(sub, our_dist, args.seed + b)
            times["ours"] += time.perf_counter() - t
            t = time.perf_counter()
            other = theirs(sub, their_dist, args.seed + b)
            times["obp"] += time.perf_counter() - t
            est["ours"].append([mine[e] for e in ESTIMATORS])
            est["obp"].append([other[e] for e in ESTIMATORS])
        res: dict[str, Any] = {
            "ground_truth_bts_ctr": truth,
            "random_log_ctr": float(log.reward.mean()),
            "action_dist_total_variation_ours_vs_obp": tv,
            "action_dist_seconds": {"ours": t_ours_dist, "obp": t_obp_dist},
            "estimate_seconds_per_run": {k: v / len(samples) for k, v in times.items()},
            "estimators": {},
        }
        for j, name in enumerate(ESTIMATORS):
            entry: dict[str, Any] = {}
            for lib in ("ours", "obp"):
                vals = np.array([r[j] for r in est[lib]])
                rel = np.abs(vals - truth) / truth
                entry[lib] = {
                    "estimate_full_log": float(vals[0]),
                    "rel_error_full_log": float(rel[0]),
                    "rel_error_boot_mean": float(rel[1:].mean()) if len(rel) > 1 else float("nan"),
                    "rel_error_boot_std": float(rel[1:].std()) if len(rel) > 1 else float("nan"),
                }
            ratio = entry["ours"]["rel_error_boot_mean"] / entry["obp"]["rel_error_boot_mean"]
            entry["rel_error_ratio_ours_over_obp"] = ratio
            res["estimators"][name] = entry
            rows.append(
                [
                    campaign,
                    name,
                    truth,
                    entry["ours"]["estimate_full_log"],
                    entry["obp"]["estimate_full_log"],
                    entry["ours"]["rel_error_full_log"],
                    entry["obp"]["rel_error_full_log"],
                    f"{entry['ours']['rel_error_boot_mean']:.3f}±{entry['ours']['rel_error_boot_std']:.3f}",
                    f"{entry['obp']['rel_error_boot_mean']:.3f}±{entry['obp']['rel_error_boot_std']:.3f}",
                    ratio,
                ]
            )
        payload["campaigns"][campaign] = res
        print(
            f"{campaign}: truth {truth:.5f}, random-log CTR {log.reward.mean():.5f}, action-dist TV(ours, obp) "
            f"{tv:.4f}, dist time ours {t_ours_dist:.2f}s obp {t_obp_dist:.2f}s",
            flush=True,
        )
    print_table(
        "OPE of Bernoulli-TS from the uniform-random OBD log (truth: on-policy BTS CTR); relative errors",
        [
            "campaign",
            "est",
            "truth",
            "ours",
            "obp",
            "relerr ours",
            "relerr obp",
            f"boot ours (n={args.boot})",
            "boot obp",
            "ratio",
        ],
        rows,
    )
    write_json("ope", payload)


if __name__ == "__main__":
    main()
