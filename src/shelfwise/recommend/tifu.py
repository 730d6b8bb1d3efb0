"""TIFU-KNN ("tifu"): the shopper's own time-decayed basket frequencies, blended with their neighbours'.

Hu, He, Sun, Wang & Li, 2020, "Modeling Personalized Item Frequency Information for Next-basket
Recommendation" (SIGIR). Each session is a basket (a binary item vector). A shopper's baskets,
newest first, fall into groups of ``group_size``; inside a group the ``j``-th newest basket counts
``basket_decay ** j`` and the group is their sum over its size; the ``g``-th newest group counts
``group_decay ** g`` and the user vector is the sum over the number of groups. The score of a known
shopper is ``alpha`` x their vector plus ``1 - alpha`` x the mean vector of their ``neighbours``
most cosine-similar shoppers (neighbours with no item in common are left out, and the mean is
still over ``neighbours``: they would add items unrelated to the shopper's).

Unlike the ``repeat`` component (recency-decayed counts of every event), the decay here is by
basket order, not clock time, and a basket counts an item once: a shopper who orders monthly and
one who orders daily get the same profile shape.

Live events: the shopper's own vector is read from the context's events
(:attr:`Context.timeline <shelfwise.recommend.base.Context.timeline>`, the history as serving
holds it now, live events appended by the event consumer), cut into baskets where more than
``gap_minutes`` pass without an event, exactly as the "baskets" component reads it
(:func:`~shelfwise.recommend.baskets.frequency_rows`): a purchase made a minute ago counts at once,
and a shopper unknown at fit time scores ``alpha`` x their own vector. The neighbours (who they
are, and their vectors) are those of the fit, as ALS's item factors are: finding them again per
request compares the shopper with every other one (a pass over all user vectors), and refreshing
every shopper's vector that lists them would make one event touch up to ``neighbours`` others; a
refit (or a reload of a newer save) brings them up to date. A context without a timeline (a bare
user id, as the next-basket benches ask) reads the fit-time own vector; fit-time baskets are the
log's sessions, live ones the gap cuts (on Instacart the two cut alike: see
:mod:`shelfwise.recommend.baskets`). State: the user-item vectors and the neighbour matrix as CSR
arrays and the user ids, in ``tifu.npz`` (never pickle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.recommend.base import BaseRecommender, Context, no_evidence
from shelfwise.recommend.baskets import BasketConfig, BasketDecay, basket_weights, frequency_rows
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import csr_arrays, csr_from, csr_keys, read_npz
from shelfwise.results import FloatArray

CHUNK = 1024  # users whose similarities are computed at once (bounds memory to CHUNK x users floats)


@dataclass(frozen=True)
class TifuConfig(BasketDecay):
    """The paper's defaults for Instacart (:class:`~shelfwise.recommend.baskets.BasketDecay`: group
    size 3, decays 0.9 / 0.7; 300 neighbours); alpha 0.7."""

    neighbours: int = 300
    alpha: float = 0.7  # weight of the shopper's own vector (1 - alpha: the neighbours' mean)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.neighbours < 0:
            raise ValueError(f"TifuConfig.neighbours must be >= 0, got {self.neighbours!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"TifuConfig.alpha must be in [0, 1], got {self.alpha!r}")


def user_vectors(data: Interactions, config: TifuConfig) -> sp.csr_matrix:
    """(users x items) TIFU vectors: group- and basket-decayed mean basket (see the module doc)."""
    if not len(data):
        return sp.csr_matrix((data.n_users, data.n_items), dtype=np.float32)
    pairs, row_basket = np.unique(np.stack([data.user, data.session]), axis=1, return_inverse=True)
    row_basket = row_basket.ravel()
    owner = pairs[0]
    start = np.full(pairs.shape[1], np.inf)
    np.minimum.at(start, row_basket, data.timestamp)
    order = np.lexsort((start, owner))  # by user, then basket start time
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    n_baskets = np.bincount(owner, minlength=data.n_users)
    first = np.concatenate([[0], np.cumsum(n_baskets)[:-1]])
    newest = n_baskets[owner] - 1 - (rank - first[owner])  # 0: the user's latest basket
    w = basket_weights(newest, n_baskets[owner], config)
    baskets = sp.csr_matrix((np.ones(len(row_basket)), (row_basket, data.item)), shape=(pairs.shape[1], data.n_items))
    baskets.data[:] = 1.0  # a basket holds an item once
    mix = sp.csr_matrix((w, (owner, np.arange(len(w)))), shape=(data.n_users, len(w)))
    return (mix @ baskets).astype(np.float32).tocsr()


def neighbour_matrix(vectors: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """(users x users): ``1 / k`` at each user's ``k`` most cosine-similar others (similarity > 0)."""
    n = vectors.shape[0]
    k = min(k, n - 1)
    if k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    norm = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
    unit = (sp.diags(1.0 / np.maximum(norm, 1e-12)) @ vectors).tocsr()
    rows, cols = [], []
    for lo in range(0, n, CHUNK):
        sim = (unit[lo : lo + CHUNK] @ unit.T).toarray()
        sim[np.arange(sim.shape[0]), np.arange(lo, lo + sim.shape[0])] = -np.inf  # not oneself
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        keep = np.take_along_axis(sim, top, axis=1) > 0
        rows.append(np.nonzero(keep)[0] + lo)
        cols.append(top[keep])
    r, col = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.full(len(r), 1.0 / k, dtype=np.float32), (r, col)), shape=(n, n))


