"""A made-up impression log and its events, whose right answers are known: a Thompson logging
policy with fixed posteriors (so exact propensities) and a known click probability per item."""

from __future__ import annotations

import numpy as np

from shelfwise.bandit import BernoulliTS, ThompsonConfig
from shelfwise.bandit.propensity import ts_rank_probs
from shelfwise.events import Event, EventType
from shelfwise.events.impressions import Impression

ALPHA = np.array([2.0, 1.0, 1.0, 3.0, 1.0, 1.0, 2.0, 1.0])
BETA = np.array([5.0, 1.0, 3.0, 4.0, 2.0, 8.0, 3.0, 1.0])
CTR = np.array([0.05, 0.10, 0.02, 0.30, 0.08, 0.01, 0.15, 0.12])  # per arm of the explored pool
GREEDY = 3  # the arm the model would have put in the slot
DISPLACED_CTR = 0.2  # the deterministic list's item for the explored slot, shown one place lower


def _event(user: str, item: str, t: float, kind: EventType = EventType.CLICK) -> Event:
    return Event(user_id=user, item_id=item, type=kind, timestamp=t)


def simulated(n: int, seed: int) -> tuple[list[Impression], list[Event]]:
    """``n`` lists of four: two model items, the explored slot (position 2), the displaced model
    item at 3 (its place in the model's own list was 2); clicks drawn from the known rates."""
    rng = np.random.default_rng(seed)
    policy = BernoulliTS(len(ALPHA), ThompsonConfig(seed=seed), alpha=ALPHA, beta=BETA)
    picks = policy.select(n, 1)[:, 0]
    pool = np.ones(len(ALPHA), dtype=bool)
    prob = {a: ts_rank_probs(ALPHA, BETA, pool, np.array([a])).slot[0] for a in range(len(ALPHA))}
    imps, events = [], []
    for i, arm in enumerate(picks.tolist()):
        user, t = f"u{i}", 10.0 * i
        items = ("m0", "m1", f"a{arm}", f"d{i}")
        model = ("m0", "m1", f"d{i}", f"x{i}")
        imps.append(
            Impression(
                f"r{i}",
                user,
                "/recommend/user",
                t,
                items,
                (2,),
                (prob[arm],),
                (prob[arm],),
                (f"a{GREEDY}",),
                model,
                "bernoulli_ts",
            )
        )
        if rng.random() < CTR[arm]:
            events.append(_event(user, f"a{arm}", t + 5.0, EventType.CART))
        if rng.random() < DISPLACED_CTR:
            events.append(_event(user, f"d{i}", t + 7.0))
    events.append(_event("clock", "m0", 10.0 * n + 4000.0, EventType.VIEW))  # every list's window closed
    return imps, events
