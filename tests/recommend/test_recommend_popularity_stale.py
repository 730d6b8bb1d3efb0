"""Popularity says when a fitted history ended long ago, and treats the gap before the first live event
as downtime: a few live events (dated now) do not outweigh it."""

from __future__ import annotations

import dataclasses

from shelfwise.catalog import Catalog
from shelfwise.events import EventLog
from shelfwise.recommend.base import Context
from shelfwise.recommend.interactions import DAY, Interactions
from shelfwise.recommend.popularity import PopularityConfig, PopularityRecommender

NOW = 1_800_000_000.0  # 2027-01-15


def _fit(log: EventLog, catalog: Catalog, shift: float = 0.0, config: PopularityConfig | None = None) -> str:
    moved = dataclasses.replace(log, timestamp=log.timestamp + shift)
    pop = PopularityRecommender(config)
    pop.fit(Interactions.from_log(moved, catalog))
    return pop.stale_note(NOW)


def test_sequence_numbers_as_times_are_named(tiny_log: EventLog, tiny_catalog: Catalog) -> None:
    note = _fit(tiny_log, tiny_catalog)  # the fixture's times are 1..12: order numbers read as unix seconds
    assert note.startswith("the behaviour history ends 1970-01-01 00:00:12 UTC (times this close to 1970 look like")
    assert "20,833 days before now" in note and "30-day half-life" in note and "2^-694 of a live one" in note
    assert "treats the gap before the first event posted live as downtime" in note


def test_an_old_real_history_is_named_without_the_1970_hint(tiny_log: EventLog, tiny_catalog: Catalog) -> None:
    note = _fit(tiny_log, tiny_catalog, shift=NOW - 400 * DAY - 12)
    assert "400 days before now" in note and "2^-13 of a live one" in note and "1970" not in note


def test_recent_or_undecayed_history_says_nothing(tiny_log: EventLog, tiny_catalog: Catalog) -> None:
    assert _fit(tiny_log, tiny_catalog, shift=NOW - 100 * DAY) == ""  # 3.3 half-lives: still counts
    assert _fit(tiny_log, tiny_catalog, config=PopularityConfig(half_life_days=None)) == ""
    assert PopularityRecommender().stale_note(NOW) == ""  # nothing fitted


def test_a_few_live_events_after_a_long_gap_do_not_outweigh_the_history(
    tiny_log: EventLog, tiny_catalog: Catalog
) -> None:
    from shelfwise.events import Event, EventType

    moved = dataclasses.replace(tiny_log, timestamp=tiny_log.timestamp + NOW - 400 * DAY)
    pop = PopularityRecommender()
    pop.fit(Interactions.from_log(moved, tiny_catalog))
    pop.attach(tiny_catalog, None)
    before = pop.recommend("nobody", 3).ids.tolist()
    pop.update([Event("u9", EventType.VIEW, NOW + i, item_id="p8") for i in range(2)])  # 400 days later
    assert pop.recommend("nobody", 3).ids.tolist() == before  # two views do not outrank the bestsellers
    pop.update([Event("u9", EventType.PURCHASE, NOW + 10 * DAY + i, item_id="p8") for i in range(30)])
    assert pop.recommend("nobody", 1).ids.tolist() == [tiny_catalog.row("p8")]  # sustained live demand does


def test_steady_live_traffic_is_not_downtime(tiny_log: EventLog, tiny_catalog: Catalog) -> None:
    """A server taking an event a day for 4+ half-lives never pauses: the clock must not restart
    (it did at 120 days after the fit, so a product bought on day 110 outranked one bought as much
    on day 125)."""
    from shelfwise.events import Event, EventType

    moved = dataclasses.replace(tiny_log, timestamp=tiny_log.timestamp + NOW - 12)
    pop = PopularityRecommender()
    pop.fit(Interactions.from_log(moved, tiny_catalog))
    pop.attach(tiny_catalog, None)
    daily = [Event("u9", EventType.VIEW, NOW + d * DAY, item_id="p1") for d in range(1, 131)]
    older = [Event("u8", EventType.PURCHASE, NOW + 110 * DAY + i, item_id="p7") for i in range(10)]
    newer = [Event("u7", EventType.PURCHASE, NOW + 125 * DAY + i, item_id="p8") for i in range(10)]
    pop.update(sorted(daily + older + newer, key=lambda e: e.timestamp))
    s = pop.score(Context.empty())
    assert s[tiny_catalog.row("p8")] > s[tiny_catalog.row("p7")]  # the same demand, 15 days newer, counts more
