"""Exploration slots in ranked lists (long-tail exposure, rewards from events) and replay."""

from __future__ import annotations

from typing import Any

import numpy as np

from contracts.updatable import UpdatableContract
from shelfwise.bandit import (
    BanditLog,
    BernoulliTS,
    EpsilonGreedy,
    EpsilonGreedyConfig,
    LinUCB,
    LinUCBConfig,
    ReplayConfig,
    SlotConfig,
    SlotExplorer,
    feature_dim,
    replay,
)
from shelfwise.catalog import Catalog
from shelfwise.events import Event, EventLog, EventType, Updatable
from shelfwise.results import Results


def test_slots_explore_tail_and_learn(tiny_catalog: Catalog) -> None:
    ex = SlotExplorer(
        tiny_catalog, config=SlotConfig(explore_share=0.25, first_slot=2, head_fraction=0.5, reward_window_s=10)
    )
    assert isinstance(ex, Updatable)
    ranked = Results(np.arange(6, dtype=np.int64), np.linspace(1, 0.5, 6).astype(np.float32))
    pop = np.array([9, 8, 7, 6, 5, 4, 0, 0, 0, 0, 1, 1], dtype=float)
    e = ex.explore(ranked, 4, user="u", now=0.0, popularity=pop)
    out, slots = e.results, e.slots
    assert len(out) == 4 and slots == [2] and out.ids.tolist()[:2] + out.ids.tolist()[3:] == [0, 1, 2]
    explored = int(out.ids[2])
    assert explored >= 6  # not in the model's list, not in the popularity head
    policy = ex.policy
    assert isinstance(policy, BernoulliTS)
    ex.update([Event("u", EventType.CLICK, 5.0, tiny_catalog.ids[explored])])
    assert policy.wins[explored] == 1 and policy.plays[explored] == 1
    slots2 = ex.explore(ranked, 4, user="v", now=100.0, popularity=pop).slots
    assert slots2 == [2]
    ex.update([Event("x", EventType.VIEW, 200.0, "p1")])  # window passed: v's showing is a failure
    assert policy.plays.sum() == 2 and policy.wins.sum() == 1
    none = SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.0)).explore(ranked, 4)
    assert none.slots == [] and none.draws == () and none.results.ids.tolist() == [0, 1, 2, 3]


def _log(n: int = 6000, seed: int = 0) -> BanditLog:
    rng = np.random.default_rng(seed)
    action = rng.integers(0, 3, n)
    ctr = np.array([0.02, 0.05, 0.3])
    return BanditLog(
        action=action.astype(np.int64),
        position=np.zeros(n, dtype=np.int64),
        reward=(rng.random(n) < ctr[action]).astype(float),
        pscore=np.full(n, 1 / 3),
        context=np.zeros((n, 1)),
        affinity=np.zeros((n, 3)),
        action_context=np.eye(3),
    )


def test_replay_bandit_beats_random() -> None:
    log = _log()
    ts = replay(BernoulliTS(3), log, ReplayConfig(n_rows=6000))
    rnd = replay(EpsilonGreedy(3, EpsilonGreedyConfig(epsilon=1.0)), log)
    assert 1500 < rnd.matched < 2500 and abs(rnd.ctr - 0.123) < 0.03  # uniform policy matches 1/3 of rows
    assert ts.ctr > rnd.ctr + 0.08 and ts.cumulative[-1] == ts.rewards.sum()
    lin = replay(LinUCB(3, LinUCBConfig(dim=feature_dim(log), alpha=0.3)), log, ReplayConfig(contextual=True))
    assert lin.ctr > rnd.ctr + 0.05
    boot = replay(BernoulliTS(3), log, ReplayConfig(n_rows=9000, bootstrap=True, seed=3))
    assert boot.rows == 9000 and boot.matched > 2000


class TestSlotExplorerUpdatable(UpdatableContract):
    """Clicks and purchases on items just shown in an exploration slot reward the policy."""

    def make(self, catalog: Catalog, log: EventLog) -> SlotExplorer:
        ex = SlotExplorer(catalog, config=SlotConfig(explore_share=1.0, first_slot=0, head_fraction=0.0))
        allowed = np.zeros(len(catalog), dtype=bool)
        allowed[[catalog.row("p7"), catalog.row("p8")]] = True
        ex.explore(Results.empty(), 2, user="u9", now=19.0, allowed=allowed)
        return ex

    def observe(self, obj: Any) -> Any:
        assert isinstance(obj.policy, BernoulliTS)
        return obj.policy.plays.copy(), obj.policy.wins.copy()
