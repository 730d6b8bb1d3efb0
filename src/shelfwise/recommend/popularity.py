"""Popularity with exponential time decay, and the shopper's own "buy again" signal.

Decayed counts are kept relative to a reference time, so a new event at time ``t`` adds
``w * 2 ** ((t - t_ref) / half_life)`` and the ranking stays exact without rescans
(exponentially decayed counters; cf. Cormode et al., 2009, "Forward Decay").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shelfwise.events.schema import EVENT_WEIGHTS, Event
from shelfwise.recommend.base import BaseRecommender, Context, category_label, no_evidence
from shelfwise.recommend.entries import EntryScores, last_entries
from shelfwise.recommend.interactions import DAY, Interactions, decay
from shelfwise.recommend.persist import check_shape, read_npz
from shelfwise.results import FloatArray

STALE_HALF_LIVES = 4.0  # history this many half-lives old counts 1/16 of a new event: warn from here


@dataclass(frozen=True)
class PopularityConfig:
    half_life_days: float | None = 30.0
    category_depth: int = 1  # "popular in Z": Z is the category path prefix of this depth

    def __post_init__(self) -> None:
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ValueError("PopularityConfig.half_life_days must be positive or None")
        if self.category_depth < 1:
            raise ValueError("PopularityConfig.category_depth must be >= 1")


class PopularityRecommender(BaseRecommender):
    """Everyone gets the most popular items (time-decayed); ``similar`` = popular in the same category."""

    name = "popularity"

    def __init__(self, config: PopularityConfig | None = None) -> None:
        super().__init__()
        self.config = config or PopularityConfig()
        self.counts: FloatArray = np.zeros(0, dtype=np.float32)
        self.t_ref = 0.0
        self.t_last = 0.0  # the latest event counted (a gap is measured from it, not from t_ref)
        self._scores: FloatArray | None = None  # log1p(counts), dropped when counts change

    def _fit(self, data: Interactions) -> None:
        self.t_ref = float(data.timestamp.max()) if len(data) else 0.0
        self.t_last = self.t_ref
        w = data.weight * decay(self.t_ref - data.timestamp, self.config.half_life_days)
        self.counts = np.bincount(data.item, weights=w, minlength=data.n_items).astype(np.float64).astype(np.float32)
        self._scores = None

    def update(self, events: Sequence[Event]) -> None:
        hl = self.config.half_life_days
        for e in events:
            row = self.catalog.get_row(e.item_id) if e.item_id else None
            w = EVENT_WEIGHTS.get(e.type, 0.0)
            if row is None or w <= 0:
                continue
            if hl is not None and (e.timestamp - self.t_last) / (hl * DAY) >= STALE_HALF_LIVES:
                # a gap of STALE_HALF_LIVES half-lives since the last event is downtime (an old dump
                # served today, a store reopening), not a time popularity faded over: the counts carry
                # over as they stood at that last event and this event restarts the clock (else each
                # history event would count 2^-gap of it, and the first few live events would be
                # "popular"). Steady traffic is never a gap, however long after t_ref.
                self.counts *= np.float32(decay(self.t_last - self.t_ref, hl))
                self.t_ref = e.timestamp
            self.t_last = max(self.t_last, e.timestamp)
            if hl is not None and (e.timestamp - self.t_ref) / (hl * DAY) > 30:  # rebase before overflow
                self.counts *= np.float32(decay(e.timestamp - self.t_ref, hl))
                self.t_ref = e.timestamp
            boost = 1.0 if hl is None else float(np.power(2.0, (e.timestamp - self.t_ref) / (hl * DAY)))
            self.counts[row] += w * boost
            self._scores = None

    def score(self, ctx: Context) -> FloatArray:
        if self._scores is None or self._scores.shape != self.counts.shape:
            s = np.log1p(self.counts)
            self._scores = np.where(self.counts > 0, s, -np.inf).astype(np.float32)
        return self._scores.copy()  # the same for every shopper: computed once per counts state

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        return np.tile(self.score(Context.empty()), (len(contexts), 1))

    def score_item(self, item: int) -> FloatArray:
        same = self.catalog.category_mask(self.catalog.top_category(item, self.config.category_depth))
        s = self.score(Context.empty())
        return np.where(same, s, -np.inf).astype(np.float32)

    def explain(self, ctx: Context | None, item: int) -> str:
        return f"popular in {category_label(self.catalog, item, self.config.category_depth)}"

    def stale_note(self, now: float) -> str:
        """Why events dated ``now`` (live events get the server's clock) would outweigh the fitted
        history, or "" when they would not: the history ends at least ``STALE_HALF_LIVES`` half-lives
        before ``now``, so each of its events counts 2^-(age / half-life) of one posted now."""
        hl = self.config.half_life_days
        if hl is None or not bool(np.any(self.counts > 0)):
            return ""
        halves = (now - self.t_last) / (hl * DAY)
        if halves < STALE_HALF_LIVES:
            return ""
        ended = datetime.fromtimestamp(self.t_last, UTC).strftime("%Y-%m-%d %H:%M:%S")
        hint = (
            " (times this close to 1970 look like order numbers or day offsets read as unix seconds: map a real time)"
            if self.t_last < 366 * DAY
            else ""
        )
        return (
            f"the behaviour history ends {ended} UTC{hint}, {(now - self.t_last) / DAY:,.0f} days before now; "
            f"popularity ({hl:g}-day half-life) treats the gap before the first event posted live as downtime: "
            f"the history counts as it stood at its end (else each history event would count 2^-{halves:,.0f} of "
            "a live one and the first few live events would make up the 'popular' lists). Refit on history that "
            "reaches today for lists that reflect now"
        )

    def save(self, path: str | Path) -> None:
        """``popularity.npz``: decayed counts and their reference time (config lives with the caller)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        np.savez(p / "popularity.npz", counts=self.counts, t_ref=np.float64(self.t_ref), t_last=np.float64(self.t_last))

    def load_state(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote (after ``fit`` or ``attach`` on the same catalog)."""
        f = Path(path) / "popularity.npz"
        z = read_npz(f, ("counts", "t_ref"))
        self.counts = check_shape(f, "counts", z["counts"].astype(np.float32), (self.n_items,))
        self.t_ref = float(z["t_ref"])
        self.t_last = float(z["t_last"]) if "t_last" in z else self.t_ref  # saved before t_last was kept
        self._scores = None


class RepeatRecommender(BaseRecommender):
    """Items from the shopper's own history, by recency-decayed weight ("buy again").

    The strongest single signal in grocery next-basket data (Hu et al., 2020, "Modeling
    Personalized Item Frequency Information for Next-basket Recommendation", SIGIR).
    Scores nothing under ``exclude_seen``.
    """

    name = "repeat"

    def _fit(self, data: Interactions) -> None:
        return None

    def score(self, ctx: Context) -> FloatArray:
        s = no_evidence(self.n_items)
        if len(ctx):
            s[ctx.items] = np.log1p(ctx.weights)
        return s

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        out = np.full((len(contexts), self.n_items), -np.inf, dtype=np.float32)
        for j, c in enumerate(contexts):
            out[j, c.items] = np.log1p(c.weights)
        return out

    def score_entries_many(self, contexts: Sequence[Context]) -> EntryScores:
        """:meth:`score_many` as its finite entries (each context's own items: :mod:`.entries`)."""
        if not contexts:
            return EntryScores(np.zeros(0, np.int64), np.zeros(0, np.float32), (0, self.n_items))
        rows = np.repeat(np.arange(len(contexts), dtype=np.int64), [len(c) for c in contexts])
        items = np.concatenate([c.items for c in contexts])
        values = np.concatenate([np.log1p(c.weights).astype(np.float32) for c in contexts])
        return last_entries(rows, items, values, len(contexts), self.n_items)

    def score_item(self, item: int) -> FloatArray:
        return no_evidence(self.n_items)

    def explain(self, ctx: Context | None, item: int) -> str:
        return self.wording.before
