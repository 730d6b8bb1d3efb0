"""Off-policy evaluation of a store's own exploration slots, from its impression and event logs.

Rewards (:func:`join_rewards`): a click, cart or purchase credits at most one showing of its item,
by one of two rules:

* exact, when the event carries a ``request_id`` (the ``/recommend`` answer it was made from, which
  the storefront and any client can send to ``POST /events``, as with Algolia Insights' ``queryID``):
  the logged list of that id, if it showed the event's item and the event is at most ``window_s``
  after it was shown (earlier is taken as clock skew: the id says it was shown). The shopper need not
  match (one who signs in between still credits the list). An event whose ``request_id`` names no
  logged list showing its item credits nothing (``unmatched``): it says it came from another list
  (one not sampled into the log, ``/search``, a related-items rail), so crediting a logged list that
  also showed the item, as the window rule would, is the misattribution the id exists to prevent.
* the window rule, for an event without a ``request_id``: by the shopper a list was shown to, on an
  item it showed, within ``window_s`` after it was shown; when several lists showed the item to the
  shopper before the event, the latest one (last touch).

Lists shown less than ``window_s`` before the horizon (the log's latest event, or ``until``) are
still open and left out.

Estimates (:func:`evaluate_impressions`), per explored slot of the closed lists:

* ``explored``: the click rate the bandit's picks had (on-policy: a mean, no weights).
* ``greedy``: the click rate had each explored slot shown the item the list's own scores rank at
  that pick's rank in the same pool (the model's pick instead of the bandit's), off-policy from the
  logged propensities with :func:`~shelfwise.bandit.ope.evaluate_actions` (IPW, SNIPW, DM, DR).
* ``displaced``: the click rate of the items the deterministic list had in those slots (the
  model's own ranking, which exploration pushed one or more places down), observed where the list
  showed them. Off-policy evaluation cannot give their rate in the explored slot itself: the
  logging policy never puts a deterministic item there (its propensity is 0), so this rate is
  measured lower in the list; under position bias (fewer clicks further down) it is a lower bound
  on what they would have had in the slot. Items pushed off the end of the list are not observed.

Slots a deterministic policy explored (UCB1: its picks follow from its state, propensity 1 but
for exact ties) give no ``greedy`` estimate: any other pick had probability 0 there (no overlap),
so an importance-weighted mean over them would rest on the slots where the two happened to agree
and say nothing about the rest; the report says so instead of printing numbers.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from shelfwise.bandit.mab import UCB1
from shelfwise.bandit.ope import BanditLog, Estimate, OPEReport, evaluate_actions, mean_estimate
from shelfwise.bandit.slots import POSITIVE
from shelfwise.events.impressions import Impression
from shelfwise.events.schema import Event

DEFAULT_WINDOW_S = 1800.0
MIN_SLOTS = 100  # closed explored slots below which a click rate is called too little data
MIN_OVERLAP = 10  # slots where the greedy pick was the logged one, below which IPW says nothing
DETERMINISTIC = frozenset({UCB1.KIND})  # logging policies whose picks are fixed by their state


def deterministic(imp: Impression) -> bool:
    """Whether ``imp`` was explored by a deterministic policy (:data:`DETERMINISTIC`): its slots
    support no off-policy estimate of another pick."""
    return imp.policy in DETERMINISTIC


@dataclass(frozen=True)
class Joined:
    """Closed ``impressions`` with ``rewards`` (per impression, 0/1 per shown position), how many
    were still ``open`` at the ``horizon``, the showings credited (each once), of the positive events
    those ``exact`` by ``request_id``, and the positive events whose ``request_id`` named no logged
    showing of their item within the window (``unmatched``: credited nothing)."""

    impressions: list[Impression]
    rewards: list[tuple[float, ...]]
    open: int
    horizon: float
    credited: int
    exact: int = 0
    unmatched: int = 0


def join_rewards(
    impressions: Sequence[Impression],
    events: Iterable[Event],
    window_s: float = DEFAULT_WINDOW_S,
    until: float | None = None,
) -> Joined:
    """Each impression's reward per shown position (see the module docstring)."""
    if not window_s > 0:
        raise ValueError(f"window_s must be > 0, got {window_s}")
    users = {i.user_id for i in impressions}
    by_request = {imp.request_id: n for n, imp in enumerate(impressions)}
    shown: dict[tuple[str, str], list[tuple[float, int, int]]] = defaultdict(list)
    for n, imp in enumerate(impressions):
        for pos, item in enumerate(imp.items):
            shown[(imp.user_id, item)].append((imp.timestamp, n, pos))
    for v in shown.values():
        v.sort()
    rewards = [[0.0] * len(i.items) for i in impressions]
    latest, credited, exact, unmatched = float("-inf"), 0, 0, 0
    for e in events:
        latest = max(latest, e.timestamp)
        if e.type not in POSITIVE:
            continue
        if e.request_id:
            hit = _exact(impressions, by_request.get(e.request_id), e, window_s)
            exact += hit is not None
            unmatched += hit is None
        else:
            hit = _window(shown.get((e.user_id, e.item_id)), e, window_s) if e.user_id in users else None
        if hit is not None:
            n, pos = hit
            credited += rewards[n][pos] == 0.0
            rewards[n][pos] = 1.0
    horizon = until if until is not None else latest
    keep = [n for n, i in enumerate(impressions) if i.timestamp + window_s <= horizon]
    closed = [impressions[n] for n in keep]
    rew = [tuple(rewards[n]) for n in keep]
    return Joined(closed, rew, len(impressions) - len(closed), horizon, credited, exact, unmatched)


