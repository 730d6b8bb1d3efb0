"""Order-decayed personal item frequency ("baskets"): TIFU's own-history term, read from the history as it is now.

Hu, He, Sun, Wang & Li, 2020, "Modeling Personalized Item Frequency Information for Next-basket
Recommendation" (SIGIR). A shopper's history is cut into baskets, newest first; the baskets fall
into groups of ``group_size``; inside a group the ``j``-th newest basket counts ``basket_decay **
j`` and the group is their sum over its size; the ``g``-th newest group counts ``group_decay ** g``
and the score of an item is the sum over the number of groups (:func:`basket_weights`, which
:mod:`shelfwise.recommend.tifu` shares). A basket counts an item once. This is TIFU-KNN with
``alpha`` 1 (no neighbours): on Instacart next baskets it scored NDCG@10 0.4816 against TIFU-KNN's
0.4839 and buy-again's 0.4468 (``bench/results/next_basket_tifu_s17.json``): nearly all the gain
comes from decaying by basket order rather than clock time (the ``repeat`` component's decay),
so a shopper who orders monthly and one who orders daily get the same profile shape.

This reads the context's events (:attr:`Context.timeline
<shelfwise.recommend.base.Context.timeline>`; ``tifu`` reads its own term the same way, its
neighbours from the fit): a live event counts at once, the between-sessions search's next-basket
cases (:mod:`shelfwise.recommend.between`) see the history serving will see, and there is nothing to
fit or save (the hybrid's config holds the settings). Baskets are cut where more than
``gap_minutes`` pass without an event (the events loader's session gap; a probe, no results file:
alone, NDCG@10 0.4819 on Instacart and 0.1557 on Complete Journey, against 0.4816 and 0.1558 with
the logs' order ids). A basket counts every kind of event alike, as the paper's binary baskets. A
context without a timeline (a session's own items) scores nothing.

The between-sessions search weighs it (``offer``) at ``group_size`` and each of ``also_try``,
and keeps the group size whose scores alone rank its validation baskets best
(``HybridConfig.basket_group_size``). By default only the paper's Instacart setting, 3: given 7 to
try as well, the search picks 3 on Instacart and 7 on Complete Journey, where the hybrid then scores
the same as with 3 (next-basket NDCG@10 0.1680 vs 0.1683, ``next_basket_s18.json``), for ~0.07 CPU-s
more per fit (a probe at load 3-4); with 7 alone Instacart fell from 0.482 to 0.454 (a probe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import BaseRecommender, Context, Timeline, no_evidence
from shelfwise.recommend.interactions import Interactions
from shelfwise.results import FloatArray, IntArray

REASON_BASKETS = 10  # a reason counts the item in the shopper's last this many baskets ("in 3 of your last 5 orders")
_EMPTY = Timeline(np.zeros(0, np.int64), np.zeros(0, np.float64))


@dataclass(frozen=True)
class BasketDecay:
    """How a history's baskets are weighed (:func:`basket_weights`; the paper's Instacart setting:
    groups of 3, decays 0.9 / 0.7): the part :class:`BasketConfig` and
    :class:`~shelfwise.recommend.tifu.TifuConfig` share, fields and checks. Their saved form
    (``hybrid.json``'s ``baskets`` and ``tifu``) is unchanged by it: a subclass's fields follow
    these three, flat, as they were written out before."""

    group_size: int = 3
    basket_decay: float = 0.9  # r_b: weight of each older basket inside a group
    group_decay: float = 0.7  # r_g: weight of each older group

    def __post_init__(self) -> None:
        name = type(self).__name__  # errors name the config the caller wrote
        if self.group_size < 1:
            raise ValueError(f"{name}.group_size must be >= 1, got {self.group_size!r}")
        for field, decay in (("basket_decay", self.basket_decay), ("group_decay", self.group_decay)):
            if not 0.0 < decay <= 1.0:
                raise ValueError(f"{name}.{field} must be in (0, 1], got {decay!r}")


@dataclass(frozen=True)
class BasketConfig(BasketDecay):
    """:class:`BasketDecay` (the paper's Instacart decays, 0.9 / 0.7, and group size 3), cut where
    ``gap_minutes`` pass without an event. ``offer``: the between-sessions search may weigh this
    component (False: weighted only where configured); ``also_try``: group sizes it tries beside
    ``group_size`` (the best alone is kept)."""

    gap_minutes: float = 30.0  # a new basket after this long without an event
    offer: bool = True
    also_try: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(g < 1 for g in self.also_try):
            raise ValueError(f"BasketConfig.also_try must hold group sizes >= 1, got {self.also_try!r}")
        if not self.gap_minutes > 0:
            raise ValueError(f"BasketConfig.gap_minutes must be > 0, got {self.gap_minutes!r}")

    @property
    def tried(self) -> tuple[int, ...]:
        """The group sizes the between-sessions search tries: ``group_size`` first, then ``also_try``."""
        return tuple(dict.fromkeys((self.group_size, *self.also_try)))


def basket_weights(newest: IntArray, n_baskets: IntArray, decay: BasketDecay) -> npt.NDArray[np.float64]:
    """Each basket's weight: ``newest`` its place from the owner's latest (0), ``n_baskets`` the
    owner's basket count, under ``decay`` (see the module doc)."""
    group_size, basket_decay, group_decay = decay.group_size, decay.basket_decay, decay.group_decay
    group, within = np.divmod(newest, group_size)
    group_len = np.minimum(group_size, n_baskets - group * group_size)
    n_groups = -(-n_baskets // group_size)
    inside = basket_decay ** np.arange(group_size, dtype=np.float64)  # powers looked up, not raised per basket
    across = group_decay ** np.arange(int(group.max(initial=0)) + 1, dtype=np.float64)
    return inside[within] * across[group] / (group_len * n_groups)


def basket_entries(contexts: Sequence[Context], gap_minutes: float) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """The distinct (basket, item) pairs of the contexts' timelines (none for a context without
    one), all at once: each one's context, item, basket as its place from that context's latest
    (0), and that context's number of baskets. A timeline's events are taken in time order, a new
    basket after a gap of more than ``gap_minutes``."""
    lines = [c.timeline if c.timeline is not None else _EMPTY for c in contexts]
    owner = np.repeat(np.arange(len(lines), dtype=np.int64), [len(t.items) for t in lines])
    if not len(owner):
        return owner, owner, owner, owner
    items = np.concatenate([t.items for t in lines]).astype(np.int64)
    times = np.concatenate([t.times for t in lines])
    order = np.lexsort((times, owner))  # by context, then time (stable)
    owner, items, times = owner[order], items[order], times[order]
    starts = np.ones(len(owner), dtype=bool)
    starts[1:] = (owner[1:] != owner[:-1]) | (np.diff(times) > gap_minutes * 60.0)
    basket = np.cumsum(starts) - 1  # numbered across contexts
    n_baskets = np.bincount(owner[starts], minlength=len(lines))
    first = np.cumsum(n_baskets) - n_baskets  # each context's first basket
    span = int(items.max()) + 1
    pairs = np.sort(basket * span + items)  # sorted, then deduplicated (np.unique was slower: a probe, no results file)
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    b, item = np.divmod(pairs, span)
    who = owner[starts][b]
    return who, item, n_baskets[who] - 1 - (b - first[who]), n_baskets[who]


def frequency_rows(
    contexts: Sequence[Context], n_items: int, configs: Sequence[BasketConfig]
) -> list[npt.NDArray[np.float32]]:
    """(contexts x items) order-decayed frequencies under each of ``configs`` (``-inf``: not in the
    history); the baskets are cut once, at the first config's ``gap_minutes`` (every config's)."""
    if not configs:
        return []
    if any(c.gap_minutes != configs[0].gap_minutes for c in configs):
        raise ValueError("frequency_rows: the configs must cut baskets alike (one gap_minutes)")
    who, item, newest, n = basket_entries(contexts, configs[0].gap_minutes)
    cells, inv = np.unique(who * n_items + item, return_inverse=True)
    out = []
    for c in configs:
        m = np.full((len(contexts), n_items), -np.inf, dtype=np.float32)
        w = basket_weights(newest, n, c)
        m.reshape(-1)[cells] = np.bincount(inv, weights=w, minlength=len(cells))
        out.append(m)
    return out


class BasketRecommender(BaseRecommender):
    """Order-decayed personal item frequency (TIFU-KNN's own term, Hu et al., 2020) of the context's history."""

    name = "baskets"

    def __init__(self, config: BasketConfig | Callable[[], BasketConfig] | None = None) -> None:
        """``config``: the settings, or a function that gives them now (the hybrid's: its fit-time
        choice of group size lives in its config)."""
        super().__init__()
        self._config = config if config is not None else BasketConfig()
        self._explained: tuple[Timeline, float, tuple[IntArray, ...]] | None = None  # the last timeline's baskets

    @property
    def config(self) -> BasketConfig:
        return self._config() if callable(self._config) else self._config

    def _fit(self, data: Interactions) -> None:
        return None  # reads each context's history: nothing to learn

    def score(self, ctx: Context) -> FloatArray:
        return frequency_rows([ctx], self.n_items, [self.config])[0][0]

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        return frequency_rows(contexts, self.n_items, [self.config])[0]

    def score_many_at(
        self, contexts: Sequence[Context], configs: Sequence[BasketConfig]
    ) -> list[npt.NDArray[np.float32]]:
        """:meth:`score_many` under each of ``configs`` (the between-sessions search tries several)."""
        return frequency_rows(contexts, self.n_items, configs)

    def score_item(self, item: int) -> FloatArray:
        return no_evidence(self.n_items)

    def explain(self, ctx: Context | None, item: int) -> str:
        """ "you bought this in 3 of your last 5 orders" (the last :data:`REASON_BASKETS` at most);
        "you bought this before" when none of those holds it."""
        if ctx is None or ctx.timeline is None:
            return self.wording.before
        gap, last = self.config.gap_minutes, self._explained  # a list explains several items of one context
        if last is None or last[0] is not ctx.timeline or last[1] != gap:
            last = self._explained = (ctx.timeline, gap, basket_entries([ctx], gap))
        _, items, newest, n = last[2]
        of = min(int(n[0]), REASON_BASKETS) if len(n) else 0
        times = int(((items == item) & (newest < of)).sum())
        return self.wording.in_recent(times, of) if times else self.wording.before
