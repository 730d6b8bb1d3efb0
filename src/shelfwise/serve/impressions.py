"""Handing a served list with explored slots to the shelf's impression logger (request side: ids
and the draws only; propensities are computed on the logger's thread)."""

from __future__ import annotations

from shelfwise.bandit.impression_log import ImpressionDraft
from shelfwise.catalog.schema import Catalog
from shelfwise.events.impressions import Impression
from shelfwise.recommend.explore import ExploredList
from shelfwise.shelf import Shelf

ROUTE_USER = "/recommend/user"


def draft(
    catalog: Catalog, request_id: str, user: str, route: str, shown: ExploredList, policy: str
) -> ImpressionDraft | None:
    """``shown`` as an :class:`ImpressionDraft` (item ids, not rows: a reload may renumber rows) of
    the exploration ``policy`` (its kind); None when it explored nothing."""
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
    )
    return ImpressionDraft(record, exploration)


def log_list(shelf: Shelf, request_id: str, user: str, shown: ExploredList, route: str = ROUTE_USER) -> bool:
    """Queue ``shown`` on ``shelf``'s impression log; False when there is none, nothing was
    explored, or the queue is full (counted there)."""
    logger, bandit = shelf.impressions, shelf.bandit
    if logger is None or bandit is None:
        return False
    kind = str(getattr(bandit.policy, "KIND", type(bandit.policy).__name__))
    d = draft(shelf.catalog, request_id, user, route, shown, kind)
    return d is not None and logger.log(d)