def _exact(impressions: Sequence[Impression], n: int | None, e: Event, window_s: float) -> tuple[int, int] | None:
    """(list, position) of ``e``'s item in the logged list its ``request_id`` names, when that list
    showed it at most ``window_s`` before ``e``; else None."""
    if n is None:
        return None
    imp = impressions[n]
    if e.item_id not in imp.items or e.timestamp - imp.timestamp > window_s:
        return None
    return n, imp.items.index(e.item_id)


def _window(seen: list[tuple[float, int, int]] | None, e: Event, window_s: float) -> tuple[int, int] | None:
    """(list, position) of the latest showing in ``seen`` (the shopper's, of ``e``'s item, by time)
    at or before ``e`` and at most ``window_s`` before it; else None."""
    if not seen:
        return None
    at = bisect.bisect_right(seen, (e.timestamp, float("inf"), 0)) - 1
    if at >= 0 and e.timestamp - seen[at][0] <= window_s:
        _, n, pos = seen[at]
        return n, pos
    return None


@dataclass(frozen=True)
class Rate:
    """A click rate over ``n`` slots with ``clicks``; ``estimate`` its mean and standard error."""

    n: int
    clicks: int
    estimate: Estimate


def _rate(r: Sequence[float]) -> Rate:
    a = np.asarray(r, dtype=np.float64)
    return Rate(len(a), int(a.sum()), mean_estimate(a))


@dataclass(frozen=True)
class Sampling:
    """How the closed lists were sampled into the log (``Impression.sample_rate``): the lowest and
    highest rate, and how many explored lists they stand for (the sum of ``1 / rate``)."""

    lists: int
    min_rate: float
    max_rate: float
    stands_for: float

    @classmethod
    def of(cls, impressions: Sequence[Impression]) -> Sampling:
        rates = np.asarray([i.sample_rate for i in impressions], dtype=np.float64)
        if not len(rates):
            return cls(0, float("nan"), float("nan"), 0.0)
        return cls(len(rates), float(rates.min()), float(rates.max()), float((1.0 / rates).sum()))


@dataclass(frozen=True)
class ImpressionOPE:
    """What :func:`evaluate_impressions` found; ``notes`` say where data are too few to trust it."""

    lists: int
    sampling: Sampling
    explored: Rate
    displaced: Rate
    displaced_unseen: int
    greedy: OPEReport | None
    greedy_slots: int
    overlap: int
    notes: list[str]
    deterministic: int = 0  # explored slots a deterministic policy filled: left out of ``greedy``


@dataclass(frozen=True)
class _Slot:
    item: str
    reward: float
    propensity: float | None
    greedy: str
    position: int
    deterministic: bool = False


def _slots(joined: Joined) -> tuple[list[_Slot], list[float], int]:
    """The explored slots, the rewards of their displaced deterministic items where shown, and how
    many of those were not shown (pushed off the list)."""
    slots: list[_Slot] = []
    displaced: list[float] = []
    unseen = 0
    for imp, rew in zip(joined.impressions, joined.rewards, strict=True):
        at = {item: pos for pos, item in enumerate(imp.items)}
        for r, pos in enumerate(imp.explored):
            slots.append(_Slot(imp.items[pos], rew[pos], imp.propensity[r], imp.greedy[r], pos, deterministic(imp)))
            model = imp.model_items[pos] if pos < len(imp.model_items) else None
            if model is not None and model in at:
                displaced.append(rew[at[model]])
            elif model is not None:
                unseen += 1
    return slots, displaced, unseen


