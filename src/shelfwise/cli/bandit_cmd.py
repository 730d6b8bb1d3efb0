"""``shelfwise ope``: off-policy evaluation of a Bernoulli Thompson-sampling policy on a bandit log
(``--logs``, OBD format), or of the store's own exploration slots (``--impressions``, the log a
server writes: :mod:`shelfwise.cli.impressions_cmd`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from shelfwise.cli.impressions_cmd import add_impression_args

    p = sub.add_parser(
        "ope",
        help="estimate a Bernoulli-TS policy's click rate from logged bandit feedback (--logs), or the store's own "
        "exploration slots' from its impression log (--impressions)",
    )
    p.add_argument(
        "--logs", type=Path, default=None, help="OBD-format log (Parquet or the OBD CSV) of the logging policy"
    )
    add_impression_args(p)
    p.add_argument("--item-context", type=Path, default=None, help="item features (Parquet/CSV), for the reward model")
    p.add_argument(
        "--prior",
        type=Path,
        default=None,
        help='JSON {"alpha": [...], "beta": [...]}: the evaluated policy\'s Beta posteriors (default: Beta(1, 1))',
    )
    p.add_argument("--n-sim", type=int, default=100_000, help="Monte Carlo draws for the policy's action distribution")
    p.add_argument("--folds", type=int, default=3, help="cross-fitting folds of the reward model")
    p.add_argument("--truth", type=Path, default=None, help="on-policy log of the evaluated policy, to compare")
    p.add_argument("--strict", action="store_true", help="fail on any bad log row instead of skipping it")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shelfwise.bandit import ThompsonOPEConfig, evaluate_bernoulli_ts, read_obd
    from shelfwise.cli.impressions_cmd import impressions_beside, run_impressions

    if args.logs is None and args.impressions is None and args.events_db is not None:
        args.impressions = impressions_beside(args.events_db)  # --impressions' default, as its help says
    if (args.logs is None) == (args.impressions is None):
        raise ValueError("give one of --logs (an OBD-format log) or --impressions (a server's impression log)")
    if args.impressions is not None:
        return run_impressions(args)

    loaded = read_obd(args.logs, args.item_context, strict=args.strict)
    truth = read_obd(args.truth, strict=args.strict) if args.truth else None
    alpha, beta = _read_prior(args.prior, loaded.log.n_actions, args.logs) if args.prior is not None else (None, None)
    res = evaluate_bernoulli_ts(
        loaded.log,
        alpha,
        beta,
        config=ThompsonOPEConfig(n_sim=args.n_sim, folds=args.folds, seed=args.seed),
        truth=truth.log if truth is not None else None,
    )
    for err in [*loaded.errors, *(truth.errors if truth is not None else [])]:
        print(f"skipped: {err}")
    print(f"{args.logs}: {res.n_slots} slots, {res.n_actions} actions, {res.len_list} positions")
    if args.prior is not None:
        print(f"evaluated policy: Bernoulli Thompson sampling with the Beta posteriors in {args.prior}")
    else:
        print(
            "evaluated policy: Bernoulli Thompson sampling with Beta(1, 1) for every action (no --prior): "
            "a random ranking"
        )
    rows = res.rows()
    show_rel = any(r.rel_error is not None for r in rows)
    print(f"{'estimator':<10} {'value':>10} {'stderr':>10}" + (f" {'rel.err':>8}" if show_rel else ""))
    for r in rows:
        rel = f" {r.rel_error:8.3f}" if r.rel_error is not None else ""
        print(f"{r.name:<10} {r.value:10.5f} {r.stderr:10.5f}{rel}")
    if res.truth is not None:
        print(f"{'on-policy':<10} {res.truth:10.5f}")
    for note in res.notes():
        print(f"note: {note}")
    return 0


def _read_prior(path: Path, n_actions: int, logs: Path) -> tuple[np.ndarray, np.ndarray]:
    """The evaluated policy's Beta(alpha, beta) posteriors; errors name the file and what is wrong."""
    from shelfwise.errors import ConfigError

    if not path.exists():
        raise ConfigError(path, "no such file (--prior)")
    try:
        prior = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(path, f"not JSON: {exc.msg}", exc.lineno, exc.colno) from exc
    if not isinstance(prior, dict) or "alpha" not in prior or "beta" not in prior:
        raise ConfigError(path, 'expected {"alpha": [...], "beta": [...]}, one value per action')
    try:
        alpha, beta = np.asarray(prior["alpha"], dtype=float), np.asarray(prior["beta"], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(path, f"'alpha' and 'beta' must be lists of numbers ({exc})") from exc
    if alpha.shape != (n_actions,) or beta.shape != (n_actions,):
        raise ConfigError(
            path,
            f"'alpha' and 'beta' need {n_actions} values (one per action, item_id 0..{n_actions - 1} in {logs}), "
            f"got {alpha.size} and {beta.size}",
        )
    if not (np.isfinite(alpha).all() and np.isfinite(beta).all() and (alpha > 0).all() and (beta > 0).all()):
        raise ConfigError(path, "'alpha' and 'beta' must be positive numbers")
    return alpha, beta
