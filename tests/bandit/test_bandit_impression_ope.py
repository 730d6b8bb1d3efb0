"""Rewards joined to logged impressions, and the explored-slot estimates, on made-up logs whose
right answers are known: a Thompson logging policy with fixed posteriors (so exact propensities)
and a known click probability per item."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from impression_logs import ALPHA, BETA, CTR, DISPLACED_CTR, GREEDY, simulated
from shelfwise.bandit.impression_ope import evaluate_impressions, join_rewards
from shelfwise.bandit.propensity import ts_rank_probs
from shelfwise.events import Event, EventType
from shelfwise.events.impressions import Impression


def _imp(n: int, user: str, t: float, items: tuple[str, ...], explored: tuple[int, ...] = (1,)) -> Impression:
    k = len(explored)
    return Impression(
        f"r{n}", user, "/recommend/user", t, items, explored, (0.5,) * k, (0.5,) * k, ("g",) * k, items, "bernoulli_ts"
    )


def _event(user: str, item: str, t: float, kind: EventType = EventType.CLICK, rid: str = "") -> Event:
    return Event(user_id=user, item_id=item, type=kind, timestamp=t, request_id=rid)


def test_a_positive_event_within_the_window_credits_the_latest_showing() -> None:
    imps = [_imp(0, "u", 0.0, ("a", "b")), _imp(1, "u", 100.0, ("c", "b")), _imp(2, "v", 0.0, ("a", "b"))]
    events = [
        _event("u", "b", 150.0),  # shown to u at 0 and 100: the latter gets it
        _event("u", "a", 1900.0),  # 1900 s after its showing: outside 30 minutes
        _event("v", "b", 10.0, EventType.VIEW),  # a view is no reward
        _event("v", "a", -5.0),  # before the showing
        _event("w", "a", 5.0),  # another shopper
        _event("x", "z", 5000.0),  # the horizon
    ]
    got = join_rewards(imps, events, window_s=1800.0)
    assert got.rewards == [(0.0, 0.0), (0.0, 1.0), (0.0, 0.0)] and got.credited == 1 and got.open == 0
    late = join_rewards(imps, events, window_s=1800.0, until=1850.0)  # the list at 100 s is still open
    assert [i.request_id for i in late.impressions] == ["r0", "r2"] and late.open == 1
    with pytest.raises(ValueError, match="window_s"):
        join_rewards(imps, events, window_s=0.0)


def test_a_request_id_credits_its_own_list_where_the_window_rule_would_credit_another() -> None:
    """u was shown b by r0 (t=0) and by r1 (t=100), c by r1 only: the window rule gives each click to
    the latest showing; a click naming its list goes there, and one naming a list not logged (or
    one that did not show its item) credits nothing."""
    imps = [_imp(0, "u", 0.0, ("a", "b")), _imp(1, "u", 100.0, ("c", "b"))]
    tail = [_event("x", "z", 5000.0)]  # the horizon: every list closed
    clicks = [_event("u", "b", 150.0), _event("u", "c", 160.0)]
    window = join_rewards(imps, clicks + tail)
    assert window.rewards == [(0.0, 0.0), (1.0, 1.0)] and (window.exact, window.unmatched) == (0, 0)
    named = [
        _event("u", "b", 150.0, rid="r0"),  # from the first list, though the second showed b later
        _event("u", "c", 160.0, rid="r-unlogged"),  # from a list not in the log (not sampled, /search, ...)
        _event("u", "a", 170.0, rid="r1"),  # r1 did not show a: the window rule would credit r0
        _event("v", "c", 180.0, EventType.CART, rid="r1"),  # another shopper id (signed in): still r1's
    ]
    exact = join_rewards(imps, named + tail)
    assert exact.rewards == [(0.0, 1.0), (1.0, 0.0)]
    assert (exact.credited, exact.exact, exact.unmatched) == (2, 2, 2)
    late = join_rewards(imps, [_event("u", "b", 2000.0, rid="r0"), *tail])  # past the window: nothing
    assert late.rewards == [(0.0, 0.0), (0.0, 0.0)] and late.unmatched == 1
    # without request ids the same events follow the window rule, as before
    plain = join_rewards(imps, [_event(e.user_id, e.item_id, e.timestamp, e.type) for e in named] + tail)
    assert plain.rewards == [(1.0, 0.0), (1.0, 1.0)] and plain.exact == 0


def test_estimates_land_within_their_error_of_the_truth() -> None:
    imps, events = simulated(6000, seed=4)
    pool = np.ones(len(ALPHA), dtype=bool)
    incl = np.array([ts_rank_probs(ALPHA, BETA, pool, np.array([a])).slot[0] for a in range(len(ALPHA))])
    res = evaluate_impressions(join_rewards(imps, events), min_slots=100)
    assert res.lists == 6000 and res.explored.n == 6000 and res.displaced_unseen == 6000 - res.displaced.n == 0
    checks = [(res.explored.estimate, float(incl @ CTR)), (res.displaced.estimate, DISPLACED_CTR)]
    assert res.greedy is not None and res.greedy.dr is not None
    checks += [(e, CTR[GREEDY]) for e in (res.greedy.ipw, res.greedy.snipw, res.greedy.dr)]
    for est, truth in checks:
        assert abs(est.value - truth) < 3.5 * est.stderr, (est, truth)
    assert res.explored.estimate.value < CTR[GREEDY] - 0.05  # the greedy pick is the better one here
    assert res.overlap == sum(i.items[2] == f"a{GREEDY}" for i in imps) and not res.notes


def test_too_little_data_is_said() -> None:
    imps, events = simulated(40, seed=1)
    res = evaluate_impressions(join_rewards(imps, events), min_slots=100)
    assert any(n.startswith("too little data: 40 explored slots") for n in res.notes)
    assert any(n.startswith("too little overlap") for n in res.notes)


def test_wrong_propensities_move_the_estimate_off_the_truth() -> None:
    """The check can fail: the same log with every propensity halved doubles IPW's answer."""
    imps, events = simulated(6000, seed=4)
    bad = [
        Impression(
            i.request_id,
            i.user_id,
            i.route,
            i.timestamp,
            i.items,
            i.explored,
            tuple(p / 2 for p in i.propensity if p is not None),
            i.inclusion,
            i.greedy,
            i.model_items,
            i.policy,
        )
        for i in imps
    ]
    res = evaluate_impressions(join_rewards(bad, events))
    assert res.greedy is not None
    assert abs(res.greedy.ipw.value - CTR[GREEDY]) > 3.5 * res.greedy.ipw.stderr


def test_a_deterministic_logging_policy_gets_no_off_policy_estimate_but_a_note() -> None:
    """UCB1's picks follow from its state (propensity 1): IPW over the slots where the model's pick
    happened to be its own would print a number about nothing; the report says why there is none."""
    imps, events = simulated(600, seed=2)
    ucb = [
        replace(i, policy="ucb1", propensity=(1.0,) * len(i.explored), inclusion=(1.0,) * len(i.explored)) for i in imps
    ]
    res = evaluate_impressions(join_rewards(ucb, events), min_slots=100)
    assert res.greedy is None and res.greedy_slots == 0 and res.deterministic == res.explored.n > 0
    [note] = [n for n in res.notes if "deterministic" in n]
    assert "off-policy estimates are impossible" in note and "ucb1" in note and "no overlap" in note
    assert not any(n.startswith("too little overlap") for n in res.notes)  # not a data shortage: impossible
    mixed = evaluate_impressions(join_rewards(imps + [replace(u, request_id=u.request_id + "u") for u in ucb], events))
    assert mixed.greedy is not None and mixed.greedy_slots == len(imps) and mixed.deterministic == len(ucb)
