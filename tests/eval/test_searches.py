"""Search analytics from the behaviour log: top searches, searches no product holds a word of, and
searches never followed by a click (tiny made-up events)."""

from __future__ import annotations

from shelfwise.catalog import Catalog
from shelfwise.eval.searches import search_analytics, searches_section
from shelfwise.events import Event, EventLog, EventType


def _log(catalog: Catalog) -> EventLog:
    q, click = EventType.QUERY, EventType.CLICK
    rows = [
        ("u1", q, "", "Black Trousers"),
        ("u2", q, "", "black  trousers"),
        ("u3", q, "", "black trousers"),
        ("u1", click, "p1", "black trousers"),
        ("u1", EventType.VIEW, "p2", "black trousers"),  # a view is no engagement
        ("u2", q, "", "zebra cushion"),
        ("u3", q, "", "zebra cushion"),
        ("u4", q, "", "zebra cushion"),
        ("u4", q, "", "dress"),
        ("u4", EventType.PURCHASE, "p5", ""),  # no query: not counted for any search
    ]
    events = [Event(u, t, float(i), item_id=item, query=text) for i, (u, t, item, text) in enumerate(rows)]
    return EventLog.from_events(events, catalog)


def test_searches_are_counted_per_normalised_query(tiny_catalog: Catalog) -> None:
    a = search_analytics(_log(tiny_catalog), lambda query: query != "zebra cushion")
    assert (a.searches, a.engaged) == (7, 1)
    top = a.top(2)
    assert [(s.query, s.searches, s.shoppers, s.engaged) for s in top] == [
        ("black trousers", 3, 3, 1),
        ("zebra cushion", 3, 3, 0),
    ]
    assert [s.query for s in a.unmatched()] == ["zebra cushion"]
    assert [s.query for s in a.unengaged()] == ["zebra cushion"]  # "dress": searched once, too few to judge
    assert a.as_json()["distinct_queries"] == 3


def test_the_report_section_names_the_failing_searches(tiny_catalog: Catalog) -> None:
    section = searches_section(search_analytics(_log(tiny_catalog), lambda query: query != "zebra cushion"))
    assert section.rows[0][:4] == ["black trousers", 3, 3, 1]
    text = " ".join(section.notes)
    assert "No product holds a word of: 'zebra cushion' (3)" in text and "--synonyms" in text
    assert "never followed by a click: 'zebra cushion' (3)" in text
    empty = EventLog.from_events([Event("u1", EventType.CLICK, 1.0, item_id="p1")], tiny_catalog)
    none = searches_section(search_analytics(empty))
    assert not none.rows and "holds no searches" in none.notes[0]
