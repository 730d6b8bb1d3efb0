"""Truncated Monte-Carlo Shapley (TMC-Shapley) with a convergence-based stopping criterion.

Ghorbani & Zou 2019, "Data Shapley: equitable valuation of data for machine learning" (ICML),
Algorithm 1: sample random permutations of the players, add them one at a time and record each
player's marginal contribution to the utility; the mean over permutations estimates the Shapley
value. *Truncation*: once the running coalition's utility is within ``truncation`` (relative)
of the full-data utility, the remaining marginals in that permutation are taken as 0 (as in
pyDVL's ``RelativeTruncation``), which saves most evaluations on large player sets.

Stopping: permutations run in ``chains`` interleaved chains and stop once the Gelman-Rubin
potential scale reduction (Gelman & Rubin 1992, "Inference from iterative simulation using
multiple sequences") of every player's running mean falls below ``rhat`` -- or, with
``criterion="change"``, once the mean relative change of the values over the last batch falls
below ``rtol`` (the criterion of the Data Shapley reference code) -- or at ``max_permutations``.
Utilities that implement :class:`ScanUtility` (the KNN) compute all prefixes incrementally.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from shelfwise.valuation.base import F64, Grain, ScanUtility, Utility, Values, all_players


@dataclass(frozen=True)
class TMCConfig:
    max_permutations: int = 500
    min_permutations: int = 20  # per run, before the stopping rule may fire
    truncation: float = 0.01  # relative distance to U(all) at which a permutation is cut
    criterion: Literal["rhat", "change"] = "rhat"
    rhat: float = 1.05
    rtol: float = 0.01
    chains: int = 4
    batch: int = 8  # permutations between convergence checks
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_permutations < 1 or self.min_permutations < 1:
            raise ValueError("TMCConfig: permutation counts must be >= 1")
        if self.criterion not in ("rhat", "change"):
            raise ValueError("TMCConfig.criterion must be 'rhat' or 'change'")
        if self.truncation < 0 or self.rtol <= 0 or self.rhat <= 1.0:
            raise ValueError("TMCConfig: truncation >= 0, rtol > 0 and rhat > 1 required")
        if self.chains < 2 or self.batch < 1:
            raise ValueError("TMCConfig: chains >= 2 and batch >= 1 required")


def gelman_rubin(sums: F64, sq_sums: F64, counts: F64) -> F64:
    """Per-player R-hat from per-chain sums, sums of squares and counts (all ``(chains, players)``).

    Players with no within-chain variance (e.g. always truncated to 0) get R-hat = 1.
    """
    n = np.maximum(counts, 1.0)
    means = sums / n
    var = np.maximum(sq_sums / n - means**2, 0.0) * n / np.maximum(n - 1.0, 1.0)
    w = var.mean(axis=0)
    n_mean = n.mean(axis=0)
    b = n_mean * means.var(axis=0, ddof=1)
    v = (n_mean - 1.0) / n_mean * w + b / n_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(np.where(w > 0, v / w, 1.0))
    return np.nan_to_num(r, nan=1.0, posinf=np.inf)


def _marginals(
    utility: Utility, order: np.ndarray, u_empty: float, u_full: float, truncation: float
) -> tuple[F64, int]:
    """Marginal contribution of each player in ``order`` (aligned with ``order``) and evaluations used."""
    n = len(order)
    tol = truncation * abs(u_full)
    marg = np.zeros(n, dtype=np.float64)
    if isinstance(utility, ScanUtility):
        prefix = utility.scan(order)
        close = np.flatnonzero(np.abs(prefix - u_full) <= tol) if truncation > 0 else np.empty(0, dtype=np.int64)
        stop = int(close[0]) + 1 if len(close) else n
        prev = np.concatenate([[u_empty], prefix[: stop - 1]])
        marg[:stop] = prefix[:stop] - prev
        return marg, stop
    last = u_empty
    for i in range(n):
        u = utility(order[: i + 1])
        marg[i] = u - last
        last = u
        if truncation > 0 and abs(u - u_full) <= tol:
            return marg, i + 1
    return marg, n


def tmc_shapley(
    utility: Utility,
    names: tuple[str, ...],
    grain: Grain = "sample",
    config: TMCConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> Values:
    """TMC-Shapley estimate of every player's value; ``info`` records permutations and max R-hat.

    ``progress`` (e.g. ``print``) gets a line after every batch of permutations."""
    cfg = config or TMCConfig()
    n = utility.n_players
    if len(names) != n:
        raise ValueError(f"tmc_shapley: {len(names)} names for {n} players")
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    u_empty = utility(np.empty(0, dtype=np.int64))
    u_full = utility(all_players(utility))
    evals = 2
    sums = np.zeros((cfg.chains, n))
    sq = np.zeros((cfg.chains, n))
    counts = np.zeros((cfg.chains, n))
    done, converged = 0, False
    rhat_max, change = float("inf"), float("inf")
    last = np.zeros(n)
    first = max(cfg.min_permutations, 2 * cfg.chains)  # permutations before R-hat is computed or a stop
    while done < cfg.max_permutations:
        for _ in range(min(cfg.batch, cfg.max_permutations - done)):
            chain = done % cfg.chains
            order = rng.permutation(n).astype(np.int64)
            marg, used = _marginals(utility, order, u_empty, u_full, cfg.truncation)
            evals += used
            sums[chain, order] += marg
            sq[chain, order] += marg**2
            counts[chain, order] += 1.0
            done += 1
        est = sums.sum(axis=0) / np.maximum(counts.sum(axis=0), 1.0)
        scale = max(float(np.abs(est).mean()), 1e-12)
        change = float(np.abs(est - last).mean() / scale)
        last = est
        if done >= first:
            rhat_max = float(gelman_rubin(sums, sq, counts).max())
        if progress is not None:
            rhat_text = f"{rhat_max:.3f}" if done >= first else f"not yet (first at {first} permutations)"
            progress(
                f"  tmc-shapley: {done}/{cfg.max_permutations} permutations, {evals} evaluations, "
                f"max R-hat {rhat_text} (stops below {cfg.rhat}), {time.perf_counter() - t0:.0f} s"
            )
        stop = (cfg.criterion == "rhat" and rhat_max < cfg.rhat) or (cfg.criterion == "change" and change < cfg.rtol)
        if done >= first and stop:
            converged = True
            break
    if progress is not None and not converged:
        where = (
            f"max R-hat {rhat_max:.3f} (needs < {cfg.rhat})"
            if cfg.criterion == "rhat"
            else f"mean relative change {change:.4f} (needs < {cfg.rtol})"
        )
        progress(
            f"  tmc-shapley: NOT converged: stopped at the permutation cap ({cfg.max_permutations}, "
            f"--max-permutations) with {where}; raise the cap for stable values"
        )
    total = counts.sum(axis=0)
    mean = sums.sum(axis=0) / np.maximum(total, 1.0)
    var = np.maximum(sq.sum(axis=0) / np.maximum(total, 1.0) - mean**2, 0.0)
    stderr = np.sqrt(var / np.maximum(total - 1.0, 1.0))
    return Values(
        "tmc-shapley",
        grain,
        names,
        mean,
        stderr,
        evaluations=evals,
        seconds=time.perf_counter() - t0,
        converged=converged,
        info={
            "permutations": float(done),
            "max_rhat": rhat_max,
            "last_change": change,
            "utility_all": float(u_full),
            "utility_empty": float(u_empty),
        },
    )
