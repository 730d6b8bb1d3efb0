"""The background impression logger: exact propensities from the posterior a selection saw, written
off the request path; a full queue drops (and counts) rather than blocking a request."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from shelfwise.bandit import UCB1, BernoulliTS, SlotConfig, SlotExplorer, impression_log
from shelfwise.bandit.impression_log import ImpressionDraft, ImpressionLogger
from shelfwise.bandit.mab import EpsilonGreedy, EpsilonGreedyConfig
from shelfwise.bandit.propensity import ranked_rank_probs, ts_rank_probs
from shelfwise.bandit.slots import Exploration
from shelfwise.catalog import Catalog
from shelfwise.events.impressions import Impression, ImpressionStore
from shelfwise.results import Results

BASE = Results(np.array([0, 1, 2], dtype=np.int64), np.array([1.0, 0.9, 0.8], dtype=np.float32))


def _draft(cat: Catalog, e: Exploration, rid: str) -> ImpressionDraft:
    ids = tuple(cat.ids[r] for r in e.results.ids.tolist())
    n = len(e.slots)
    greedy = tuple(cat.ids[r] for r in e.picks.tolist())
    model = tuple(cat.ids[r] for r in BASE.ids.tolist())
    policy = str(getattr(e, "policy", ""))
    record = Impression(
        rid, "u", "/recommend/user", 1.0, ids, tuple(e.slots), (None,) * n, (None,) * n, greedy, model, policy
    )
    return ImpressionDraft(record, e)


def test_logged_propensities_are_the_exact_ones_of_the_posterior_the_pick_saw(tiny_catalog: Catalog) -> None:
    ex = SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.5, first_slot=1, head_fraction=0.0))
    ex.policy.update(np.array([3, 3, 4, 5]), np.array([1.0, 1.0, 0.0, 1.0]))  # posteriors differ by arm
    e = ex.explore(BASE, 4, user="u")
    assert e.posterior is not None
    alpha, beta = (a.copy() for a in e.posterior)
    ex.policy.update(e.picks, np.zeros(len(e.picks)))  # learning after the showing must not change its record
    logger = ImpressionLogger(ImpressionStore(":memory:"))
    assert logger.log(_draft(tiny_catalog, e, "r1"))
    assert logger.flush()
    [imp] = logger.store.read().impressions
    want = ts_rank_probs(alpha, beta, e.draws[0].pool, e.draws[0].picks)
    np.testing.assert_allclose(imp.propensity, want.slot)
    np.testing.assert_allclose(imp.inclusion, want.inclusion)
    assert imp.items[imp.explored[0]] == tiny_catalog.ids[int(e.picks[0])] and logger.logged == 1
    logger.close()


def test_epsilon_greedy_and_ucb1_log_their_closed_form_propensities(tiny_catalog: Catalog) -> None:
    n = len(tiny_catalog)
    for policy in (EpsilonGreedy(n, EpsilonGreedyConfig(epsilon=0.2)), UCB1(n)):
        ex = SlotExplorer(tiny_catalog, policy, SlotConfig(explore_share=0.5, first_slot=1, head_fraction=0.0))
        policy.update(np.array([3, 4, 5, 6]), np.array([1.0, 0.0, 1.0, 0.0]))
        e = ex.explore(BASE, 4, user="u")
        assert e.ranking is not None and e.posterior is None
        scores = e.ranking.scores.copy()
        policy.update(e.picks, np.zeros(len(e.picks)))  # learning after the showing must not change its record
        assert ex.explore(BASE, 4, user="u").ranking is not e.ranking  # a fresh snapshot after an update
        logger = ImpressionLogger(ImpressionStore(":memory:"))
        logger.log(_draft(tiny_catalog, e, "r1"))
        logger.flush()
        [imp] = logger.store.read().impressions
        want = ranked_rank_probs(scores, e.ranking.epsilon, e.draws[0].pool, e.draws[0].picks)
        np.testing.assert_allclose(imp.propensity, want.slot)
        np.testing.assert_allclose(imp.inclusion, want.inclusion)
        assert all(p is not None and p > 0 for p in imp.propensity)
        logger.close()


def test_other_policies_log_no_propensity(tiny_catalog: Catalog) -> None:
    e = replace(
        SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.5, first_slot=1)).explore(BASE, 4, user="u"),
        posterior=None,
    )  # what a policy with no snapshot (another kind) leaves
    logger = ImpressionLogger(ImpressionStore(":memory:"))
    logger.log(_draft(tiny_catalog, e, "r1"))
    logger.flush()
    [imp] = logger.store.read().impressions
    assert imp.propensity == (None,) * len(e.slots)
    logger.close()


class _Stuck(ImpressionStore):
    """A store whose commits wait until released, saying when the first one began."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.entered, self.release = threading.Event(), threading.Event()

    def append(self, impressions: list[Impression]) -> int:  # type: ignore[override]
        self.entered.set()
        self.release.wait(10)
        return super().append(impressions)


