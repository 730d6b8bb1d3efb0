"""Leave-one-out (and leave-one-group-out) values: ``U(all) - U(all without player i)``.

The classic influence baseline (Cook, 1977; used as the LOO baseline by Ghorbani & Zou 2019).
With groups or sources as players it answers "what do we lose if this query / category /
time window / data file is dropped", in ``n_players + 1`` utility evaluations.
"""

from __future__ import annotations

import time

import numpy as np

from shelfwise.valuation.base import Grain, Utility, Values, all_players


def leave_one_out(utility: Utility, names: tuple[str, ...], grain: Grain = "group") -> Values:
    """Leave-one-out value of every player of ``utility``."""
    n = utility.n_players
    if len(names) != n:
        raise ValueError(f"leave_one_out: {len(names)} names for {n} players")
    t0 = time.perf_counter()
    everyone = all_players(utility)
    full = utility(everyone)
    values = np.empty(n, dtype=np.float64)
    for i in range(n):
        values[i] = full - utility(np.delete(everyone, i))
    return Values(
        "loo",
        grain,
        names,
        values,
        np.zeros(n),
        evaluations=n + 1,
        seconds=time.perf_counter() - t0,
        info={"utility_all": float(full)},
    )
