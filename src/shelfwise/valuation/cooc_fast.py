"""Exact co-occurrence utilities without refitting, when the players partition the items.

When every item's interactions fall in one group (grouping by category does this) and there is
no time decay, the co-occurrence model fitted on a coalition ``S`` is the full model restricted
to ``S``'s items: its pair counts are the full counts between ``S`` items, each item's basket
count is unchanged, and each user's history is their full history restricted to ``S``. So the
raw scores are a sum of per-group parts, ``raw_S = sum_{g in S} (U_g / n^alpha) P / n^(1-alpha)``
(:meth:`CooccurrenceRecommender.scaled_batch` of each group's histories), computed once; a
coalition then costs a sum of dense blocks and a top-k, not a refit. (The model is
:class:`shelfwise.recommend.CooccurrenceRecommender`: Aiolli, 2013, asymmetric cosine.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.recommend.cooccurrence import CooccurrenceConfig, CooccurrenceRecommender
from shelfwise.recommend.interactions import Interactions
from shelfwise.results import IntArray

MAX_FLOATS = 150_000_000  # groups x users x items kept in memory (600 MB of float32)


def item_groups(data: Interactions, groups: IntArray) -> IntArray | None:
    """Group of each item (-1: no interactions) when the groups partition the items, else None."""
    out = np.full(data.n_items, -1, dtype=np.int64)
    out[data.item] = groups
    return out if bool(np.all(out[data.item] == groups)) else None


class ItemPartitionScores:
    """Per-group raw co-occurrence scores of the evaluated users, summed per coalition."""

    def __init__(self, data: Interactions, item_group: IntArray, users: Sequence[str], n_groups: int) -> None:
        full = CooccurrenceRecommender(CooccurrenceConfig())
        full.fit(data)
        index = {u: i for i, u in enumerate(data.users)}
        rows = np.array([index.get(u, -1) for u in users], dtype=np.int64)
        ui = data.user_item()[np.maximum(rows, 0)]
        ui = sp.csr_matrix(sp.diags((rows >= 0).astype(np.float32)) @ ui)
        ui.eliminate_zeros()
        self.history = ui
        self.item_group = item_group
        self.parts: list[npt.NDArray[np.float32]] = []  # the model's own batch scoring, one group's history each
        self._last: tuple[set[int], npt.NDArray[np.float32] | None] = (set(), None)
        for g in range(n_groups):
            self.parts.append(full.scaled_batch(ui @ sp.diags((item_group == g).astype(np.float32))))

    def _sum(self, groups: set[int]) -> npt.NDArray[np.float32]:
        """Sum of the groups' parts, grown from the previous coalition when it is a subset
        (TMC-Shapley walks permutations one group at a time)."""
        prev, raw = self._last
        add = groups - prev
        if raw is None or not prev <= groups or len(add) >= len(groups):  # only ever add: no residues
            raw, add = np.zeros_like(self.parts[0]), groups
        else:
            raw = raw.copy()
        for g in sorted(add):
            raw += self.parts[g]
        self._last = (groups, raw)
        return raw

    @staticmethod
    def fits(n_groups: int, n_users: int, n_items: int) -> bool:
        return n_groups * n_users * n_items <= MAX_FLOATS

    def rankings(self, players: IntArray, k: int, exclude_seen: bool) -> list[list[int]]:
        """Each user's top-``k`` item rows under the model fitted on ``players`` (empty: no history in them)."""
        in_s = np.isin(self.item_group, players)
        raw = self._sum(set(np.unique(players).tolist()))
        scores = np.where((raw > 0) & in_s[None, :], raw, -np.inf).astype(np.float32)
        h = self.history
        rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
        keep = in_s[h.indices]
        has = np.bincount(rows[keep], minlength=h.shape[0]) > 0
        if exclude_seen:
            scores[rows[keep], h.indices[keep]] = -np.inf
        k = min(k, scores.shape[1])
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else None
        if part is None:
            part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
        vals = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        ids = np.take_along_axis(part, order, axis=1)
        fin = np.isfinite(np.take_along_axis(vals, order, axis=1))
        return [ids[u][fin[u]].tolist() if has[u] else [] for u in range(len(has))]
