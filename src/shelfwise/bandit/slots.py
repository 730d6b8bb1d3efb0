"""Exploration slots in a ranked list: keep the model's ranking for most slots and hand a
configurable share to a bandit that explores new and long-tail items.

:class:`SlotExplorer` is an ``Updatable`` (registered as the ``bandit`` extension): an explored
item a user clicks, carts or buys within ``reward_window_s`` of being shown counts as a success;
one that is not counts as a failure once the window has passed.

With ``SlotConfig.candidates`` > 0 the policy chooses among the tail items the list's own model
scores highest for this shopper (a relevance gate, as candidate retrieval precedes the bandit in
contextual recommenders: Li et al., 2010, "A Contextual-Bandit Approach to Personalized News
Article Recommendation", explore among a pool of relevant articles), not among the whole tail.
Each :class:`Exploration` names the arm sets its picks were drawn from, so the probability that a
pick was shown (its propensity, for off-policy evaluation) is computed over the set it was drawn
from (:meth:`SlotExplorer.propensities`): the gate makes it depend on the shopper's scores, and
items outside the gate had probability 0 of being shown.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.bandit.mab import UCB1, BernoulliTS, EpsilonGreedy
from shelfwise.bandit.policy import BoolArray, FloatArray, IntArray, Policy
from shelfwise.catalog.schema import Catalog
from shelfwise.eval.metrics import head_items
from shelfwise.events.schema import EVENT_WEIGHTS, Event
from shelfwise.results import Results


@dataclass(frozen=True)
class SlotConfig:
    """``explore_share``: fraction of the ``k`` slots given to exploration (rounded, at least one
    when > 0); ``first_slot``: the best position exploration may take (0-based; top slots stay with
    the model); ``head_fraction``: the most popular share of items never explored (long tail only);
    ``reward_window_s``: how long after a showing a positive event counts; ``max_pending``: bound
    on showings awaiting their outcome; ``candidates``: the relevance gate, the policy chooses
    among the ``candidates`` tail items the list's scores rank highest (those with a positive
    score; the whole tail fills what they cannot), 0: among the whole tail."""

    explore_share: float = 0.2
    first_slot: int = 2
    head_fraction: float = 0.2
    reward_window_s: float = 1800.0
    max_pending: int = 100_000
    candidates: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.explore_share <= 1.0 or not 0.0 <= self.head_fraction < 1.0:
            raise ValueError("SlotConfig: explore_share in [0, 1] and head_fraction in [0, 1)")
        if self.first_slot < 0 or not self.reward_window_s > 0 or self.max_pending < 1:
            raise ValueError("SlotConfig: first_slot >= 0, reward_window_s > 0, max_pending >= 1")
        if self.candidates < 0:
            raise ValueError("SlotConfig: candidates >= 0 (0: no relevance gate)")

    def n_explore(self, k: int) -> int:
        return 0 if self.explore_share == 0 else max(1, round(self.explore_share * k))


POSITIVE = EVENT_WEIGHTS.engaged()  # events that reward a showing: click, cart, purchase
Relevance = npt.NDArray[np.floating[Any]]  # a shopper's score of every item (float32 or float64)
SIM_DRAWS = 2_000_000  # posterior draws per batch of :meth:`SlotExplorer.propensities`' selections


@dataclass(frozen=True)
class Draw:
    """One policy selection: ``picks`` drawn from the arms of ``pool`` (the selection's mask)."""

    pool: BoolArray
    picks: IntArray


Posterior = tuple[FloatArray, FloatArray]  # Beta(alpha, beta) of every arm, as a selection saw them


@dataclass(frozen=True)
class Ranking:
    """A score-ranking policy's state as a selection saw it: ``scores``, every arm's (epsilon-greedy's
    empirical means, UCB1's upper bounds; shared, read-only), best first, exact ties in random order;
    ``epsilon``, the probability that a selection ranks its pool uniformly at random instead (one
    coin per selection, as :meth:`~shelfwise.bandit.mab.EpsilonGreedy.select` flips it; 0 for UCB1)."""

    scores: FloatArray
    epsilon: float


@dataclass(frozen=True)
class Exploration:
    """A list with exploration slots: ``results`` (top ``k``), ``slots`` (the explored positions in
    it), ``draws`` (the selections that filled them: the gated pool, then the rest of the tail
    when the gate held too few; one draw from the whole tail without a gate), ``posterior``: a
    Thompson policy's Beta posteriors when it drew them, ``ranking``: an epsilon-greedy or UCB1
    policy's scores (each shared, read-only: exact propensities later,
    :func:`~shelfwise.bandit.propensity.exploration_probs`); None for the other kinds, or unlogged."""

    results: Results
    slots: list[int]
    draws: tuple[Draw, ...]
    posterior: Posterior | None = None
    snapshot_s: float = 0.0  # seconds the request spent copying ``posterior`` / ``ranking`` (0: shared or none)
    ranking: Ranking | None = None

    @property
    def picks(self) -> IntArray:
        return np.concatenate([d.picks for d in self.draws]) if self.draws else np.zeros(0, dtype=np.int64)


def top_rows(pool: BoolArray, scores: Relevance, n: int) -> IntArray:
    """The ``n`` arms of ``pool`` with the highest ``scores``, best first (ties: lower index)."""
    rows = np.flatnonzero(pool)
    s = scores[rows]
    if len(rows) > n > 0:
        keep = s >= -np.partition(-s, n - 1)[n - 1]  # the n-th highest score and above, ties kept
        rows, s = rows[keep], s[keep]
    return np.asarray(rows[np.argsort(-s, kind="stable")][: max(n, 0)], dtype=np.int64)  # rows ascend


def gate(pool: BoolArray, relevance: Relevance, n: int, titles: npt.NDArray[np.int32] | None = None) -> BoolArray:
    """The ``n`` arms of ``pool`` with the highest positive ``relevance`` (ties: lower index); with
    ``titles`` (each row's title code), one per title: its best-scored row."""
    evident = pool & (relevance > 0)
    rows = _best_per_title(np.flatnonzero(evident), relevance, n, titles) if titles is not None else None
    out = np.zeros(len(pool), dtype=bool)
    out[top_rows(evident, relevance, n) if rows is None else rows] = True
    return out


def _best_per_title(rows: IntArray, relevance: Relevance, n: int, titles: npt.NDArray[np.int32]) -> IntArray:
    """The ``n`` best-scored of ``rows`` (ties: lower index), one per title: its best row. Sorts the
    top ``4 n`` first, all of ``rows`` only when those hold fewer than ``n`` titles."""
    m = min(len(rows), 4 * n)
    while True:
        scores = relevance[rows]
        top = rows if m == len(rows) else rows[scores >= -np.partition(-scores, m - 1)[m - 1]]  # ties kept
        ranked = top[np.argsort(-relevance[top], kind="stable")]
        _, first = np.unique(titles[ranked], return_index=True)
        if len(first) >= n or m == len(rows):
            return np.asarray(ranked[np.sort(first)[:n]], dtype=np.int64)
        m = len(rows)


_Seen = tuple[Policy, FloatArray, FloatArray, FloatArray, FloatArray]  # a policy and its prior / count arrays
Snapshot = Posterior | Ranking | None


class SlotExplorer:
    def __init__(self, catalog: Catalog, policy: Policy | None = None, config: SlotConfig | None = None) -> None:
        self.catalog = catalog
        self.policy: Policy = policy or BernoulliTS(len(catalog))
        if self.policy.n_arms != len(catalog):
            raise ValueError(f"policy has {self.policy.n_arms} arms for {len(catalog)} catalog rows")
        self.config = config or SlotConfig()
        self._pending: OrderedDict[tuple[str, int], float] = OrderedDict()
        self._lock = threading.Lock()
        self._posterior: tuple[_Seen, int, Snapshot] | None = None  # what it was read from, at which version

    def _snapshot(self) -> tuple[Snapshot, float]:
        """The policy's state now, what its selections' propensities need, and the seconds copying it
        took: a Thompson policy's posteriors (two arrays of ``n_arms`` floats, 16 bytes an arm), an
        epsilon-greedy policy's means or a UCB1 policy's bounds (:class:`Ranking`, 8 bytes an arm),
        None for another kind. Made again only after an update (the policy's ``version``) and
        shared, read-only, by every list drawn until then; the caller holds the lock. The snapshot
        keeps the policy and arrays it was read from (compared by identity), not their ``id()`` s: a
        freed policy's address, reused by a new one at the same version, never matches."""
        p = self.policy
        if not isinstance(p, BernoulliTS | EpsilonGreedy | UCB1):
            return None, 0.0
        prior = (p.alpha, p.beta) if isinstance(p, BernoulliTS) else (p.plays, p.plays)
        seen: _Seen = (p, *prior, p.plays, p.wins)
        if self._posterior is not None:
            was, version, snap = self._posterior
            if version == p.version and all(a is b for a, b in zip(was, seen, strict=True)):
                return snap, 0.0
        t = time.perf_counter()
        out: Snapshot
        if isinstance(p, BernoulliTS):
            alpha, beta = p.alpha + p.wins, p.beta + np.maximum(p.plays - p.wins, 0.0)
            alpha.flags.writeable = beta.flags.writeable = False
            out = (alpha, beta)
        else:
            scores = p.means() if isinstance(p, EpsilonGreedy) else p.scores()
            scores.flags.writeable = False
            out = Ranking(scores, p.config.epsilon if isinstance(p, EpsilonGreedy) else 0.0)
        self._posterior = (seen, p.version, out)
        return out, time.perf_counter() - t

    def explore(
        self,
        results: Results,
        k: int,
        *,
        user: str = "",
        now: float = 0.0,
        popularity: FloatArray | None = None,
        allowed: BoolArray | None = None,
        relevance: Relevance | None = None,
        distinct: bool = False,
        snapshot: bool = True,
    ) -> Exploration:
        """Top-``k`` of ``results`` with exploration slots filled by the policy. Explored items come
        from ``allowed`` items outside the popularity head and outside ``results``' own top-``k``;
        with ``config.candidates`` and ``relevance`` (this shopper's score of every item, 0 or less:
        no evidence), first from the gate (:func:`gate`) of those. ``distinct``: no two explored
        items share a product title (each pool holds one row per title: the gate its best-scored
        variant, the rest of the tail its first). They score 0 here (the policy ranks nothing),
        which the caller may replace by the item's own model score. ``snapshot``: keep the posterior
        the draws saw (:attr:`Exploration.posterior`, for logging the list's propensities); a list
        that is not logged skips it (an O(``n_arms``) copy after every update)."""
        n = len(self.catalog)
        base = results.top(k)
        n_exp = min(self.config.n_explore(k), max(0, k - self.config.first_slot))
        cand = np.ones(n, dtype=bool) if allowed is None else allowed.copy()
        if popularity is not None:
            cand &= ~head_items(popularity, self.config.head_fraction)
        cand[base.ids] = False
        n_exp = min(n_exp, int(cand.sum()))
        if n_exp == 0:
            return Exploration(base, [], ())
        titles = self.catalog.variant_codes if distinct else None
        tail = self.catalog.one_per_title(cand) if distinct else cand
        n_exp = min(n_exp, int(tail.sum()))
        pools = [tail]
        if self.config.candidates and relevance is not None:
            first = gate(cand, relevance, max(self.config.candidates, n_exp), titles)
            rest = tail & ~first
            if titles is not None:  # the rest of the tail: titles the gate does not hold
                rest &= ~np.isin(titles, titles[first])
            pools = [first, rest] if first.sum() < n_exp else [first]
        draws: list[Draw] = []
        with self._lock:
            snap, copied = self._snapshot() if snapshot else (None, 0.0)
            for pool in pools:
                m = min(n_exp - sum(len(d.picks) for d in draws), int(pool.sum()))
                if m:
                    draws.append(Draw(pool, self.policy.select(1, m, mask=pool)[0]))
        picks = np.concatenate([d.picks for d in draws])
        slots = np.linspace(self.config.first_slot, k - 1, n_exp).round().astype(int).tolist()
        ids = [int(i) for i in base.ids]
        scores = [float(s) for s in base.scores]
        placed: list[int] = []  # where each explored item lands: past the end of a short list, at its end
        for slot, item in zip(slots, picks.tolist(), strict=True):
            at = min(slot, len(ids))
            ids.insert(at, int(item))
            scores.insert(at, 0.0)  # the policy's pick, not a ranking score: not the next item's either
            placed.append(at)
        ids, scores = ids[:k], scores[:k]
        with self._lock:
            for item in picks.tolist():
                self._pending[(user, int(item))] = now
            self._settle(now)
        out = Results(np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32))
        posterior = snap if isinstance(snap, tuple) else None
        ranking = snap if isinstance(snap, Ranking) else None
        return Exploration(out, placed, tuple(draws), posterior, copied, ranking)

    def propensities(self, exploration: Exploration, n_sim: int = 2000) -> FloatArray:
        """The probability that the policy, in its present state, shows each of ``exploration``'s
        picks (in :attr:`Exploration.picks` order): the share of ``n_sim`` repeated selections from
        the pick's own draw pool (the gate, or the tail beyond it) that include it. Relevance-gated
        picks are thus weighed within their gate, the way they were chosen; an item outside every
        pool had probability 0. Monte Carlo for a randomised policy (its random state advances);
        a deterministic one gives 0 or 1. Ask right after :meth:`explore`, before updates."""
        out: list[float] = []
        with self._lock:
            for d in exploration.draws:
                hits = np.zeros(self.policy.n_arms, dtype=np.int64)
                step = max(1, SIM_DRAWS // self._draw_width(d.pool))  # rounds per batch: bounded memory
                for a in range(0, n_sim, step):
                    sims = self.policy.select(min(step, n_sim - a), len(d.picks), mask=d.pool)
                    hits += np.bincount(sims.ravel(), minlength=self.policy.n_arms)
                out += (hits[d.picks] / n_sim).tolist()
        return np.asarray(out, dtype=np.float64)

    def _draw_width(self, pool: BoolArray) -> int:
        """How many arms the policy draws for in one round of a selection from ``pool``: Thompson
        sampling the pool's alone, UCB1 and epsilon-greedy every arm."""
        return int(pool.sum()) if isinstance(self.policy, BernoulliTS) else self.policy.n_arms

    def _settle(self, now: float) -> None:
        """Showings past their window, or over the bound, become failures (caller holds the lock)."""
        done: list[int] = []
        while self._pending:
            (key, t) = next(iter(self._pending.items()))
            if now - t <= self.config.reward_window_s and len(self._pending) <= self.config.max_pending:
                break
            self._pending.popitem(last=False)
            done.append(key[1])
        if done:
            self.policy.update(np.asarray(done, dtype=np.int64), np.zeros(len(done)))

    def update(self, events: Sequence[Event]) -> None:
        wins: list[int] = []
        latest = 0.0
        with self._lock:
            for e in events:
                latest = max(latest, e.timestamp)
                row = self.catalog.get_row(e.item_id) if e.item_id else None
                if row is None or e.type not in POSITIVE:
                    continue
                t = self._pending.pop((e.user_id, row), None)
                if t is not None and e.timestamp - t <= self.config.reward_window_s:
                    wins.append(row)
            if wins:
                self.policy.update(np.asarray(wins, dtype=np.int64), np.ones(len(wins)))
            self._settle(latest)
