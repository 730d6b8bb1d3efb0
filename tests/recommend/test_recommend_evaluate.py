"""Time-based split, metrics and weight tuning for recommenders (tiny fixtures)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import evaluate, holdout_report, split_last_sessions, truth_by_user
from shelfwise.recommend.evaluate import HoldoutConfig, buy_again_ranker, tune_weights


def test_split_holds_out_each_users_last_session(tiny_catalog: Catalog) -> None:
    ev = [
        Event("a", EventType.PURCHASE, 1.0, "p1", session_id="a1"),
        Event("a", EventType.PURCHASE, 5.0, "p2", session_id="a2"),
        Event("a", EventType.PURCHASE, 6.0, "p3", session_id="a2"),
        Event("b", EventType.PURCHASE, 2.0, "p4", session_id="b1"),  # single session: stays in train
    ]
    train, test = split_last_sessions(EventLog.from_events(ev, tiny_catalog))
    assert len(train) == 2 and len(test) == 2
    assert truth_by_user(test) == {"a": {tiny_catalog.row("p2"), tiny_catalog.row("p3")}}


def test_evaluate_metrics_and_cold_recall() -> None:
    counts = np.array([10, 5, 0, 1, 0], dtype=np.float32)  # items 2 and 4 are cold
    vectors = np.eye(5, dtype=np.float32)
    truth = {"u": {0, 2}, "v": {3}}
    lists = {"u": [2, 1, 0], "v": [1]}
    m = evaluate(lambda u: lists[u], truth, counts, vectors, k=3)
    assert m.recall == (1.0 + 0.0) / 2 and m.users == 2
    assert m.mrr == (1.0 + 0.0) / 2
    assert m.cold_users == 1 and m.cold_recall == 1.0
    assert m.long_tail_share == 3 / 4  # head = top ceil(20% of 5) = item 0 only
    assert m.coverage == 3 / 5


def test_tune_weights_finds_better_mix() -> None:
    def objective(w: dict[str, float], penalty: float) -> float:
        return -((w["a"] - 1.0) ** 2) - (w["b"] - 0.25) ** 2 - penalty

    w, p, score = tune_weights(objective, {"a": 0.1, "b": 0.1}, penalties=(0.5, 0.0))
    assert w == {"a": 1.0, "b": 0.25} and p == 0.0 and score == 0.0


def test_holdout_report_runs_on_tiny_log(tiny_catalog: Catalog, tiny_events: list[Event]) -> None:
    more = [Event(e.user_id, e.type, e.timestamp + 100, e.item_id, session_id=e.session_id + "-2") for e in tiny_events]
    log = EventLog.from_events(tiny_events + more, tiny_catalog)
    vec = HashingEncoder(dim=64).encode(tiny_catalog.texts())
    rep = holdout_report(tiny_catalog, log, vec, k=5)
    assert set(rep) == {"popularity", "buy-again", "hybrid"}
    assert rep["hybrid"].users == 4 and rep["hybrid"].recall >= rep["popularity"].recall


def test_holdout_report_says_why_nothing_can_be_held_out(tiny_catalog: Catalog) -> None:
    vec = HashingEncoder(dim=64).encode(tiny_catalog.texts())
    day = 86400.0 * 20_000  # date-only timestamps (midnight): one session per user and day
    one_day = [
        Event(u, EventType.PURCHASE, day, i, session_id=f"{u}-1") for u, i in (("a", "p1"), ("a", "p3"), ("b", "p2"))
    ]
    with pytest.raises(ValueError, match=r"2 users, at most 1 session each, 1 distinct days.*dates without a time"):
        holdout_report(tiny_catalog, EventLog.from_events(one_day, tiny_catalog), vec)
    again = [
        Event("a", EventType.PURCHASE, day + 86400.0, "p1", session_id="a-2")
    ]  # a's second day: the same item again
    with pytest.raises(ValueError, match="exclude_seen left nothing to evaluate"):
        holdout_report(tiny_catalog, EventLog.from_events(one_day + again, tiny_catalog), vec, exclude_seen=True)


def test_holdout_report_says_the_tuning_verdict_once_or_quietly(
    tiny_catalog: Catalog, tiny_events: list[Event], caplog: pytest.LogCaptureFixture
) -> None:
    """A tiny store keeps default weights: a WARNING, or INFO when the caller said its own verdict."""
    more = [Event(e.user_id, e.type, e.timestamp + 100, e.item_id, session_id=e.session_id + "-2") for e in tiny_events]
    log = EventLog.from_events(tiny_events + more, tiny_catalog)
    vec = HashingEncoder(dim=64).encode(tiny_catalog.texts())
    caplog.set_level(logging.INFO, logger="shelfwise.recommend")
    for quiet, level in ((False, logging.WARNING), (True, logging.INFO)):
        caplog.clear()
        holdout_report(tiny_catalog, log, vec, k=5, quiet_tuning=quiet)
        said = [r for r in caplog.records if r.getMessage().startswith("hybrid weights: defaults")]
        assert [r.levelno for r in said] == [level]


def test_buy_again_ranks_the_shoppers_own_items_by_count_then_popular_ones(tiny_catalog: Catalog) -> None:
    rows = [("a", "p3"), ("a", "p1"), ("a", "p3"), ("b", "p2"), ("b", "p2"), ("c", "p2"), ("c", "p4")]
    log = EventLog.from_events(
        [Event(u, EventType.PURCHASE, float(t), i, session_id=u) for t, (u, i) in enumerate(rows)], tiny_catalog
    )
    counts = np.bincount(log.item, minlength=len(tiny_catalog)).astype(np.float64)
    rank = buy_again_ranker(log, counts, 3)
    row = tiny_catalog.row
    assert rank("a") == [row("p3"), row("p1"), row("p2")]  # own: p3 twice, p1 once; then the most popular, p2
    assert rank("c") == [row("p2"), row("p4"), row("p3")]  # own tie (once each): the more popular first
    assert rank("new") == [row("p2"), row("p3"), row(min(("p1", "p4"), key=row))]  # no history: popular only


def test_holdout_report_holds_the_hybrid_to_buy_again_when_repeats_count(
    tiny_catalog: Catalog, tiny_events: list[Event]
) -> None:
    more = [Event(e.user_id, e.type, e.timestamp + 100, e.item_id, session_id=e.session_id + "-2") for e in tiny_events]
    log = EventLog.from_events(tiny_events + more, tiny_catalog)
    vec = HashingEncoder(dim=64).encode(tiny_catalog.texts())
    rep = holdout_report(tiny_catalog, log, vec, k=5)
    assert list(rep) == ["popularity", "buy-again", "hybrid"]
    assert rep["buy-again"].recall == 1.0  # every held-out session repeats an earlier one
    new = Event("u3", EventType.PURCHASE, 200.0, "p11", session_id="s-u3-2")  # one item new to its shopper
    log = EventLog.from_events([*tiny_events, *more, new], tiny_catalog)
    assert list(holdout_report(tiny_catalog, log, vec, k=5, exclude_seen=True)) == ["popularity", "hybrid"]


def test_holdout_report_keeps_its_call_and_forwards_a_holdout_config(
    tiny_catalog: Catalog, tiny_events: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The public wrapper's old call, positional or by keyword, reaches holdout_run as one typed
    HoldoutConfig; a bad k is refused naming the field."""
    more = [Event(e.user_id, e.type, e.timestamp + 100, e.item_id, session_id=e.session_id + "-2") for e in tiny_events]
    new = Event("u3", EventType.PURCHASE, 200.0, "p11", session_id="s-u3-2")  # one item new to its shopper
    log = EventLog.from_events([*tiny_events, *more, new], tiny_catalog)
    vec = HashingEncoder(dim=64).encode(tiny_catalog.texts())
    module = importlib.import_module("shelfwise.recommend.evaluate")  # the package exports a function of that name
    run = module.holdout_run
    seen: list[HoldoutConfig | None] = []

    def spy(*args: Any) -> Any:
        seen.append(args[4])
        return run(*args)

    monkeypatch.setattr(module, "holdout_run", spy)
    by_position = holdout_report(tiny_catalog, log, vec, None, 5, True, True)
    by_name = holdout_report(tiny_catalog, log, vec, k=5, exclude_seen=True, quiet_tuning=True)
    assert seen == [HoldoutConfig(5, True, True)] * 2
    assert by_position == by_name == run(tiny_catalog, log, vec, None, HoldoutConfig(5, True, True)).metrics
    assert list(by_name) == ["popularity", "hybrid"]  # exclude_seen: no buy-again row
    assert holdout_report(tiny_catalog, log, vec, k=5) == run(tiny_catalog, log, vec, None, HoldoutConfig(k=5)).metrics
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=r"HoldoutConfig\.k must be a whole number >= 1"):
            HoldoutConfig(k=bad)  # type: ignore[arg-type]
