"""Random walks on the session-item graph ("walk"): items a few steps away from the recent clicks.

The log is a bipartite graph of sessions and the items they hold. One step of the walk goes from
an item to one of its sessions (each with probability ``1 / degree(item)``) and on to one of that
session's items (``1 / length(session)``): the item-to-item transition matrix
``W = D_items^-1 X^T D_sessions^-1 X`` of P3 (Cooper, Lee, Radics & Benczur, 2014, "Random walks in
recommender systems: exact computation and simulations", WWW; RP3beta: Paudel, Christoffel, Newell
& Bernstein, 2017, "Updatable, accurate, diverse, and scalable recommendations for interactive
applications", ACM TiiS 7), with each item's ``neighbours`` strongest transitions kept (RP3beta's
top-k pruning) and no self-steps. The walk starts from the session's last ``window`` clicks
weighted ``exp(-(distance from the end) / lambda_pos)`` (STAN's factor 1: Garg et al., 2019) and
an item scores the probability mass it receives after one step plus ``gamma`` times that after two
(``gamma ** (h - 1)`` after ``h``), divided by its ``degree ** beta`` (RP3beta's popularity penalty;
0 = none).

Why a second step: where sessions are short and items many (the Diginetica sample: 4 clicks a
session, most items seen once or twice), the next item often shares no session with any of the
clicks so far, and co-occurrence and session kNN score it nothing; two steps reach it through the
items that do share a session with both. The first step alone ranks what co-occurrence and
session kNN reach, degree-normalised.

The transition matrix is kept as a sparse matrix saved to npz (never pickle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.recommend.base import BaseRecommender, Context, csr_rows, no_evidence
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender, pair_count
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import check_shape, csr_arrays, csr_from, csr_keys, read_npz
from shelfwise.recommend.sequence import recent_items_many, session_arrays
from shelfwise.recommend.wording import named
from shelfwise.results import FloatArray


@dataclass(frozen=True)
class WalkConfig:
    hops: int = 2  # steps of the walk scored (each step's mass gathers the rows of all items reached)
    gamma: float = 1.0  # weight of each further step's mass relative to the step before
    neighbours: int = 100  # strongest transitions kept per item (bounds a step's cost)
    beta: float = 0.0  # popularity penalty: scores / degree ** beta (RP3beta)
    lambda_pos: float = 2.0  # start weight exp(-(distance from the last click) / lambda_pos)
    window: int = 20  # last clicks the walk starts from

    def __post_init__(self) -> None:
        if min(self.hops, self.neighbours, self.window) < 1:
            raise ValueError("WalkConfig: hops, neighbours and window must be >= 1")
        if self.gamma < 0.0 or not 0.0 <= self.beta <= 1.0:
            raise ValueError("WalkConfig: gamma must be >= 0 and beta in [0, 1]")
        if self.lambda_pos <= 0:
            raise ValueError("WalkConfig.lambda_pos must be > 0")


def top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """``m`` with each row's ``k`` largest entries kept (ties: the lower column first)."""
    m = m.tocsr()
    m.sort_indices()
    cnt = np.diff(m.indptr)
    if cnt.max(initial=0) <= k:
        return m
    row = np.repeat(np.arange(m.shape[0], dtype=np.int64), cnt)
    order = np.lexsort((-m.data, row))  # row by row, largest first, stable on the sorted columns
    rank = np.arange(m.nnz, dtype=np.int64) - np.repeat(m.indptr[:-1].astype(np.int64), cnt)
    keep = np.sort(order[rank < k])
    out = sp.csr_matrix((m.data[keep], (row[keep], m.indices[keep])), shape=m.shape, dtype=m.dtype)
    out.sort_indices()
    return out


def transitions(data: Interactions, neighbours: int) -> tuple[sp.csr_matrix, FloatArray]:
    """(item-to-item one-step transition matrix, float32, pruned to each row's ``neighbours``
    largest; each item's degree: the sessions holding it)."""
    s = session_arrays(data)
    n, ns = data.n_items, s.n_sessions
    x = sp.csr_matrix(
        (np.ones(len(s.item), dtype=np.float64), (s.session_of_row(), s.item)), shape=(ns, n), dtype=np.float64
    )
    x.data[:] = 1.0  # a session holds an item once, however often it was clicked
    length = np.asarray(x.sum(axis=1)).ravel()
    degree = np.asarray(x.sum(axis=0)).ravel()
    step = (x.T.tocsr() @ sp.diags(1.0 / np.maximum(length, 1.0)) @ x).tocsr()
    step = (sp.diags(1.0 / np.maximum(degree, 1.0)) @ step).tocsr()
    step.setdiag(0.0)
    step.eliminate_zeros()
    return top_per_row(step.astype(np.float32), neighbours), degree.astype(np.float32)


