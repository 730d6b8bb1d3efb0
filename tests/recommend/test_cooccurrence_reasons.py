"""A bought-together reason names the history item whose term scored the listed item (pair count x
its weight / its basket count ** alpha, as ``score`` sums it), not the one with the most raw
co-occurrences, which favours popular partners."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import Context, Interactions
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender


def _fitted(baskets: list[tuple[int, list[str]]]) -> CooccurrenceRecommender:
    """Co-occurrence fitted on ``(times, items)`` baskets of purchases over products A, B, T, X."""
    cat = Catalog([Product(id=i, title=f"item {i}") for i in ("A", "B", "T", "X")])
    events: list[Event] = []
    for times, items in baskets:
        for _ in range(times):
            s = f"s{len(events)}"
            events += [
                Event(f"u{s}", EventType.PURCHASE, float(len(events) + j), i, session_id=s) for j, i in enumerate(items)
            ]
    data = Interactions.from_log(EventLog.from_events(events, cat), cat)
    co = CooccurrenceRecommender()
    co.fit(data)
    return co


def test_the_reason_names_the_partner_whose_normalised_term_scored_the_item() -> None:
    # A is in 100 baskets, 5 of them with T; B is in 2, both with T: B's term 2/sqrt(2) beats A's 5/sqrt(100)
    co = _fitted([(5, ["A", "T"]), (95, ["A", "X"]), (2, ["B", "T"])])
    a, b, t = 0, 1, 2
    ctx = Context.of([a, b])
    terms = [co.pairs[i, t] / co.norm(co.config.alpha)[i] for i in (a, b)]
    assert terms[1] > terms[0] and co.pairs[a, t] > co.pairs[b, t]
    assert co.partner(ctx, t) == b
    assert co.explain(ctx, t) == "bought together with item B (2 times)"  # the count shown is B's own


def test_a_repeated_history_item_weighs_all_its_clicks() -> None:
    # A and B each in 4 baskets with T: equal terms per click; A clicked twice (then B once) sums to more
    co = _fitted([(4, ["A", "T"]), (4, ["B", "T"])])
    a, b, t = 0, 1, 2
    ctx = Context.of([a, b, a], np.array([1.0, 1.5, 1.0], dtype=np.float32))
    assert co.partner(ctx, t) == a  # 2.0 summed beats 1.5 (the first click alone, 1.0, did not)
    assert co.partner(Context.of([a, b], np.array([1.0, 1.5], dtype=np.float32)), t) == b
    assert co.partner(Context.of([3]), t) is None  # X never bought with T
