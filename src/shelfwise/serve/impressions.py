"""Handing a served list with explored slots to the shelf's impression logger (request side: ids
and the draws only; propensities are computed on the logger's thread)."""

from __future__ import annotations

from shelfwise.bandit.impression_log import ImpressionDraft
from shelfwise.bandit.slots import SlotExplorer
from shelfwise.catalog.schema import Catalog, Filters
from shelfwise.events.impressions import Impression
from shelfwise.recommend.explore import ExploredList, recommend_with_exploration
from shelfwise.recommend.hybrid import HybridRecommender
from shelfwise.shelf import Shelf

ROUTE_USER = "/recommend/user"


def draft(
    catalog: Catalog, request_id: str, user: str, route: str, shown: ExploredList, policy: str, rate: float = 1.0
) -> ImpressionDraft | None:
    """``shown`` as an :class:`ImpressionDraft` (item ids, not rows: a reload may renumber rows) of
    the exploration ``policy`` (its kind), logged with probability ``rate``; None when it explored
    nothing."""
    exploration = shown.exploration
    if exploration is None or not shown.slots:
        return None
    ids = catalog.ids
    n = len(shown.slots)
    record = Impression(
        request_id,
        user,
        route,
        shown.now,
        tuple(ids[r] for r in shown.ids.tolist()),
        shown.slots,
        (None,) * n,
        (None,) * n,
        tuple(ids[r] for r in shown.greedy.tolist()),
        tuple(ids[r] for r in shown.model.tolist()),
        policy,
        rate,
    )
    return ImpressionDraft(record, exploration, shown.log_s)


def sample(shelf: Shelf) -> float | None:
    """Whether the next explored list on ``shelf`` is logged: its sampling rate, or None (no log,
    or not sampled: draw it without a posterior snapshot or greedy picks)."""
    return shelf.impressions.sample() if shelf.impressions is not None and shelf.bandit is not None else None


def log_list(
    shelf: Shelf, request_id: str, user: str, shown: ExploredList, rate: float | None = 1.0, route: str = ROUTE_USER
) -> bool:
    """Queue ``shown``, sampled at ``rate`` (:func:`sample`; None: not sampled), on ``shelf``'s
    impression log; False when there is none, it was not sampled, nothing was explored (then it is
    withdrawn from the sampler's counts: they are about explored lists), or the queue is full
    (counted there)."""
    logger, bandit = shelf.impressions, shelf.bandit
    if logger is None or bandit is None:
        return False
    if shown.exploration is None or not shown.slots:
        logger.sampler.withdraw(sampled=rate is not None)
        return False
    if rate is None:
        return False
    kind = str(getattr(bandit.policy, "KIND", type(bandit.policy).__name__))
    d = draft(shelf.catalog, request_id, user, route, shown, kind, rate)
    return d is not None and logger.log(d)


def explore_logged(
    shelf: Shelf,
    rec: HybridRecommender,
    explorer: SlotExplorer,
    request_id: str,
    user: str,
    k: int,
    filters: Filters | None,
    *,
    exclude_seen: bool = True,
    live: bool | None = None,
) -> tuple[ExploredList, bool]:
    """``user``'s top-``k`` with ``explorer``'s (``shelf.bandit``'s) exploration slots, and whether it was queued to the
    impression log under ``request_id``: a random sample of lists within the log's CPU budget
    (:func:`sample`), drawn with greedy picks only when sampled; a list not sampled is counted, not
    logged (:func:`log_list`)."""
    rate = sample(shelf)
    shown = recommend_with_exploration(
        rec, explorer, user, k, filters, exclude_seen=exclude_seen, live=live, greedy=rate is not None
    )
    return shown, log_list(shelf, request_id, user, shown, rate)
