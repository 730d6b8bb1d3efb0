"""Exact propensities of a Thompson-sampling selection, for off-policy evaluation of served lists.

:class:`~shelfwise.bandit.mab.BernoulliTS` picks the ``m`` arms of a pool whose posterior draws
``X_a ~ Beta(a_a, b_a)`` are highest, best first. The probability that arm ``i`` lands at rank ``j``
(0-based) is

    P(i at rank j) = integral over x of f_i(x) * P(exactly j other arms of the pool draw above x) dx

and the probability that it is picked at all (into any of the ``m`` slots) sums ranks 0..m-1.
Arms sharing one posterior are one group (a store's tail is mostly unplayed arms with the prior,
and played arms with few distinct (plays, wins) counts), so the count of others above ``x`` is a
product over groups of binomials, truncated at degree ``m``: ``O(groups * m^2)`` per grid point.
The integral runs over the quantiles of ``i``'s own posterior (``u = F_i(x)``), on a grid that is
uniform in ``u`` and log-spaced towards both ends, where a large pool's mass sits (for ``N`` arms
with one prior the answer is ``1 / N`` per rank, peaked within ``1 / N`` of ``u = 1``).

Unlike :meth:`~shelfwise.bandit.slots.SlotExplorer.propensities` (Monte Carlo over the live
policy), this reads a posterior snapshot, so it may run later, on another thread, and it never
answers 0 for an arm that was shown from a pool of 40,000 (2,000 simulated selections would).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import betainc, betaincinv, gammaln

from shelfwise.bandit.policy import BoolArray, FloatArray, IntArray

if TYPE_CHECKING:
    from shelfwise.bandit.slots import Exploration

_UNIFORM, _ENDS = 1024, 512  # grid points: uniform in u, and log-spaced towards each end
_DEEPEST = 14  # the ends' grid reaches 1e-14 from 0 and from 1


@dataclass(frozen=True)
class RankProbs:
    """Per pick (in pick order, the ``j``-th pick filling the ``j``-th slot of its draw): ``slot``, the
    probability of landing at exactly its rank; ``inclusion``, of being picked at any rank."""

    slot: FloatArray
    inclusion: FloatArray


def _grid() -> FloatArray:
    ends = np.logspace(-_DEEPEST, -1, _ENDS)
    mid = (np.arange(_UNIFORM) + 0.5) / _UNIFORM
    return np.unique(np.concatenate([[0.0, 1.0], ends, mid, 1.0 - ends]))


_U = _grid()


def _log_binom(n: FloatArray, j: int) -> FloatArray:
    return np.asarray(gammaln(n + 1.0) - gammaln(j + 1.0) - gammaln(n - j + 1.0))


def _others_above(F: FloatArray, counts: FloatArray, m: int) -> FloatArray:
    """(m, T): P(exactly j of the other arms draw above each grid point), j < m; ``F`` (groups, T) is
    each group's CDF there, ``counts`` how many other arms each group holds."""
    with np.errstate(divide="ignore"):
        log_f, log_s = np.log(F), np.log1p(-F)
    log_f, log_s = np.maximum(log_f, -1e300), np.maximum(log_s, -1e300)  # 0 * log 0 is 0, not nan
    poly = np.zeros((m, F.shape[1]))
    poly[0] = 1.0
    for g in np.flatnonzero(counts > 0):
        n = counts[g]
        factor = np.zeros((m, F.shape[1]))
        for j in range(min(m, int(n) + 1)):
            factor[j] = np.exp(_log_binom(np.asarray(n), j) + (n - j) * log_f[g] + j * log_s[g])
        poly = np.stack([sum(poly[i] * factor[d - i] for i in range(d + 1)) for d in range(m)])
    return poly


def ts_rank_probs(alpha: FloatArray, beta: FloatArray, pool: BoolArray, picks: IntArray) -> RankProbs:
    """Exact (to quadrature) rank and inclusion probabilities of ``picks``, the arms a Thompson
    selection of ``len(picks)`` drew from ``pool`` (a mask over arms) with posteriors
    Beta(``alpha``, ``beta``) (full-length arrays: the snapshot the selection saw)."""
    picks = np.asarray(picks, dtype=np.int64)
    m = len(picks)
    if m == 0:
        return RankProbs(np.zeros(0), np.zeros(0))
    if not pool[picks].all():
        raise ValueError("ts_rank_probs: every pick must be in its pool")
    keys, counts = np.unique(alpha[pool] + 1j * beta[pool], return_counts=True)  # one group per posterior
    ga, gb = keys.real[:, None], keys.imag[:, None]
    slot, inclusion = np.zeros(m), np.zeros(m)
    for r, arm in enumerate(picks.tolist()):
        x = betaincinv(alpha[arm], beta[arm], _U)
        F = betainc(ga, gb, x[None, :])
        others = counts.astype(np.float64)
        others[int(np.searchsorted(keys, alpha[arm] + 1j * beta[arm]))] -= 1.0
        above = _others_above(F, others, m)
        slot[r] = float(np.trapezoid(above[r], _U)) if r < m else 0.0
        inclusion[r] = float(np.trapezoid(above.sum(axis=0), _U))
    return RankProbs(np.clip(slot, 0.0, 1.0), np.clip(inclusion, 0.0, 1.0))


def exploration_probs(exploration: Exploration) -> RankProbs | None:
    """:func:`ts_rank_probs` of every draw of ``exploration``, in :attr:`Exploration.picks` order
    (each pick's rank is within its own draw); None when its policy was not Thompson sampling
    (no posterior snapshot)."""
    if exploration.posterior is None:
        return None
    alpha, beta = exploration.posterior
    parts = [ts_rank_probs(alpha, beta, d.pool, d.picks) for d in exploration.draws]
    return RankProbs(
        np.concatenate([p.slot for p in parts]) if parts else np.zeros(0),
        np.concatenate([p.inclusion for p in parts]) if parts else np.zeros(0),
    )