class SessionWalkRecommender(BaseRecommender):
    """Items a few steps from the recent clicks on the session-item graph (P3 / RP3beta walks,
    Cooper et al., 2014; Paudel et al., 2017)."""

    name = "walk"

    def __init__(self, config: WalkConfig | None = None, pairs: CooccurrenceRecommender | None = None) -> None:
        """``pairs``: the co-occurrence model whose pair counts and evidence word a direct step's
        reason ("bought together with X (3 times)"), as its own reasons do; None: the store's words."""
        super().__init__()
        self.config = config or WalkConfig()
        self.pairs = pairs
        self.step: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.penalty: FloatArray = np.zeros(0, dtype=np.float32)

    def _fit(self, data: Interactions) -> None:
        self.step, degree = transitions(data, self.config.neighbours)
        self.penalty = np.power(np.maximum(degree, 1.0), -np.float32(self.config.beta)).astype(np.float32)

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context: all the walks as sparse products at once (a row's result
        never depends on the other rows: :meth:`score` is this of one context)."""
        return self._walks(contexts)

    def _walks(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        c, n, b = self.config, self.n_items, len(contexts)
        row, item, dist = recent_items_many(contexts, c.window)
        out = np.full((b, n), -np.inf, dtype=np.float32)
        if not len(item) or self.step.shape[0] != n:
            return out
        w = np.exp(-dist.astype(np.float32) / np.float32(c.lambda_pos)).astype(np.float32)
        mass = sp.csr_matrix((w, (row, item)), shape=(b, n), dtype=np.float32)
        total = sp.csr_matrix((b, n), dtype=np.float32)
        g = np.float32(1.0)
        for _ in range(c.hops):
            mass = (mass @ self.step).tocsr()
            total = (total + mass * g).tocsr()
            g *= np.float32(c.gamma)
        r = np.repeat(np.arange(b, dtype=np.int64), np.diff(total.indptr))
        col = total.indices
        vals = total.data.astype(np.float32) * self.penalty[col]
        pos = vals > 0
        out[r[pos], col[pos]] = vals[pos]
        return out

    def score(self, ctx: Context) -> FloatArray:
        if not len(ctx.ordered):
            return no_evidence(self.n_items)
        return self._walks([ctx])[0]

    def score_item(self, item: int) -> FloatArray:
        return self.score(Context.of([item]))

    def explain(self, ctx: Context | None, item: int) -> str:
        """Names the recent click whose direct step to ``item`` adds most to its score (step x the
        click's start weight; "together with X", worded by ``pairs`` when given); an item reached
        only in more steps: sessions like this one."""
        if ctx is None or not len(ctx.ordered):
            return self.wording.shoppers_like_you()
        c = self.config
        recent, dist = np.unique(np.asarray(ctx.ordered, dtype=np.int64)[-c.window :][::-1], return_index=True)
        indptr, cols, steps = csr_rows(self.step, recent)  # the rows read off the CSR arrays, no scipy indexing
        hit = np.flatnonzero(cols == item)
        if not len(hit):
            return self.wording.shoppers_like_you()
        start = np.repeat(np.exp(-dist.astype(np.float32) / np.float32(c.lambda_pos)), np.diff(indptr))
        best = hit[int(np.argmax(steps[hit] * start[hit]))]
        src = int(recent[int(np.searchsorted(indptr, best, side="right")) - 1])
        title = named(self.catalog.products[src].title)
        if self.pairs is None or self.pairs.pairs.shape[0] != self.n_items:
            return self.wording.together_with(title)
        return self.pairs.pair_wording(src, item).together_with(title, pair_count(self.pairs.pairs, src, item))

    def save(self, path: str | Path) -> None:
        """``walk.npz``: the pruned transition matrix (CSR arrays) and the popularity penalty."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        np.savez(p / "walk.npz", allow_pickle=False, penalty=self.penalty, **csr_arrays("step", self.step))

    def load_state(self, path: str | Path) -> None:
        f = Path(path) / "walk.npz"
        n = self.n_items
        z = read_npz(f, (*csr_keys("step"), "penalty"))
        self.step = csr_from(z, "step", f, (n, n)).astype(np.float32)
        self.penalty = check_shape(f, "penalty", z["penalty"].astype(np.float32), (n,))