class TifuRecommender(BaseRecommender):
    """TIFU-KNN next-basket scores (Hu et al., 2020): the shopper's own vector from their history as
    it is now, the neighbours' from the fit (module doc)."""

    name = "tifu"

    def __init__(self, config: TifuConfig | None = None, gap_minutes: float | Callable[[], float] = 30.0) -> None:
        """``gap_minutes``: where a live history is cut into baskets, or a function that gives it now
        (the hybrid's: its "baskets" component's, so the two cut a history alike)."""
        super().__init__()
        self.config = config or TifuConfig()
        self._gap = gap_minutes
        self.vectors: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.neighbours: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.users: dict[str, int] = {}
        self._explained: tuple[Context, npt.NDArray[np.float32] | None] | None = None  # the last context's own vector

    @property
    def gap_minutes(self) -> float:
        return self._gap() if callable(self._gap) else self._gap

    def _cuts(self) -> BasketConfig:
        """The "baskets" settings that read a live history as this model's own vector."""
        c = self.config
        return BasketConfig(c.group_size, c.basket_decay, c.group_decay, self.gap_minutes, offer=False)

    def _fit(self, data: Interactions) -> None:
        self.vectors = user_vectors(data, self.config)
        self.neighbours = neighbour_matrix(self.vectors, self.config.neighbours)
        self.users = {u: i for i, u in enumerate(data.users)}
        self._explained = None

    def _own(self, contexts: Sequence[Context]) -> list[npt.NDArray[np.float32] | None]:
        """Each context's own vector (dense, 0 where the history lacks the item): from its events
        when it has a timeline (live), else the fit-time vector of its shopper; None when neither
        (or nothing was fitted: an empty fit, as the hybrid gives an opt-in component it does not
        weigh, scores nothing, live history or not)."""
        if not self.users or self.vectors.shape[1] != self.n_items:
            return [None] * len(contexts)
        timed = [j for j, c in enumerate(contexts) if c.timeline is not None and len(c.timeline.items)]
        live = frequency_rows([contexts[j] for j in timed], self.n_items, [self._cuts()])[0] if timed else None
        out: list[npt.NDArray[np.float32] | None] = [None] * len(contexts)
        for at, j in enumerate(timed):
            assert live is not None
            out[j] = np.maximum(live[at], np.float32(0.0))
        for j, c in enumerate(contexts):
            row = self.users.get(c.user) if c.user is not None else None
            if out[j] is None and row is not None:
                out[j] = np.asarray(self.vectors[row].toarray()[0], dtype=np.float32)
        return out

    def score(self, ctx: Context) -> FloatArray:
        return self.score_many([ctx])[0]

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """``alpha`` x the own vector (:meth:`_own`) plus ``1 - alpha`` x the fit-time neighbours'
        mean (none for a shopper unknown at fit time); ``-inf`` where that is 0."""
        out = np.full((len(contexts), self.n_items), -np.inf, dtype=np.float32)
        a = np.float32(self.config.alpha)
        for j, own in enumerate(self._own(contexts)):
            if own is None:
                continue
            blend = own * a
            user = contexts[j].user
            row = self.users.get(user) if user is not None else None
            if row is not None and a < 1:
                mean = (self.neighbours[row] @ self.vectors).tocsr()
                blend[mean.indices] += mean.data * (1 - a)
            pos = blend > 0
            out[j, pos] = blend[pos]
        return out

    def score_item(self, item: int) -> FloatArray:
        return no_evidence(self.n_items)

    def explain(self, ctx: Context | None, item: int) -> str:
        """ "Before" wording for the shopper's own items; shoppers with similar histories otherwise."""
        if ctx is None:
            return self.wording.similar_shoppers()
        last = self._explained  # a list explains several items of one context: its history is cut once
        if last is None or last[0] is not ctx:
            last = self._explained = (ctx, self._own([ctx])[0])
        own = last[1]
        if own is not None and own[item] > 0:
            return self.wording.before
        return self.wording.similar_shoppers()

    def save(self, path: str | Path) -> None:
        """``tifu.npz``: the user vectors, the neighbour matrix and the user ids, in row order."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        ids = np.array(sorted(self.users, key=self.users.__getitem__), dtype=np.str_)
        arrays = {**csr_arrays("vectors", self.vectors), **csr_arrays("neighbours", self.neighbours)}
        np.savez(p / "tifu.npz", allow_pickle=False, users=ids, **arrays)

    def load_state(self, path: str | Path) -> None:
        f = Path(path) / "tifu.npz"
        z = read_npz(f, (*csr_keys("vectors"), *csr_keys("neighbours"), "users"))
        ids = [str(u) for u in z["users"].tolist()]
        n = len(ids)
        self.vectors = csr_from(z, "vectors", f, (n, self.n_items)).astype(np.float32)
        self.neighbours = csr_from(z, "neighbours", f, (n, n)).astype(np.float32)
        self.users = {u: i for i, u in enumerate(ids)}
        self._explained = None
