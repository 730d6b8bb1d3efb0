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

Epsilon-greedy and UCB1 rank a pool by a score (:func:`ranked_rank_probs`): in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
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


ComplexArray = npt.NDArray[np.complex128]
_TINY = 1e-30  # a grid point whose integrand is provably below this (relative to 1 / pool) is dropped


def _others_above(F: FloatArray, counts: FloatArray, m: int) -> FloatArray:
    """(m, T): P(exactly j of the other arms draw above each grid point), j < m; ``F`` (groups, T) is
    each group's CDF there, ``counts`` how many other arms each group holds. Each group's binomial
    terms are made at once for all its degrees; groups are multiplied in place, highest degree first."""
    keep = counts > 0
    F, counts = F[keep], counts[keep]
    with np.errstate(divide="ignore"):
        log_f, log_s = np.log(F), np.log1p(-F)
    log_f, log_s = np.maximum(log_f, -1e300), np.maximum(log_s, -1e300)  # 0 * log 0 is 0, not nan
    j = np.arange(m, dtype=np.float64)
    log_binom = gammaln(counts[:, None] + 1.0) - gammaln(j + 1.0) - gammaln(np.maximum(counts[:, None] - j + 1.0, 1.0))
    poly = np.zeros((m, F.shape[1]))
    poly[0] = 1.0
    for g in range(len(counts)):
        d = min(m, int(counts[g]) + 1)  # a group of n arms has no term above degree n
        jj = j[:d, None]
        factor = np.exp(log_binom[g, :d, None] + (counts[g] - jj) * log_f[g] + jj * log_s[g])
        for top in range(m - 1, -1, -1):  # poly[top] from the old poly[0..top]: update downwards
            lo = max(0, top - d + 1)
            poly[top] = np.einsum("it,it->t", poly[lo : top + 1], factor[top - lo :: -1][: top + 1 - lo])
    return poly


def _kept(x: FloatArray, alpha: float, beta: float, n: float, m: int) -> BoolArray:
    """Grid points where fewer than ``m`` of ``n`` arms with posterior Beta(alpha, beta) may draw
    above ``x`` with probability above :data:`_TINY`: elsewhere the integrand is below it (those arms
    alone already exceed the bound; the Chernoff bound P(Bin < m) <= exp(-mu) (e mu / m)^m, mu > m)."""
    mu = n * (1.0 - betainc(alpha, beta, x))
    with np.errstate(divide="ignore"):
        log_bound = -mu + m * (1.0 + np.log(np.maximum(mu, 1e-300) / m))
    return ~((mu > m) & (log_bound < np.log(_TINY)))


_CODES = 1 << 24  # distinct (alpha, beta) integer pairs a bincount may span


