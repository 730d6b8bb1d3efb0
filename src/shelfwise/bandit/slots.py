"""Exploration slots in a ranked list: keep the model's ranking for most slots and hand a
configurable share to a bandit that explores new and long-tail items.

:class:`SlotExplorer` is an ``Updatable`` (registered as the ``bandit`` extension): an explored
item a user clicks, carts or buys within ``reward_window_s`` of being shown counts as a success;
one that is not counts as a failure once the window has passed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shelfwise.bandit.mab import BernoulliTS
from shelfwise.bandit.policy import BoolArray, FloatArray, Policy
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
    on showings awaiting their outcome."""

    explore_share: float = 0.2
    first_slot: int = 2
    head_fraction: float = 0.2
    reward_window_s: float = 1800.0
    max_pending: int = 100_000

    def __post_init__(self) -> None:
        if not 0.0 <= self.explore_share <= 1.0 or not 0.0 <= self.head_fraction < 1.0:
            raise ValueError("SlotConfig: explore_share in [0, 1] and head_fraction in [0, 1)")
        if self.first_slot < 0 or not self.reward_window_s > 0 or self.max_pending < 1:
            raise ValueError("SlotConfig: first_slot >= 0, reward_window_s > 0, max_pending >= 1")

    def n_explore(self, k: int) -> int:
        return 0 if self.explore_share == 0 else max(1, round(self.explore_share * k))


POSITIVE = EVENT_WEIGHTS.engaged()  # events that reward a showing: click, cart, purchase


class SlotExplorer:
    def __init__(self, catalog: Catalog, policy: Policy | None = None, config: SlotConfig | None = None) -> None:
        self.catalog = catalog
        self.policy: Policy = policy or BernoulliTS(len(catalog))
        if self.policy.n_arms != len(catalog):
            raise ValueError(f"policy has {self.policy.n_arms} arms for {len(catalog)} catalog rows")
        self.config = config or SlotConfig()
        self._pending: OrderedDict[tuple[str, int], float] = OrderedDict()
        self._lock = threading.Lock()

    def rank(
        self,
        results: Results,
        k: int,
        *,
        user: str = "",
        now: float = 0.0,
        popularity: FloatArray | None = None,
        allowed: BoolArray | None = None,
    ) -> tuple[Results, list[int]]:
        """Top-``k`` of ``results`` with exploration slots filled by the policy; returns the list and
        the positions that were explored. Explored items come from ``allowed`` items outside the
        popularity head and outside ``results``' own top-``k``; they score 0 here (the policy
        ranks nothing), which the caller may replace by the item's own model score."""
        n = len(self.catalog)
        base = results.top(k)
        n_exp = min(self.config.n_explore(k), max(0, k - self.config.first_slot))
        cand = np.ones(n, dtype=bool) if allowed is None else allowed.copy()
        if popularity is not None:
            cand &= ~head_items(popularity, self.config.head_fraction)
        cand[base.ids] = False
        n_exp = min(n_exp, int(cand.sum()))
        if n_exp == 0:
            return base, []
        with self._lock:
            picks = self.policy.select(1, n_exp, mask=cand)[0]
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
        slots = placed
        with self._lock:
            for item in picks.tolist():
                self._pending[(user, int(item))] = now
            self._settle(now)
        return Results(np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32)), slots

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
