from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.events import EventLog, EventType, load_events, parse_timestamp


def test_bad_rows_named_and_good_rows_kept(tmp_path: Path, tiny_catalog: Catalog) -> None:
    f = tmp_path / "events.csv"
    f.write_text(
        "user_id,item_id,type,timestamp,session_id,query\n"
        "u1,p1,view,2024-01-01T10:00:00,s1,\n"
        "u1,p1,purchase,1704103200,s1,\n"
        ",p2,view,1704103200,s1,\n"
        "u2,p2,teleport,1704103200,s2,\n"
        "u2,zzz,view,1704103200,s2,\n"
        "u2,,click,1704103200,s2,\n"
        "u2,,query,yesterday,s2,jeans\n"
        "u3,,search,1704103300000,s3,red dress\n",
        encoding="utf-8",
    )
    res = load_events(f, catalog=tiny_catalog)
    assert len(res.events) == 3
    assert [(e.row, e.field) for e in res.errors] == [
        (3, "user_id"),
        (4, "type"),
        (5, "item_id"),
        (6, "item_id"),
        (7, "timestamp"),
    ]
    assert "not in the catalog" in res.errors[2].message
    q = res.events[-1]
    assert q.type is EventType.QUERY and q.query == "red dress" and q.timestamp == pytest.approx(1704103300.0)


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("2018-09-20") == parse_timestamp("2018-09-20T00:00:00Z")
    assert parse_timestamp(1_600_000_000_000) == 1_600_000_000.0
    assert EventType.parse("add_to_cart") is EventType.CART


def test_eventlog_time_order_and_split(tiny_log: EventLog) -> None:
    assert np.all(np.diff(tiny_log.timestamp) >= 0)
    early, late = tiny_log.split_by_time(0.5)
    assert len(early) + len(late) == len(tiny_log)
    assert early.timestamp.max() < late.timestamp.min()
    assert set(tiny_log.item.tolist()) <= set(range(12))
