"""Search analytics from the behaviour log: top searches, searches no product holds a word of, and
searches never followed by a click (tiny made-up events)."""

from __future__ import annotations

from pathlib import Path

from shelfwise.catalog import Catalog
from shelfwise.eval.searches import search_analytics, searches_section
from shelfwise.events import Event, EventLog, EventType
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.synonyms import read_synonyms
from shelfwise.shelf import Shelf


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


def test_a_search_the_stores_synonyms_answer_is_no_candidate_for_another(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    """The report told the merchandiser to add a synonym for 'frock' when the store's synonyms already
    read it as 'dress' (its check read the query's own words only)."""
    from shelfwise.eval.store_report import build_store_report

    log = [Event(u, EventType.QUERY, float(i), query=q) for i, (u, q) in enumerate([("u1", "frock"), ("u2", "zebra")])]
    (tmp_path / "syn.txt").write_text("frock, dress\n", encoding="utf-8")
    tiny_searcher.synonyms = read_synonyms(tmp_path / "syn.txt")
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher, events=EventLog.from_events(log, tiny_catalog))
    report = build_store_report(shelf, tmp_path / "plots")
    assert [q["query"] for q in report.figures["searches"]["unmatched"]] == ["zebra"]


def test_a_request_id_credits_the_search_it_names_where_the_query_text_would_credit_another(
    tiny_catalog: Catalog,
) -> None:
    """Three searches of "zebra cushion" (no product holds it) and a click that carries the text "black
    trousers" but the request_id of a "zebra cushion" search: by the id it answers that search, which is
    then no longer "never followed by a click"; a click whose id no query event carries (a later page, a
    recommendation list) keeps today's rule, its query text; one with neither counts for no search."""
    q, click = EventType.QUERY, EventType.CLICK
    rows = [
        ("u1", q, "", "black trousers", "s1"),
        ("u2", q, "", "zebra cushion", "s2"),
        ("u3", q, "", "zebra cushion", "s3"),
        ("u4", q, "", "Zebra  Cushion", "s4"),
        ("u2", click, "p1", "black trousers", "s2"),  # the text says black trousers, the id the zebra search
        ("u1", click, "p1", "black trousers", "page-2"),  # an id no query event carries: its text counts
        ("u3", EventType.CART, "p2", "", "s3"),  # no text, but the id names the search
        ("u4", click, "p3", "", "rec-list"),  # neither: no search
    ]
    events = [
        Event(u, t, float(i), item_id=item, query=text, request_id=rid)
        for i, (u, t, item, text, rid) in enumerate(rows)
    ]
    log = EventLog.from_events(events, tiny_catalog)
    a = search_analytics(log)
    assert [(s.query, s.searches, s.engaged) for s in a.top()] == [("zebra cushion", 3, 2), ("black trousers", 1, 1)]
    assert (a.searches, a.engaged, a.exact) == (4, 3, 2) and a.unengaged() == []
    assert a.as_json()["engaged_by_request_id"] == 2
    assert "2 of them by the search's request_id" in searches_section(a).notes[0]
    plain = EventLog.from_events(
        [Event(e.user_id, e.type, e.timestamp, e.item_id, query=e.query) for e in events], tiny_catalog
    )
    old = search_analytics(plain)  # today's rule alone: the zebra searches look never clicked
    assert [(s.query, s.engaged) for s in old.top()] == [("zebra cushion", 0), ("black trousers", 2)]
    assert [s.query for s in old.unengaged()] == ["zebra cushion"] and old.exact == 0