def test_a_full_queue_drops_and_counts(tiny_catalog: Catalog) -> None:
    ex = SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.5, first_slot=1, head_fraction=0.0))
    store = _Stuck()
    logger = ImpressionLogger(store, max_queue=1)
    assert logger.log(_draft(tiny_catalog, ex.explore(BASE, 4), "r1"))
    assert store.entered.wait(10)  # the thread holds r1
    assert logger.log(_draft(tiny_catalog, ex.explore(BASE, 4), "r2"))  # fills the queue
    assert not logger.log(_draft(tiny_catalog, ex.explore(BASE, 4), "r3"))
    store.release.set()
    assert logger.flush() and (logger.logged, logger.dropped) == (2, 1)
    assert [i.request_id for i in store.read().impressions] == ["r1", "r2"]
    logger.close()


def test_an_unlogged_list_takes_no_snapshot_and_a_logged_one_shares_it_until_an_update(tiny_catalog: Catalog) -> None:
    ex = SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.5, first_slot=1, head_fraction=0.0))
    assert ex.explore(BASE, 4, snapshot=False).posterior is None
    a, b = ex.explore(BASE, 4), ex.explore(BASE, 4)
    assert a.posterior is not None and b.posterior is not None and a.posterior[0] is b.posterior[0]
    assert b.snapshot_s == 0.0  # shared: nothing copied
    ex.policy.update(np.array([3]), np.array([1.0]))
    c = ex.explore(BASE, 4)
    assert (
        c.posterior is not None and c.posterior[0] is not a.posterior[0] and c.posterior[0][3] == a.posterior[0][3] + 1
    )


class _PausingQueue(queue.Queue[ImpressionDraft | None]):
    """A queue whose draft puts stop between the logger's closed check and the put itself until the
    stop marker is queued (or ``wait_s`` passes: a logger whose close waits for the put)."""

    def __init__(self, maxsize: int = 0, wait_s: float = 0.5) -> None:
        super().__init__(maxsize)
        self.entered, self.marker, self.wait_s = threading.Event(), threading.Event(), wait_s

    def put_nowait(self, item: ImpressionDraft | None) -> None:
        if item is not None:
            self.entered.set()
            self.marker.wait(self.wait_s)
        super().put_nowait(item)

    def put(self, item: ImpressionDraft | None, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        if item is None:
            self.marker.set()


def test_a_list_logged_while_the_log_closes_is_written_or_counted_dropped_and_flush_returns(
    tiny_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[_PausingQueue] = []

    def pausing(maxsize: int = 0) -> _PausingQueue:
        made.append(_PausingQueue(maxsize))
        return made[-1]

    monkeypatch.setattr(impression_log, "queue", SimpleNamespace(Queue=pausing, Full=queue.Full, Empty=queue.Empty))
    ex = SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.5, first_slot=1, head_fraction=0.0))
    store = ImpressionStore(":memory:")
    monkeypatch.setattr(store, "close", lambda: None)  # read it after the logger closes
    logger = ImpressionLogger(store)
    said: list[bool] = []
    in_log = threading.Thread(target=lambda: said.append(logger.log(_draft(tiny_catalog, ex.explore(BASE, 4), "r1"))))
    in_log.start()
    assert made[0].entered.wait(5)  # the list passed the closed check; close() now races its put
    closing = threading.Thread(target=logger.close)
    closing.start()
    in_log.join(5)
    closing.join(5)
    t = time.monotonic()
    assert logger.flush(timeout=3)
    assert time.monotonic() - t < 1
    written = [i.request_id for i in store.read().impressions]
    assert (said, written, logger.logged) == ([True], ["r1"], 1) or (said, logger.dropped) == ([False], 1)
    assert logger.logged + logger.dropped == 1


def test_a_snapshot_is_never_reused_for_a_new_policy_at_a_freed_address(tiny_catalog: Catalog) -> None:
    ex = SlotExplorer(tiny_catalog, config=SlotConfig(explore_share=0.5, first_slot=1, head_fraction=0.0))
    n = len(tiny_catalog)
    plays, wins = np.zeros(n), np.zeros(n)  # the same counts, new priors: only the policy tells them apart
    for i in range(20):
        for _ in range(2):  # the second policy is made after the one the snapshot saw is freed: CPython
            ex.policy = BernoulliTS(n, alpha=np.full(n, 1.0 + i))  # tends to give it the same address (id)
            ex.policy.plays, ex.policy.wins = plays, wins
        e = ex.explore(BASE, 4)
        assert e.posterior is not None and e.posterior[0][0] == 1.0 + i, i  # version 0 every time