def evaluate_impressions(joined: Joined, *, min_slots: int = MIN_SLOTS, folds: int = 3, seed: int = 0) -> ImpressionOPE:
    """The explored slots' click rate, the greedy alternative's off-policy estimates and the
    displaced deterministic items' observed rate, with notes where data are too few."""
    slots, displaced, unseen = _slots(joined)
    notes: list[str] = []
    explored = _rate([s.reward for s in slots])
    if explored.n < min_slots:
        notes.append(
            f"too little data: {explored.n} explored slots with a closed reward window ({joined.open} lists still "
            f"open); a click rate needs at least {min_slots} (--min-slots) before it says anything"
        )
    elif explored.clicks == 0:
        notes.append(f"no click on any of {explored.n} explored slots yet: the standard error 0 means nothing")
    fixed = sum(s.deterministic for s in slots)
    if fixed:
        kinds = ", ".join(sorted({i.policy for i in joined.impressions if deterministic(i)}))
        notes.append(
            f"{fixed} explored slots were filled by a deterministic logging policy ({kinds}: its picks follow from "
            "its state): off-policy estimates are impossible for them (no overlap: any other pick, the model's "
            "included, had probability 0), so they are left out of the greedy estimate"
        )
    randomised = [s for s in slots if not s.deterministic]
    usable = [s for s in randomised if s.propensity is not None and s.propensity > 0]
    if len(usable) < len(randomised):
        notes.append(
            f"{len(randomised) - len(usable)} explored slots have no usable propensity (a policy whose propensities "
            "are not computed, or one below float precision): left out of the greedy estimate"
        )
    greedy, overlap = None, 0
    if usable:
        log, target = _bandit_log(usable)
        overlap = int((target == log.action).sum())
        greedy = evaluate_actions(log, target, folds=folds, seed=seed) if overlap else None
    if overlap < MIN_OVERLAP and randomised:
        notes.append(
            f"too little overlap for the greedy estimate: the model's pick was the bandit's in {overlap} of "
            f"{len(usable)} slots (at least {MIN_OVERLAP} needed); IPW / SNIPW / DR rest on those alone"
        )
    elif greedy is not None and greedy.ess < MIN_OVERLAP:
        notes.append(f"greedy estimate rests on an effective sample of {greedy.ess:.1f} slots: unreliable")
    sampling = Sampling.of(joined.impressions)
    if sampling.lists and sampling.max_rate > 2 * sampling.min_rate:
        notes.append(
            f"lists were sampled at rates from {sampling.min_rate:.3g} to {sampling.max_rate:.3g} (the log's CPU "
            "budget under changing load): busy periods count less in these estimates; they hold for all explored "
            "lists if click rates do not move with load"
        )
    if unseen:
        notes.append(f"{unseen} displaced items were pushed off the list (not shown): their rate is not observed")
    return ImpressionOPE(
        len(joined.impressions),
        sampling,
        explored,
        _rate(displaced),
        unseen,
        greedy,
        len(usable),
        overlap,
        notes,
        fixed,
    )


def _bandit_log(slots: Sequence[_Slot]) -> tuple[BanditLog, np.ndarray]:
    """The explored slots as a :class:`BanditLog` over the items they involve (logged or greedy,
    numbered in first-seen order) and the greedy target action per slot."""
    code: dict[str, int] = {}
    action = np.asarray([code.setdefault(s.item, len(code)) for s in slots], dtype=np.int64)
    target = np.asarray([code.setdefault(s.greedy, len(code)) for s in slots], dtype=np.int64)
    n, m = len(slots), len(code)
    log = BanditLog(
        action=action,
        position=np.asarray([s.position for s in slots], dtype=np.int64),
        reward=np.asarray([s.reward for s in slots], dtype=np.float64),
        pscore=np.asarray([s.propensity for s in slots], dtype=np.float64),
        context=np.zeros((n, 0)),
        affinity=np.broadcast_to(np.zeros(1), (n, m)),  # unused here: a read-only view, no n x m table
        action_context=np.zeros((m, 0)),
    )
    return log, target
