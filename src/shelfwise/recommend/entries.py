"""Scores of many contexts held as their finite entries, for components whose evidence reaches few items.

Components score the whole catalog densely, ``-inf`` where they have no evidence
(:mod:`shelfwise.recommend.base`). Fit-time tuning's pool (:mod:`shelfwise.recommend.tuning_pool`)
scores thousands of validation prefixes that way, and a component whose evidence reaches a few
items of each prefix (repeat purchases: the shopper's own; session kNN: the neighbours' items;
cold items: the items with no events) wrote, scaled and searched a (prefixes x catalog) matrix of
mostly ``-inf``. Such a component also gives its scores of many contexts as :class:`EntryScores`,
the same float32 values of its finite cells only, which the pool reads instead: the same
candidates and scaled scores (tests/recommend/test_recommend_entries.py), without the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shelfwise.results import FloatArray, IntArray


@dataclass(frozen=True)
class EntryScores:
    """A (``shape``) matrix of scores held as its cells other than ``-inf``: ``keys`` (flat cell
    ``row * shape[1] + item``, ascending, distinct) and their float32 ``values``."""

    keys: IntArray
    values: FloatArray
    shape: tuple[int, int]

    @classmethod
    def of_dense(cls, d: npt.NDArray[np.float32]) -> EntryScores:
        keys = np.flatnonzero(d.reshape(-1) != -np.inf)
        return cls(keys, d.reshape(-1)[keys], (int(d.shape[0]), int(d.shape[1])))

    @property
    def rows(self) -> IntArray:
        """Each entry's row (ascending)."""
        return self.keys // max(self.shape[1], 1)

    def dense(self) -> npt.NDArray[np.float32]:
        out = np.full(self.shape[0] * self.shape[1], -np.inf, dtype=np.float32)
        out[self.keys] = self.values
        return out.reshape(self.shape)

    def at(self, flat: IntArray) -> npt.NDArray[np.float32]:
        """The scores of cells ``flat`` (``-inf`` where there is no entry)."""
        if not len(self.keys):
            return np.full(len(flat), -np.inf, dtype=np.float32)
        pos = np.minimum(np.searchsorted(self.keys, flat), len(self.keys) - 1)
        return np.where(self.keys[pos] == flat, self.values[pos], np.float32(-np.inf)).astype(np.float32)

    def masked_rows(self, rows: IntArray, seen: IntArray) -> EntryScores:
        """:func:`~shelfwise.recommend.tuning_pool.masked_rows` of these scores: ``rows`` (ascending)
        renumbered from 0, without the ``seen`` cells (flat indices in the renumbered matrix)."""
        b, n = self.shape
        place = np.full(b, -1, dtype=np.int64)
        place[rows] = np.arange(len(rows))
        at = place[self.rows]
        keep = at >= 0
        keys = at[keep] * n + self.keys[keep] % max(n, 1)
        drop = np.zeros(len(rows) * n, dtype=bool)
        drop[seen] = True
        mine = ~drop[keys]
        return EntryScores(keys[mine], self.values[keep][mine], (len(rows), n))


def entry_sums(rows: IntArray, items: IntArray, values: npt.ArrayLike, n_rows: int, n_items: int) -> EntryScores:
    """:func:`~shelfwise.recommend.sequence.dense_sums_many` as entries: cell ``(rows[e], items[e])``
    sums ``values[e]`` in entry order in float64, then float32 (the same bincount: the same values)."""
    key = np.asarray(rows, dtype=np.int64) * n_items + np.asarray(items, dtype=np.int64)
    sums = np.bincount(key, weights=values, minlength=n_rows * n_items)
    touched = np.zeros(n_rows * n_items, dtype=bool)
    touched[key] = True
    keys = np.flatnonzero(touched)
    vals = sums[keys].astype(np.float32)
    finite = vals != -np.inf  # (a sum below float32's range: no evidence, as the matrix reads it)
    return EntryScores(keys[finite], vals[finite], (n_rows, n_items))


def last_entries(rows: IntArray, items: IntArray, values: FloatArray, n_rows: int, n_items: int) -> EntryScores:
    """The matrix ``out[rows[e], items[e]] = values[e]`` written in entry order (a cell written twice
    keeps its last value), ``-inf`` elsewhere, as entries (a ``-inf`` value is no entry)."""
    key = np.asarray(rows, dtype=np.int64) * n_items + np.asarray(items, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    key, vals = key[order], np.asarray(values, dtype=np.float32)[order]
    last = np.ones(len(key), dtype=bool)
    last[:-1] = key[1:] != key[:-1]
    last &= vals != -np.inf
    return EntryScores(key[last], vals[last], (n_rows, n_items))