def _groups(alpha: FloatArray, beta: FloatArray) -> tuple[ComplexArray, IntArray]:
    """The distinct posteriors among the pool's arms (``alpha + 1j beta``, sorted) and how many arms
    hold each. Counts from a prior of whole numbers are whole: then one ``bincount`` of the pair's
    code (O(arms), no sort; not timed alone: ``bench_impression_log.py`` times the whole
    computation); otherwise a sort."""
    lo_a, lo_b = float(alpha.min()), float(beta.min())
    span_a, span_b = float(alpha.max()) - lo_a + 1, float(beta.max()) - lo_b + 1
    if span_a * span_b <= _CODES and (alpha == np.floor(alpha)).all() and (beta == np.floor(beta)).all():
        code = (alpha - lo_a).astype(np.int64) * int(span_b) + (beta - lo_b).astype(np.int64)
        counts = np.bincount(code)
        held = np.flatnonzero(counts)
        return (lo_a + held // int(span_b)) + 1j * (lo_b + held % int(span_b)), counts[held]
    keys, counts = np.unique(alpha + 1j * beta, return_counts=True)
    return keys, counts


def _in_pool(picks: IntArray, pool: BoolArray, who: str) -> IntArray:
    """``picks`` as int64 indices, each in ``pool``, else a ValueError naming ``who``."""
    out = np.asarray(picks, dtype=np.int64)
    if len(out) and not pool[out].all():
        raise ValueError(f"{who}: every pick must be in its pool")
    return out


def ts_rank_probs(
    alpha: FloatArray, beta: FloatArray, pool: BoolArray, picks: IntArray, *, trim: bool = True
) -> RankProbs:
    """Exact (to quadrature) rank and inclusion probabilities of ``picks``, the arms a Thompson
    selection of ``len(picks)`` drew from ``pool`` (a mask over arms) with posteriors
    Beta(``alpha``, ``beta``) (full-length arrays: the snapshot the selection saw).

    Picks sharing a posterior share one integrand (only the rank read from it differs), so a list
    of unplayed picks costs one. ``trim``: leave out the grid points where the pool's largest group
    alone makes the integrand provably below :data:`_TINY` (:func:`_kept`; most of the grid for a
    large pool, whose mass sits within a few ``1 / N`` of ``u = 1``); ``trim=False`` integrates the
    whole grid (the reference the trimmed form is measured against)."""
    picks = _in_pool(picks, pool, "ts_rank_probs")
    m = len(picks)
    if m == 0:
        return RankProbs(np.zeros(0), np.zeros(0))
    keys, counts = _groups(alpha[pool], beta[pool])  # one group per posterior in the pool
    ga, gb = keys.real[:, None], keys.imag[:, None]
    big = int(np.argmax(counts))
    slot, inclusion = np.zeros(m), np.zeros(m)
    pick_keys = alpha[picks] + 1j * beta[picks]
    for key in np.unique(pick_keys):
        mine = np.flatnonzero(pick_keys == key)
        at = int(np.searchsorted(keys, key))
        others = counts.astype(np.float64)
        others[at] -= 1.0
        x = betaincinv(key.real, key.imag, _U)
        u = _U
        if trim:
            keep = _kept(x, keys[big].real, keys[big].imag, others[big], m)
            keep |= np.roll(keep, 1) | np.roll(keep, -1)  # the trapezoids at the kept span's edges
            x, u = x[keep], _U[keep]
        if len(u) < 2:
            continue  # the integrand is below _TINY everywhere: 0
        above = _others_above(betainc(ga, gb, x[None, :]), others, m)
        inclusion[mine] = float(np.trapezoid(above.sum(axis=0), u))
        for r in mine.tolist():
            slot[r] = float(np.trapezoid(above[r], u))
    return RankProbs(np.clip(slot, 0.0, 1.0), np.clip(inclusion, 0.0, 1.0))


def ranked_rank_probs(scores: FloatArray, epsilon: float, pool: BoolArray, picks: IntArray) -> RankProbs:
    """Exact rank and inclusion probabilities of ``picks``, the arms one selection of ``len(picks)``
    (``m``) drew from ``pool`` (``N`` arms) by :meth:`~shelfwise.bandit.mab.EpsilonGreedy.select`
    (``scores``: the means it saw) or :meth:`~shelfwise.bandit.mab.UCB1.select` (its bounds,
    ``epsilon`` 0). That code flips one coin per selection: with probability ``epsilon`` it ranks the
    whole pool by uniform noise (a uniformly random order: by symmetry every arm lands at every rank
    with probability ``1 / N``, the earlier ranks being filled without replacement notwithstanding), else
    by ``scores`` with exact ties in uniformly random order (the noise added, 1e-9 or 1e-6, is below
    any gap between distinct scores: two means of counts under ~30,000 plays differ by more than
    1e-9; UCB1 bounds within 1e-6 of each other that are not equal are read as ordered). For a pick
    ``i`` at rank ``j`` with ``a`` pool arms scoring above it and ``t`` (itself included) equal:

        P(i at rank j) = epsilon / N + (1 - epsilon) * [a <= j < a + t] / t
        P(i picked)    = epsilon * m / N + (1 - epsilon) * clip(m - a, 0, t) / t

    Both condition on nothing the selection drew: they are the marginal probabilities the
    estimators weigh a slot by, as :func:`ts_rank_probs`' are."""
    picks = _in_pool(picks, pool, "ranked_rank_probs")
    m = len(picks)
    if m == 0:
        return RankProbs(np.zeros(0), np.zeros(0))
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"ranked_rank_probs: epsilon must be in [0, 1], got {epsilon}")
    s = scores[pool]
    n = len(s)
    mine = scores[picks][:, None]
    above = (s[None, :] > mine).sum(axis=1).astype(np.float64)  # O(m N): m is a few slots
    tied = (s[None, :] == mine).sum(axis=1).astype(np.float64)
    j = np.arange(m, dtype=np.float64)
    greedy_slot = np.where((above <= j) & (j < above + tied), 1.0 / tied, 0.0)
    greedy_in = np.clip(m - above, 0.0, tied) / tied
    slot = epsilon / n + (1.0 - epsilon) * greedy_slot
    inclusion = epsilon * m / n + (1.0 - epsilon) * greedy_in
    return RankProbs(np.clip(slot, 0.0, 1.0), np.clip(inclusion, 0.0, 1.0))


def exploration_probs(exploration: Exploration) -> RankProbs | None:
    """:func:`ts_rank_probs` (Thompson sampling) or :func:`ranked_rank_probs` (epsilon-greedy,
    UCB1) of every draw of ``exploration``, in :attr:`Exploration.picks` order (each pick's rank is
    within its own draw); None when it kept no snapshot of its policy (another kind, or unlogged)."""
    post, rank = exploration.posterior, exploration.ranking
    if post is not None:
        parts = [ts_rank_probs(post[0], post[1], d.pool, d.picks) for d in exploration.draws]
    elif rank is not None:
        parts = [ranked_rank_probs(rank.scores, rank.epsilon, d.pool, d.picks) for d in exploration.draws]
    else:
        return None
    return RankProbs(
        np.concatenate([p.slot for p in parts]) if parts else np.zeros(0),
        np.concatenate([p.inclusion for p in parts]) if parts else np.zeros(0),
    )
